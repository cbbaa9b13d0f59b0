"""The attempt's reason reaches kiosks: /events feedback messages and the /metrics counter."""

from __future__ import annotations

import asyncio
import json

from controller.app.http import EventBroadcaster
from controller.app.http.feedback import Feedback, FeedbackFilter, feedback_of, sse_feedback
from controller.app.run.metrics import Metrics
from controller.domain.evidence import Evidence
from controller.ports import FaceMatch
from recognition.runtime.worker import FaceRejected


def _match(compartment: str | None, accepted: bool, liveness: str) -> FaceMatch:
    evidence = Evidence(distance=0.3, threshold=0.45, model_version="m", liveness=liveness)
    return FaceMatch(compartment, accepted, evidence)


def test_reasons_of_observations() -> None:
    assert feedback_of(_match("1", False, "replay")) == Feedback("liveness_failed", "1", "replay")
    assert feedback_of(_match(None, False, "")) == Feedback("not_recognised")
    assert feedback_of(_match("1", True, "live")) == Feedback("recognised", "1")
    assert feedback_of(FaceRejected("face_too_small", 3, 0.0)) == Feedback("face_too_small")
    assert feedback_of(object()) is None


def test_only_changes_are_told() -> None:
    told = FeedbackFilter()
    said = [told.changed(f) for f in (Feedback("no_face"), Feedback("no_face"), None, Feedback("liveness_failed"))]
    assert said == [True, False, False, True]


def test_feedback_reaches_stream_and_metrics() -> None:
    broadcaster = EventBroadcaster()
    queue: asyncio.Queue[object] = asyncio.Queue(4)
    broadcaster.clients.add(queue)  # type: ignore[arg-type]
    feedback = Feedback("liveness_failed", "2", "flat_motion")
    broadcaster.on_feedback(feedback)
    assert queue.get_nowait() == feedback
    message = sse_feedback(feedback)
    assert message.startswith("event: feedback\ndata: ") and message.endswith("\n\n")
    assert json.loads(message.split("data: ", 1)[1]) == {"reason": "liveness_failed", "compartment_id": "2",
                                                          "check": "flat_motion"}  # fmt: skip
    metrics = Metrics()
    metrics.on_feedback("liveness_failed")
    metrics.on_feedback("liveness_failed")
    assert 'lockers_attempt_feedback_total{reason="liveness_failed"} 2.0' in metrics.render().decode()
