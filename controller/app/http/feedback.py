"""What the person in front of the camera should hear: the reason of the attempt, for kiosks.

Reasons: the quality gates' codes (``no_face``, ``face_too_small``, ``too_blurry``, ``not_frontal``...),
``no_templates``, ``analysis_failed``, ``not_recognised`` (a face that matches no occupied compartment),
``liveness_failed`` (judged a photograph, a screen or a replay; ``check`` names which test), and
``recognised``. They go to ``/events`` as ``event: feedback`` messages (not log events: no ``id``)
and to ``/metrics`` as ``lockers_attempt_feedback_total{reason=...}``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from controller.ports import FaceMatch
from controller.service.bridge import LIVENESS_FAILED

NOT_RECOGNISED = "not_recognised"
RECOGNISED = "recognised"
VERIFYING = "verifying"
REASONS = (NOT_RECOGNISED, RECOGNISED, VERIFYING, LIVENESS_FAILED)
"""The reasons this module gives of its own (the others are the gates' and the worker's codes)."""


@dataclass(frozen=True, slots=True)
class Feedback:
    """The reason of the current attempt, and the compartment and failed liveness check when known."""

    reason: str
    compartment_id: str | None = None
    check: str = ""


def feedback_of(observation: object) -> Feedback | None:
    """The feedback an observation of the recognition worker calls for (None for anything else)."""
    if isinstance(observation, FaceMatch):
        evidence = observation.evidence
        if evidence.presentation_attack():
            return Feedback(LIVENESS_FAILED, observation.compartment_id, evidence.liveness)
        if observation.compartment_id is None:
            return Feedback(NOT_RECOGNISED)
        return Feedback(RECOGNISED if observation.accepted else VERIFYING, observation.compartment_id)
    reason = getattr(observation, "reason", None)
    return Feedback(reason) if isinstance(reason, str) else None


def sse_feedback(feedback: Feedback) -> str:
    """One server-sent ``feedback`` message."""
    return f"event: feedback\ndata: {json.dumps(asdict(feedback))}\n\n"


class FeedbackFilter:
    """Passes a feedback on only when it differs from the previous one (frames repeat themselves)."""

    def __init__(self) -> None:
        self._last: Feedback | None = None

    def changed(self, feedback: Feedback | None) -> bool:
        """Whether ``feedback`` is new."""
        if feedback is None or feedback == self._last:
            return False
        self._last = feedback
        return True
