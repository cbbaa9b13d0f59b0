"""Named points where a crash test kills this process, so that each promise after a crash is tested by design.

Inert unless ``LOCKERS_CRASH_AT`` names the point: then the process sends itself SIGKILL there, as a power
cut or the kernel's OOM killer would, with no chance to clean up. The points are where a crash changes what
the next boot must do (see ``tests/e2e/test_crash_points.py`` for the outcome each one promises).
"""

from __future__ import annotations

import os
import signal
from typing import Final

CRASH_ENV: Final = "LOCKERS_CRASH_AT"

AFTER_COMMIT_BEFORE_PULSE: Final = "after_commit_before_pulse"
"""An unlock decision is in the log; the board has not been written: no pulse ever went out."""
AFTER_PULSE_BEFORE_ACK: Final = "after_pulse_before_ack"
"""The board took the pulse; the log does not say so yet (no ``UnlockPulseSent``)."""

POINTS: Final = frozenset({AFTER_COMMIT_BEFORE_PULSE, AFTER_PULSE_BEFORE_ACK})


def crash_point(name: str) -> None:
    """Die here (SIGKILL) when ``LOCKERS_CRASH_AT`` names this point; otherwise do nothing."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
