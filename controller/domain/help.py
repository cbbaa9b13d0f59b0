"""The bank's help desk: help requests from the kiosk and their answers, folded from the bank's own stream.

A request is ``requested`` until an operator answers it (``answered``); answering twice, or answering a
request the log does not hold, is rejected. Like a compartment, the desk decides (``request``, ``answer``:
the events, applied) and folds (``apply``: no IO, no clock), so a replay or an audit rebuilds it exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from controller.domain import events as ev
from controller.domain.errors import TransitionRejected
from controller.ports import Clock

REQUESTED = "requested"
ANSWERED = "answered"
MAX_SCREEN_LENGTH = 40


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """One help request as the console and the kiosk see it."""

    help_id: str
    kiosk: str
    screen: str
    requested_at: datetime
    state: str = REQUESTED
    answered_by: str = ""

    def document(self) -> dict[str, str]:
        """The JSON shape of a request (``GET /operator/help``)."""
        return {"help_id": self.help_id, "state": self.state, "kiosk": self.kiosk, "screen": self.screen,
                "requested_at": self.requested_at.isoformat(), "answered_by": self.answered_by}


class HelpDesk:
    """The fold of ``BANK_STREAM``: every help request by id, and the stream's version."""

    def __init__(self) -> None:
        self.version = 0
        self.requests: dict[str, HelpRequest] = {}

    @classmethod
    def replay(cls, events: Iterable[ev.Event]) -> HelpDesk:
        """The desk after ``events`` (the bank stream, in version order)."""
        desk = cls()
        for event in events:
            desk.apply(event)
        return desk

    def apply(self, event: ev.Event) -> None:
        """Fold one event of the bank stream; anything else, or an invalid answer, is rejected."""
        if isinstance(event, ev.HelpRequested):
            if event.help_id in self.requests:
                raise self._rejected(event.help_id, "request_help", "this help id was already requested")
            self.requests[event.help_id] = HelpRequest(event.help_id, event.kiosk, event.screen, event.occurred_at)
        elif isinstance(event, ev.HelpAnswered):
            self._answerable(event.help_id)
            request = self.requests[event.help_id]
            self.requests[event.help_id] = HelpRequest(
                request.help_id, request.kiosk, request.screen, request.requested_at, ANSWERED, event.operator_id
            )
        else:
            raise self._rejected("", type(event).__name__, "not an event of the bank stream")
        self.version = event.version

    def request(self, help_id: str, kiosk: str, screen: str, clock: Clock) -> ev.HelpRequested:
        """Record a new request from ``kiosk`` pressed on ``screen`` (applied, to be appended)."""
        event = ev.HelpRequested(compartment_id=ev.BANK_STREAM, version=self.version + 1, occurred_at=clock.now(),
                                 correlation_id=help_id, help_id=help_id, kiosk=kiosk,
                                 screen=screen[:MAX_SCREEN_LENGTH])
        self.apply(event)
        return event

    def answer(self, help_id: str, operator_id: str, clock: Clock) -> ev.HelpAnswered:
        """Record that ``operator_id`` answered ``help_id`` (applied, to be appended)."""
        self._answerable(help_id)
        event = ev.HelpAnswered(compartment_id=ev.BANK_STREAM, version=self.version + 1, occurred_at=clock.now(),
                                correlation_id=help_id, help_id=help_id, operator_id=operator_id)
        self.apply(event)
        return event

    def open_requests(self) -> list[HelpRequest]:
        """The requests nobody has answered yet, oldest first."""
        return [r for r in self.requests.values() if r.state == REQUESTED]

    def _answerable(self, help_id: str) -> None:
        request = self.requests.get(help_id)
        if request is None:
            raise self._rejected(help_id, "answer_help", "no such help request")
        if request.state != REQUESTED:
            raise self._rejected(help_id, "answer_help", f"already answered by {request.answered_by}")

    @staticmethod
    def _rejected(help_id: str, action: str, reason: str) -> TransitionRejected:
        return TransitionRejected(ev.BANK_STREAM, f"help {help_id}".strip(), action, reason)
