"""``/healthz``: the state of each part of a running bank (camera, board, storage, recognition).

A part is ``ok``, ``degraded`` (working, but not as it should: a camera reconnecting) or ``failed``;
the bank's ``status`` is ``ok`` only when every part is ``ok``. The former top-level keys
(``status``, ``recognition``, ``compartments``, ``alarms``, ``recognition_latency``) are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from controller.domain.errors import LockerError
from controller.ports import BoardFaulted, BoardRecovered, SensorObservation

if TYPE_CHECKING:
    from controller.app.run.recorder import Recorder
    from controller.app.stack import Stack
    from recognition.runtime.worker import RecognitionWorker

CAMERA_GRACE_S = 10.0
"""How long a camera may take to deliver its first frame, and the longest gap between frames."""

OK, DEGRADED, FAILED = "ok", "degraded", "failed"


def part(status: str, detail: str = "") -> dict[str, str]:
    """One component's entry."""
    return {"status": status, "detail": detail}


@dataclass
class BankHealth:
    """Collects what each component reports; ``report`` is the ``/healthz`` body."""

    stack: Stack
    worker: RecognitionWorker
    camera: str
    uploads: bool
    clock: Callable[[], float] = time.monotonic
    board_faults: dict[str, str] = field(default_factory=dict)
    recorder: Recorder | None = None

    def on_sensor(self, observation: SensorObservation) -> None:
        """Follow the lock boards' faults and recoveries as the door poller reports them."""
        if isinstance(observation, BoardFaulted):
            self.board_faults[observation.board] = observation.detail
        elif isinstance(observation, BoardRecovered):
            self.board_faults.pop(observation.board, None)

    def report(self) -> dict[str, Any]:
        """The health body: every component, the overall status and the former summary keys."""
        components = {
            "camera": self.camera_part(),
            "board": self.board_part(),
            "storage": self.storage_part(),
            "recognition": self.recognition_part(),
        }
        healthy = all(entry["status"] == OK for entry in components.values())
        return {
            "status": OK if healthy else DEGRADED,
            "recognition": OK if components["recognition"]["status"] == OK else FAILED,
            "components": components,
            "compartments": len(self.stack.views.compartment_ids()),
            "alarms": [alarm.compartment_id for alarm in self.stack.views.open_alarms()],
            "recognition_latency": self.worker.latency.summary(),
        }

    def camera_part(self) -> dict[str, str]:
        """Failed when the source broke, ended or never delivered; degraded when frames stopped coming."""
        grabber = self.worker.grabber
        if grabber.error is not None:
            return part(FAILED, f"camera {self.camera}: {grabber.error}")
        if grabber.finished:
            return part(FAILED, f"camera {self.camera}: the frame source ended")
        if self.uploads:
            return part(OK, "simulate mode: frames are uploaded to /simulate/frames")
        now, last = self.clock(), grabber.last_frame_at
        if last is None:
            waited = now - (grabber.started_at or now)
            if waited > CAMERA_GRACE_S:
                return part(FAILED, f"camera {self.camera}: no frame in {waited:.0f} s since start (cannot open it?)")
            return part(OK, "starting")
        if now - last > CAMERA_GRACE_S:
            return part(DEGRADED, f"camera {self.camera}: no frame for {now - last:.0f} s (reconnecting)")
        return part(OK)

    def board_part(self) -> dict[str, str]:
        """Failed while any lock board does not answer the door poller."""
        if self.board_faults:
            return part(FAILED, "; ".join(f"board {b}: {d}" for b, d in sorted(self.board_faults.items())))
        return part(OK)

    def storage_part(self) -> dict[str, str]:
        """Failed when the event log cannot be read, or refuses writes (observations wait, buffered)."""
        if self.recorder is not None and not self.recorder.healthy:
            backlog, problem = self.recorder.backlog, self.recorder.problem
            return part(FAILED, f"event log refuses writes ({problem}); {backlog} observations buffered in order")
        try:
            next(iter(self.stack.store.read_all(after=2**62, limit=1)), None)
        except LockerError as exc:
            return part(FAILED, f"event log: {exc}")
        return part(OK)

    def recognition_part(self) -> dict[str, str]:
        """Failed when the recognition worker stopped on an error."""
        if self.worker.error is not None:
            return part(FAILED, f"recognition worker stopped: {self.worker.error}")
        return part(OK)
