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
AFTER_PULSE_RECORDED: Final = "after_pulse_recorded"
"""The log holds the pulse (``UnlockPulseSent``); the door, which may spring open, has not been seen open yet."""
MID_CHECKPOINT: Final = "mid_checkpoint"
"""Half of a checkpoint's line is on disk in the anchor file: its last line is torn."""
ROTATION_NEXT_KEY_WRITTEN: Final = "rotation_next_key_written"
"""A vault key rotation wrote the new key beside the old one; the vault has not switched to it."""
ROTATION_SWITCHED: Final = "rotation_switched"
"""A vault key rotation committed the vault under the new key; the key file still holds the old one."""

POINTS: Final = frozenset(
    {AFTER_COMMIT_BEFORE_PULSE, AFTER_PULSE_BEFORE_ACK, AFTER_PULSE_RECORDED, MID_CHECKPOINT,
     ROTATION_NEXT_KEY_WRITTEN, ROTATION_SWITCHED}
)


def armed(name: str) -> bool:
    """Whether this process is to die at the point ``name`` (for a point that must first tear a write)."""
    return os.environ.get(CRASH_ENV) == name


def crash_point(name: str) -> None:
    """Die here (SIGKILL) when ``LOCKERS_CRASH_AT`` names this point; otherwise do nothing."""
    if armed(name):
        os.kill(os.getpid(), signal.SIGKILL)
