"""Where liveness joins the evidence and the decision: k-of-n agreement first, then the attempt's liveness.

``LiveAgreement`` wraps one camera's ``FrameAgreement`` and ``LivenessMonitor``. When the agreement
accepts a match, the monitor judges the same recent frames; an attack turns the match into a refusal
whose evidence names the failed check (the bridge rejects it at once, a failed attempt). Every match
it returns carries the liveness fields, so the log records score, method and model version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from controller.domain.evidence import Liveness
from controller.ports import FaceMatch
from recognition.gallery import Gallery, SearchResult
from recognition.liveness.monitor import LivenessMonitor
from recognition.liveness.verdict import LivenessPolicy, LivenessVerdict
from recognition.pipeline.agreement import FrameAgreement
from recognition.pipeline.enrolment import (
    EnrolmentError,
    EnrolmentPolicy,
    EnrolmentResult,
    build_template,
    refuse_if_enrolled,
)
from recognition.types import Embedding, FrameAnalysis, Image


class LiveAgreement:
    """k-of-n agreement whose accepted matches must also be live."""

    def __init__(self, agreement: FrameAgreement, monitor: LivenessMonitor) -> None:
        self.agreement = agreement
        self.monitor = monitor
        self.last_verdict: LivenessVerdict | None = None

    def observe(
        self, image: Image, analysis: FrameAnalysis, result: SearchResult, now: float, probe: Embedding | None = None
    ) -> FaceMatch | None:
        """Record one searched frame; an accepted match is judged for liveness before it leaves."""
        self.monitor.observe(image, analysis, now)
        match = self.agreement.observe(result, now, probe)
        if match is None or not match.accepted:
            return match
        verdict = self.monitor.verdict()
        self.monitor.reset()
        self.last_verdict = verdict
        return joined(match, verdict)

    def enrolment_template(
        self, images: Sequence[Image], analyses: Sequence[FrameAnalysis], policy: EnrolmentPolicy, gallery: Gallery
    ) -> EnrolmentResult:
        """An enrolment's template: refused if the face already owns a compartment, or if it is not judged live."""
        result = build_template(analyses, policy)
        refuse_if_enrolled(result.template, gallery, self.agreement.policy)
        return check_enrolment(self.monitor, list(zip(images, analyses, strict=True)), result)

    def observe_miss(self, now: float) -> None:
        """A frame with no usable face."""
        self.agreement.observe_miss(now)

    def reset(self) -> None:
        """Forget votes and cues (the gallery changed)."""
        self.agreement.reset()
        self.monitor.reset()


def check_enrolment(
    monitor: LivenessMonitor, frames: list[tuple[Image, FrameAnalysis]], result: EnrolmentResult
) -> EnrolmentResult:
    """The result with its frames' liveness; an attack refuses the enrolment (``EnrolmentError``), so the deposit."""
    verdict = monitor.judge_frames(frames)
    if not verdict.live:
        raise EnrolmentError(f"liveness_failed: {verdict.reason} (score {verdict.score:.2f})", ())
    return dataclasses.replace(result, liveness=_recorded(verdict))


def joined(match: FaceMatch, verdict: LivenessVerdict) -> FaceMatch:
    """The match with the verdict in its evidence; a verdict that is not live rejects the attempt."""
    evidence = dataclasses.replace(match.evidence, **_recorded(verdict).flat())
    return dataclasses.replace(
        match,
        accepted=match.accepted and verdict.live,
        rejected=match.rejected or not verdict.live,
        evidence=evidence,
    )


def _recorded(verdict: LivenessVerdict) -> Liveness:
    """The verdict as the log records it, in an enrolment's ``Liveness`` or a match's ``Evidence``."""
    return Liveness(
        liveness=_label(verdict),
        liveness_score=verdict.score,
        liveness_method=verdict.method,
        liveness_model=verdict.model_version,
    )


def _label(verdict: LivenessVerdict) -> str:
    if verdict.method == "disabled":
        return "disabled"
    return "live" if verdict.live else verdict.reason or "not_live"


def build_monitor(
    policy: LivenessPolicy, window: int, window_s: float, device: str = "cpu", root: Path | None = None
) -> LivenessMonitor:
    """The monitor for the ``[liveness]`` section; loads the MiniFASNet pair only when enabled."""
    if not policy.enabled:
        return LivenessMonitor(None, policy, window, window_s)
    from recognition.liveness.passive import load_passive

    return LivenessMonitor(load_passive(device, root), policy, window, window_s)
