"""What the HTTP routers read and drive, and the fan-out of committed events to live clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller.app.http.feedback import Feedback
from controller.app.http.web import WebOptions
from controller.app.http.web.documents import stored_document
from controller.app.run.metrics import Metrics
from controller.ports import StoredEvent
from controller.service.bank import LockerBank
from controller.service.help import HelpDesks
from controller.service.pins import PinDesk
from controller.service.views import BankViews

SSE_QUEUE_SIZE = 1000


class EventBroadcaster:
    """Fans committed events, and attempt feedback, out to every live ``/events`` client."""

    def __init__(self) -> None:
        self.clients: set[asyncio.Queue[StoredEvent | Feedback | None]] = set()

    def on_committed(self, stored: Sequence[StoredEvent]) -> None:
        """Hand new events to every client; a client too slow to keep up is disconnected."""
        for queue in list(self.clients):
            try:
                for record in stored:
                    queue.put_nowait(record)
            except asyncio.QueueFull:
                # Drop what it has not read and tell it to reconnect with ?after=<last id>.
                self.clients.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    def on_feedback(self, feedback: Feedback) -> None:
        """Hand an attempt's feedback to every client that has room (feedback is never worth a disconnect)."""
        for queue in list(self.clients):
            if not queue.full():
                queue.put_nowait(feedback)


@dataclass
class ApiContext:
    """What the API reads (``views``) and drives (``bank``)."""

    bank: LockerBank
    views: BankViews
    metrics: Metrics
    broadcaster: EventBroadcaster
    web: WebOptions
    health: Callable[[], dict[str, Any]]
    simulate_frame: Callable[[bytes], Awaitable[None]] | None = None
    simulate_door: Callable[[int, str], Awaitable[None]] | None = None
    pins: PinDesk | None = None
    help: HelpDesks | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def sse_message(record: StoredEvent) -> str:
    """One server-sent event: id = global position, event = type, data = the event as JSON."""
    data = json.dumps(stored_document(record), default=str)
    return f"id: {record.position}\nevent: {type(record.event).__name__}\ndata: {data}\n\n"
