"""The five states of a compartment."""

from __future__ import annotations

from enum import StrEnum


class CompartmentState(StrEnum):
    """Where a compartment stands; ``OPEN`` means unlocked for a deposit or a retrieval."""

    FREE = "free"
    OCCUPIED = "occupied"
    VERIFYING = "verifying"
    OPEN = "open"
    ALARM = "alarm"
