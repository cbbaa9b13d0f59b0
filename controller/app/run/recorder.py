"""Observations recorded in order, through storage outages: a queue drained by one task, with backoff.

Door changes and faces are queued the moment they are seen, so the poller and the camera never wait
on the database. While the store is unavailable (an external lock, PostgreSQL down) the head of the
queue is retried with exponential backoff and everything behind it waits its turn: nothing is lost or
reordered, and ``healthy`` is False so ``/healthz`` says degraded and writes answer 503.

An observation that is evidence for a decision (a face) has a time to live: once it is older than that
when its turn comes, its ``too_late`` record runs instead (the face is logged as seen and expired, never
acted on), so storage that returns after 46 s does not open a door for someone long gone. A fact (a door
change) has none: it is always recorded, with the time it was seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

import structlog

from controller.domain.errors import StoreUnavailable

log = structlog.get_logger("lockers.recorder")

FIRST_DELAY_S: Final = 0.2
MAX_DELAY_S: Final = 5.0
FACE_TTL_S: Final = 5.0
"""How long a face is evidence: one recorded later than this after it was seen decides nothing."""

Record = Callable[[], Awaitable[object]]
TooLate = Callable[[float], Awaitable[object]]
"""Records an observation as seen and expired, given its age in seconds."""


@dataclass(frozen=True, slots=True)
class Observed:
    """One queued observation: how to act on it, when it was seen, and what to record once it is stale."""

    record: Record
    seen_s: float = field(default_factory=time.monotonic)
    ttl_s: float | None = None
    too_late: TooLate | None = None

    def attempt(self, now_s: float) -> Awaitable[object]:
        """The record to try now: acting on it while fresh, the seen-and-expired record after its time to live."""
        age = now_s - self.seen_s
        if self.ttl_s is not None and self.too_late is not None and age > self.ttl_s:
            return self.too_late(age)
        return self.record()


class Recorder:
    """Runs queued records one at a time, retrying each while the store is unavailable."""

    def __init__(self, first_delay_s: float = FIRST_DELAY_S, max_delay_s: float = MAX_DELAY_S) -> None:
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.healthy = True
        self.problem = ""
        """Why the store refuses writes now ("" while healthy): the last error, e.g. ``clock_skew: ...``."""
        self._queue: asyncio.Queue[Observed] = asyncio.Queue()

    @property
    def backlog(self) -> int:
        """How many observations wait to be recorded."""
        return self._queue.qsize()

    def outage(self) -> str:
        """Why the log refuses writes now ("": it does not)."""
        return "" if self.healthy else self.problem or "the event log is unavailable"

    def put(self, record: Record, ttl_s: float | None = None, too_late: TooLate | None = None) -> None:
        """Queue one observation's recording (never blocks the caller); seen now, stale after ``ttl_s``."""
        self._queue.put_nowait(Observed(record, ttl_s=ttl_s, too_late=too_late))

    def retry_first(self, record: Record, error: StoreUnavailable) -> None:
        """Start in an outage: ``record`` failed with ``error`` before anything was queued; it is retried first."""
        self.healthy, self.problem = False, str(error)
        self.put(record)

    async def run(self) -> None:
        """Record queued observations in order until cancelled."""
        while True:
            record = await self._queue.get()
            await self._until_recorded(record)

    async def _until_recorded(self, observed: Observed) -> None:
        delay = self.first_delay_s
        while True:
            try:
                await observed.attempt(time.monotonic())
            except StoreUnavailable as exc:
                if self.healthy or str(exc) != self.problem:
                    log.error("event store unavailable; buffering observations", error=str(exc))
                self.healthy, self.problem = False, str(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_delay_s)
                continue
            if not self.healthy:
                log.info("event store available again", backlog=self.backlog)
            self.healthy, self.problem = True, ""
            return
