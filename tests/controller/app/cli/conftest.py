"""Fixtures of the command-line tests: a lock board for ``lockers plc``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.plc import ThreadedSimulator


@pytest.fixture
def threaded_sim() -> Iterator[ThreadedSimulator]:
    """An 8-compartment simulator served from a background thread."""
    harness = ThreadedSimulator(compartments=8)
    with harness:
        yield harness
