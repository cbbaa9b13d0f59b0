"""A wall clock that jumps is named, and the bank's timers are measured across it on elapsed time.

Each tick reads the bank's clock (wall time, the ``Clock`` port) beside a monotonic clock. When the wall
time moved more (or less) than the elapsed time by over ``JUMP_TOLERANCE_S`` (an NTP step, an operator
setting the date, a dead RTC battery corrected), that is a ``clock_jump``: it is logged, and every pending
deadline (rental periods, door and unlock timers) moves with it, so a clock two days fast expires no
deposit and a clock set back delays no alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import structlog

log = structlog.get_logger("lockers.clock")

JUMP_TOLERANCE_S: Final = 30.0
"""How far wall time may drift from elapsed time between two ticks before it counts as a jump."""


@dataclass
class ClockWatch:
    """Compares successive (wall, monotonic) readings; ``jumped`` returns how far the wall clock jumped."""

    tolerance_s: float = JUMP_TOLERANCE_S
    _last: tuple[datetime, float] | None = None

    def jumped(self, now: datetime, now_s: float) -> float:
        """Seconds the wall clock jumped since the last reading (0.0: none beyond the tolerance)."""
        last, self._last = self._last, (now, now_s)
        if last is None:
            return 0.0
        jump = (now - last[0]).total_seconds() - (now_s - last[1])
        if abs(jump) <= self.tolerance_s:
            return 0.0
        log.warning(
            "clock_jump: the wall clock moved by a different amount than the time that passed; timers keep "
            "to elapsed time",
            jump_s=round(jump, 1),
            before=last[0].isoformat(),
            after=now.isoformat(),
        )
        return jump
