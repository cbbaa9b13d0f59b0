"""Help at the kiosk: decide → append to the bank stream → tell the listeners (the console follows ``/events``).

The desk is folded from the log at start; it is written only here, one decision at a time, and its
commits reach the same listeners as the compartments' (SSE, metrics, anchors), through the service.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from controller.domain.errors import StoreUnavailable
from controller.domain.events import BANK_STREAM, Event
from controller.domain.help import HelpDesk, HelpRequest
from controller.service.compartments import CompartmentService


class HelpDesks:
    """The bank's help requests: the kiosk asks, an operator answers, both recorded in the log."""

    def __init__(self, service: CompartmentService, new_id: Callable[[], str]) -> None:
        self._service = service
        self._new_id = new_id
        self._lock = asyncio.Lock()
        self.desk = HelpDesk.replay(service.store.read_stream(BANK_STREAM))

    async def request(self, kiosk: str, screen: str) -> HelpRequest:
        """Record a help request from ``kiosk`` pressed on ``screen``."""
        help_id = self._new_id()
        await self._record(lambda: self.desk.request(help_id, kiosk, screen, self._service.clock))
        return self.desk.requests[help_id]

    async def answer(self, help_id: str, operator_id: str) -> HelpRequest:
        """Record that ``operator_id`` answered ``help_id`` (``TransitionRejected`` if unknown or answered)."""
        await self._record(lambda: self.desk.answer(help_id, operator_id, self._service.clock))
        return self.desk.requests[help_id]

    def get(self, help_id: str) -> HelpRequest | None:
        """One request, or None when the log holds no such id."""
        return self.desk.requests.get(help_id)

    def open_requests(self) -> list[HelpRequest]:
        """The unanswered requests, oldest first."""
        return self.desk.open_requests()

    async def _record(self, decide: Callable[[], Event]) -> None:
        async with self._lock:
            expected = self.desk.version
            event = decide()
            try:
                stored = self._service.store.append(BANK_STREAM, expected, [event])
            except BaseException:
                # The desk applied what the log refused: fold it again from the log (when the log answers).
                with contextlib.suppress(StoreUnavailable):
                    self.desk = HelpDesk.replay(self._service.store.read_stream(BANK_STREAM))
                raise
        self._service.publish(stored)
