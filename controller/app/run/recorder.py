"""Observations recorded in order, through storage outages: a queue drained by one task, with backoff.

Door changes and faces are queued the moment they are seen, so the poller and the camera never wait
on the database. While the store is unavailable (an external lock, PostgreSQL down) the head of the
queue is retried with exponential backoff and everything behind it waits its turn: nothing is lost or
reordered, and ``healthy`` is False so ``/healthz`` says degraded and writes answer 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import structlog

from controller.domain.errors import StoreUnavailable

log = structlog.get_logger("lockers.recorder")

FIRST_DELAY_S: Final = 0.2
MAX_DELAY_S: Final = 5.0

Record = Callable[[], Awaitable[object]]


class Recorder:
    """Runs queued records one at a time, retrying each while the store is unavailable."""

    def __init__(self, first_delay_s: float = FIRST_DELAY_S, max_delay_s: float = MAX_DELAY_S) -> None:
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.healthy = True
        self._queue: asyncio.Queue[Record] = asyncio.Queue()

    @property
    def backlog(self) -> int:
        """How many observations wait to be recorded."""
        return self._queue.qsize()

    def put(self, record: Record) -> None:
        """Queue one observation's recording (never blocks the caller)."""
        self._queue.put_nowait(record)

    async def run(self) -> None:
        """Record queued observations in order until cancelled."""
        while True:
            record = await self._queue.get()
            await self._until_recorded(record)

    async def _until_recorded(self, record: Record) -> None:
        delay = self.first_delay_s
        while True:
            try:
                await record()
            except StoreUnavailable as exc:
                if self.healthy:
                    log.error("event store unavailable; buffering observations", error=str(exc))
                self.healthy = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_delay_s)
                continue
            if not self.healthy:
                log.info("event store available again", backlog=self.backlog)
            self.healthy = True
            return
