"""Enrolment: several analysed frames of one person -> one template (their normalised mean).

Frames without a usable face are rejected with the pipeline's own reason. Among the rest, a sample
whose median distance to the other samples exceeds ``max_spread`` is rejected as ``inconsistent``
(a different person stepped in, a bad alignment): the median keeps one bad sample from dragging
the good ones out. Too few samples left is an ``EnrolmentError`` that lists every rejection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from controller.domain.errors import ConfigError
from controller.domain.evidence import EnrolmentLiveness
from recognition.errors import RecognitionError
from recognition.gallery import COHORT_SUBJECT, FloatArray, Gallery, pairwise_distances, unit
from recognition.pipeline.agreement import AgreementPolicy
from recognition.types import Embedding, FrameAnalysis, ModelCard

INCONSISTENT = "inconsistent"
"""Rejection reason of a sample too far from the other samples."""


@dataclass(frozen=True, slots=True)
class SampleRejection:
    """Why one sample (by its position in the input) was left out of the template."""

    index: int
    reason: str
    detail: str = ""


class EnrolmentError(RecognitionError):
    """Not enough consistent, good samples to build a template; ``rejections`` says why."""

    def __init__(self, message: str, rejections: tuple[SampleRejection, ...]) -> None:
        self.rejections = rejections
        self.message = message
        reasons = ", ".join(f"#{r.index}: {r.reason}" for r in rejections)
        super().__init__(f"{message} ({reasons})" if reasons else message)


@dataclass(frozen=True, slots=True)
class EnrolmentPolicy:
    """How many good samples a template needs and how far apart they may be (in the model's metric)."""

    max_spread: float
    metric: str = "euclidean"
    min_samples: int = 3

    def __post_init__(self) -> None:
        """Refuse a policy that cannot be met."""
        if self.min_samples < 1 or self.max_spread <= 0:
            raise ConfigError("enrolment needs min_samples >= 1 and max_spread > 0")

    @classmethod
    def for_card(cls, card: ModelCard, min_samples: int = 3) -> EnrolmentPolicy:
        """Samples of one person must lie within the model's match threshold of each other."""
        return cls(max_spread=card.default_threshold, metric=card.metric, min_samples=min_samples)


@dataclass(frozen=True, slots=True)
class EnrolmentResult:
    """The template, which samples built it, which were rejected, and the largest sample-template distance."""

    template: Embedding
    used: tuple[int, ...]
    rejections: tuple[SampleRejection, ...]
    spread: float
    liveness: EnrolmentLiveness = EnrolmentLiveness()
    """The liveness verdict of the frames, once judged (``recognition.liveness.attempt.check_enrolment``)."""


def build_template(analyses: Sequence[FrameAnalysis], policy: EnrolmentPolicy) -> EnrolmentResult:
    """Build one template from analysed frames, or raise ``EnrolmentError``."""
    indices, vectors, rejections = _usable(analyses)
    _require(policy, len(indices), len(analyses), rejections)
    stacked = np.stack(vectors)
    rows, outliers = _consistent(indices, stacked, policy)
    rejections += outliers
    _require(policy, len(rows), len(analyses), rejections)
    chosen = stacked[rows]
    template = normalised_mean(chosen, policy.metric)
    spread = float(pairwise_distances(chosen, template[None, :], policy.metric).max())
    used = tuple(indices[row] for row in rows)
    return EnrolmentResult(template, used, tuple(sorted(rejections, key=lambda r: r.index)), spread)


def normalised_mean(vectors: FloatArray, metric: str) -> Embedding:
    """The mean direction of the samples; for euclidean models, scaled to their mean length.

    Averaging unit vectors weighs every sample equally whatever its norm; keeping the mean length
    leaves the template in the space where the model's euclidean threshold was calibrated.
    """
    direction = unit(unit(vectors).mean(axis=0))
    if metric == "cosine":
        return direction
    length = np.float32(np.linalg.norm(vectors, axis=1).mean())
    scaled: Embedding = (direction * length).astype(np.float32)
    return scaled


def _usable(analyses: Sequence[FrameAnalysis]) -> tuple[list[int], list[FloatArray], list[SampleRejection]]:
    indices: list[int] = []
    vectors: list[FloatArray] = []
    rejections: list[SampleRejection] = []
    for index, analysis in enumerate(analyses):
        primary = analysis.primary
        if primary is None or primary.embedding is None:
            reasons = primary.quality.reasons if primary is not None else ()
            reason = analysis.rejection or (reasons[0] if reasons else "no_embedding")
            rejections.append(SampleRejection(index, reason, ",".join(reasons)))
            continue
        indices.append(index)
        vectors.append(np.asarray(primary.embedding, dtype=np.float32))
    return indices, vectors, rejections


def _consistent(
    indices: list[int], vectors: FloatArray, policy: EnrolmentPolicy
) -> tuple[list[int], list[SampleRejection]]:
    """Rows of ``vectors`` close enough to the others, and a rejection for each row that is not."""
    if len(indices) < 2:
        return list(range(len(indices))), []
    distances = pairwise_distances(vectors, vectors, policy.metric)
    keep: list[int] = []
    rejected: list[SampleRejection] = []
    for row, index in enumerate(indices):
        median = float(np.median(np.delete(distances[row], row)))
        if median <= policy.max_spread:
            keep.append(row)
        else:
            detail = f"median distance {median:.3f} to the other samples exceeds {policy.max_spread:.3f}"
            rejected.append(SampleRejection(index, INCONSISTENT, detail))
    return keep, rejected


def _require(policy: EnrolmentPolicy, good: int, total: int, rejections: list[SampleRejection]) -> None:
    if good < policy.min_samples:
        message = f"only {good} of {total} samples usable; enrolment needs {policy.min_samples}"
        raise EnrolmentError(message, tuple(sorted(rejections, key=lambda r: r.index)))


class NoCameraFrames(EnrolmentError):
    """No frame came from the camera for an enrolment (a dead or disconnected camera, or recognition stopped)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ())


class AlreadyEnrolled(EnrolmentError):
    """The depositor's face already owns a compartment: two templates of one face defeat the margin."""


def refuse_if_enrolled(template: FloatArray, gallery: Gallery, policy: AgreementPolicy) -> None:
    """Refuse a deposit only when the accept rule (threshold and margin) says the face owns a compartment.

    The near-miss band is for counting attempts on a door, not for calling two people one: a look-alike
    in it may deposit. The message names no compartment, so it never tells a caller which door a face uses.
    """
    result = gallery.search(template)
    best = result.best
    if best is None or best.subject_id == COHORT_SUBJECT or policy.vote_of(result) is None:
        return
    raise AlreadyEnrolled(
        f"this face already has a deposit here (distance {best.distance:.3f}): retrieve it first, or ask an operator",
        (),
    )
