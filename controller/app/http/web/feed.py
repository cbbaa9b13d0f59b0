"""The kiosk's feed: what recognition and the bank concluded, as reason codes for the screen.

It carries no subject ids, no distances and no images: a face box (as fractions of the frame),
enrolment progress, reason codes (``no_face``, ``face_too_small``, ``not_recognised``,
``locked_out``...) and door numbers. Inputs come from the recognition thread and the event loop;
``publish`` is thread-safe.
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
            message = kiosk_message(record.event)
            if message is not None:
                self.publish(message)


def kiosk_reason(code: str) -> str:
    """The kiosk's word for a recognition reason code (a liveness code from the worker reads as ``liveness_failed``)."""
    if "liveness" in code or "spoof" in code:
        return LIVENESS_FAILED
    return WORKER_REASONS.get(code, code)


def liveness_reason(check: str) -> str:
    """The kiosk's word for an attempt the liveness checks refused (``check`` names the failed check)."""
    return LIVENESS_ASKS.get(check, LIVENESS_FAILED)


def kiosk_message(event: ev.Event) -> dict[str, Any] | None:
    """What the kiosk says about one event (None for events it does not show)."""
    door = event.compartment_id
    if isinstance(event, ev.DepositStarted):
        return {"kind": "door", "purpose": "deposit", "door": door}
    if isinstance(event, ev.IdentityConfirmed | ev.PinConfirmed):
        return {"kind": "door", "purpose": "retrieval", "door": door}
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
