"""Effects: what the outside world must do after events are durably committed, as plain data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.domain.events import (
    AlarmCleared,
    DepositStarted,
    Event,
    IdentityConfirmed,
    ItemRetrieved,
    MaintenanceUnlocked,
    UnlockExpired,
)


@dataclass(frozen=True, slots=True)
class Unlock:
    """Send exactly one unlock pulse for ``unlock_id`` (never retried)."""

    compartment_id: str
    unlock_id: str
    pulse_ms: int


@dataclass(frozen=True, slots=True)
class DestroyTemplate:
    """Crypto-shred a template that no longer guards an item."""

    template_ref: str


Effect = Unlock | DestroyTemplate


def effects_of(events: Sequence[Event]) -> list[Effect]:
    """The effects that committed events call for; replay never calls this."""
    effects: list[Effect] = []
    for event in events:
        if isinstance(event, DepositStarted | IdentityConfirmed | MaintenanceUnlocked):
            effects.append(Unlock(event.compartment_id, event.unlock_id, event.pulse_ms))
        elif isinstance(event, ItemRetrieved) and event.template_ref:
            effects.append(DestroyTemplate(event.template_ref))
        elif isinstance(event, UnlockExpired | AlarmCleared) and event.released_template_ref:
            effects.append(DestroyTemplate(event.released_template_ref))
    return effects
