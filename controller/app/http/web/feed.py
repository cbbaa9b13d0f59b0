"""The kiosk's feed: what recognition and the bank concluded, as reason codes for the screen.

It carries no subject ids, no distances and no images: a face box (as fractions of the frame),
enrolment progress, reason codes (``no_face``, ``face_too_small``, ``not_recognised``,
``locked_out``...) and door numbers. Inputs come from the recognition thread and the event loop;
``publish`` is thread-safe.

A door is announced twice: ``door`` when its unlock is decided (a face or PIN confirmed, a deposit assigned),
then ``unlocked`` once the lock board acknowledged the pulse (``UnlockPulseSent``; or the sensor saw the door
open first, during a long pulse), or ``unlock_failed`` (``pulse``: ``not_sent`` or ``unknown``) when the
board did not answer and the unlock became an alarm. Only ``unlocked`` tells a person that the door is open.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from controller.app.http.feedback import NOT_RECOGNISED
from controller.domain import events as ev
from controller.ports import FaceMatch, StoredEvent
from controller.service.bridge import LIVENESS_FAILED
from recognition.liveness.verdict import CHALLENGE_TURN_HEAD

FEED_QUEUE_SIZE = 200
BOX_INTERVAL_S = 0.15
# The worker's "a face but nobody to compare with" and an unknown face read the same at the kiosk.
CONTACT_OPERATOR = "contact_operator"
LOCKED_OUT = "locked_out"
FACE_OK = "face_ok"
WORKER_REASONS = {"no_templates": NOT_RECOGNISED}
# A liveness refusal never reads "not recognised" (advice that cannot help a live person): the checks
# that a person can answer say what to do, the others say "show your own face".
LIVENESS_ASKS = {CHALLENGE_TURN_HEAD: CHALLENGE_TURN_HEAD, "too_few_frames": "too_few_frames"}
PULSE_FAILURES: dict[str, str] = {
    ev.AlarmReason.UNLOCK_FAILED: "not_sent", ev.AlarmReason.UNLOCK_OUTCOME_UNKNOWN: "unknown"
}


class KioskFeed:
    """Fans kiosk messages out to every ``/kiosk/feed`` client."""

    def __init__(self) -> None:
        self.clients: set[asyncio.Queue[dict[str, Any]]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._enrol_needed = 0
        self._enrol_good = 0
        self._last_box_at = 0.0
        self._last_reason: str | None = None
        self._unlocking: dict[str, str] = {}
        """Compartment -> purpose, for unlocks decided and not yet acknowledged or failed."""

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Messages are delivered on ``loop`` (the API's)."""
        self.loop = loop

    def publish(self, message: dict[str, Any]) -> None:
        """Send one message to every client (callable from any thread)."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._fan_out, {**message, "at": time.time()})

    def _fan_out(self, message: dict[str, Any]) -> None:
        for queue in list(self.clients):
            if queue.full():
                queue.get_nowait()  # a slow screen loses its oldest message, never blocks the bank
            queue.put_nowait(message)

    # ---------------------------------------------------------- recognition thread
    def on_analysis(self, analysis: Any, shape: tuple[int, ...]) -> None:
        """One analysed frame: the face box and the quality verdict, at most every ``BOX_INTERVAL_S``."""
        primary = analysis.primary
        face = primary.face if primary is not None else (analysis.samples[0].face if analysis.samples else None)
        reason = kiosk_reason(analysis.rejection or (FACE_OK if primary is not None else "no_face"))
        with self._lock:
            if self._enrol_needed and primary is not None and primary.embedding is not None:
                self._enrol_good += 1
                self.publish({"kind": "enrol", "good": min(self._enrol_good, self._enrol_needed),
                              "needed": self._enrol_needed})
            now = time.monotonic()
            if reason == self._last_reason and now - self._last_box_at < BOX_INTERVAL_S:
                return
            self._last_box_at, self._last_reason = now, reason
        height, width = shape[:2]
        box = None if face is None else [round(v / s, 4) for v, s in zip(face.box, (width, height) * 2, strict=True)]
        self.publish({"kind": "face", "reason": reason, "box": box})

    def enrolling(self, needed: int) -> None:
        """A deposit is waiting for ``needed`` good frames."""
        with self._lock:
            self._enrol_needed, self._enrol_good = needed, 0
        self.publish({"kind": "enrol", "good": 0, "needed": needed})

    def enrolled(self) -> None:
        """The deposit's enrolment is over (either way)."""
        with self._lock:
            self._enrol_needed = 0

    # ---------------------------------------------------------- event loop
    def on_observation(self, observation: Any, waits_for_operator: Callable[[str], bool] = lambda _: False) -> None:
        """A worker observation: a rejection reason, a face matching nobody, an owner whose compartment is in alarm.

        ``waits_for_operator`` says which compartments wait for an operator (an overstay, a lockout).
        """
        if isinstance(observation, FaceMatch):
            if observation.compartment_id is None:
                self.publish({"kind": "refused", "reason": NOT_RECOGNISED})
            elif observation.accepted and waits_for_operator(observation.compartment_id):
                self.publish({"kind": "refused", "reason": CONTACT_OPERATOR})
            return
        reason = str(getattr(observation, "reason", ""))
        if reason:
            self.publish({"kind": "reason", "reason": kiosk_reason(reason)})

    def on_committed(self, stored: Sequence[StoredEvent]) -> None:
        """Committed events the kiosk shows: doors opened for someone, refusals, lockouts, done."""
        for record in stored:
            for message in (kiosk_message(record.event), self._unlock_message(record.event)):
                if message is not None:
                    self.publish(message)

    def _unlock_message(self, event: ev.Event) -> dict[str, Any] | None:
        """``unlocked`` or ``unlock_failed`` for an unlock this feed saw decided (None for anything else)."""
        door = event.compartment_id
        if (purpose := unlock_purpose(event)) is not None:
            self._unlocking[door] = purpose
        elif door in self._unlocking and isinstance(event, ev.UnlockPulseSent | ev.DoorOpened):
            return {"kind": "unlocked", "purpose": self._unlocking.pop(door), "door": door}
        elif door in self._unlocking and isinstance(event, ev.AlarmRaised) and event.reason in PULSE_FAILURES:
            purpose = self._unlocking.pop(door)
            return {"kind": "unlock_failed", "purpose": purpose, "door": door, "pulse": PULSE_FAILURES[event.reason]}
        return None


def kiosk_reason(code: str) -> str:
    """The kiosk's word for a recognition reason code (a liveness code from the worker reads as ``liveness_failed``)."""
    if "liveness" in code or "spoof" in code:
        return LIVENESS_FAILED
    return WORKER_REASONS.get(code, code)


def liveness_reason(check: str) -> str:
    """The kiosk's word for an attempt the liveness checks refused (``check`` names the failed check)."""
    return LIVENESS_ASKS.get(check, LIVENESS_FAILED)


def unlock_purpose(event: ev.Event) -> str | None:
    """``deposit`` or ``retrieval`` for an event that decides a person's unlock (None for any other)."""
    if isinstance(event, ev.DepositStarted):
        return "deposit"
    if isinstance(event, ev.IdentityConfirmed | ev.PinConfirmed):
        return "retrieval"
    return None


def kiosk_message(event: ev.Event) -> dict[str, Any] | None:
    """What the kiosk says about one event on its own (None for events it does not show)."""
    door = event.compartment_id
    if (purpose := unlock_purpose(event)) is not None:
        return {"kind": "door", "purpose": purpose, "door": door}  # decided: not open until ``unlocked``
    if isinstance(event, ev.DoorOpened):
        return {"kind": "opened", "door": door}
    if isinstance(event, ev.IdentityRejected):
        attack = event.evidence.presentation_attack()
        return {"kind": "refused", "reason": liveness_reason(event.evidence.liveness) if attack else NOT_RECOGNISED}
    if isinstance(event, ev.AlarmRaised) and event.reason == ev.AlarmReason.LOCKOUT:
        return {"kind": "refused", "reason": LOCKED_OUT}
    if isinstance(event, ev.ItemDeposited):
        return {"kind": "done", "purpose": "deposit", "door": door}
    if isinstance(event, ev.ItemRetrieved):
        return {"kind": "done", "purpose": "retrieval", "door": door}
    return None
