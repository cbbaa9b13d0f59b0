"""The liveness decision of one attempt: passive score, replay and flat-motion cues, optional challenge.

Reason codes (first failing check wins): ``replay`` (the frames are one picture), ``flat_motion``
(the face tilted like a plane, with no parallax), ``passive`` (the networks see a print or a screen),
``challenge_turn_head`` (an inconclusive attempt did not show the requested head turn), ``too_few_frames``.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.domain.errors import ConfigError
from recognition.liveness.cues import AttemptCues, FrameCue, measure
from recognition.pipeline.quality import pose_metrics
from recognition.types import Face

METHOD = "passive+replay+parallax"
CHALLENGES = ("none", "turn_head")


@dataclass(frozen=True, slots=True)
class LivenessPolicy:
    """Thresholds of the attempt checks (``[liveness]`` in the configuration)."""

    enabled: bool = True
    passive_threshold: float = 0.4
    """Mean live probability of the MiniFASNet pair below which the attempt is an attack."""
    replay_similarity: float = 0.9
    """Median correlation of the aligned, blurred faces at or above which the frames are one picture."""
    min_parallax: float = 0.1
    """Nose parallax (eye distances) a real head shows once the face has measurably tilted."""
    min_plane_motion: float = 0.05
    """Tilt beyond a similarity (eye distances) from which a missing parallax counts as a flat picture.

    Above MTCNN's landmark noise on small faces (1-2 px on a 25-30 px eye distance, up to ~0.05): two
    distinct photographs of the owner (Colin_Powell 8 and 9) differ by 0.030 with 0.07 parallax."""
    challenge: str = "none"
    """``turn_head``: an attempt whose passive score is below ``confident_passive`` must show a head turn."""
    confident_passive: float = 0.9
    min_turn: float = 0.25
    """Yaw change (nose offset in eye distances) that counts as a head turn."""
    min_frames: int = 2

    def __post_init__(self) -> None:
        """Refuse settings that make no sense (one line each)."""
        if not 0 <= self.passive_threshold <= self.confident_passive <= 1:
            raise ConfigError("liveness needs 0 <= passive_threshold <= confident_passive <= 1")
        if not 0 < self.replay_similarity <= 1:
            raise ConfigError("liveness.replay_similarity must be in (0, 1]")
        if self.min_parallax < 0 or self.min_plane_motion < 0 or self.min_turn < 0:
            raise ConfigError("liveness parallax, plane motion and turn thresholds must be >= 0")
        if self.challenge not in CHALLENGES:
            raise ConfigError(f"liveness.challenge must be one of {', '.join(CHALLENGES)}, got {self.challenge!r}")
        if self.min_frames < 1:
            raise ConfigError("liveness.min_frames must be >= 1")


@dataclass(frozen=True, slots=True)
class LivenessVerdict:
    """Evidence of one attempt's liveness: what the log records (numbers and names, never images)."""

    live: bool
    score: float
    method: str
    model_version: str
    reason: str | None
    same_picture: float
    parallax: float
    frames: int


def judge(cues: list[FrameCue], policy: LivenessPolicy, model_version: str) -> LivenessVerdict:
    """Decide whether the frames of one attempt show a live face."""
    measured = measure(cues)
    reason = _failure(measured, cues, policy)
    return LivenessVerdict(
        live=reason is None,
        score=round(measured.passive, 4),
        method=METHOD,
        model_version=model_version,
        reason=reason,
        same_picture=round(measured.same_picture, 4),
        parallax=round(measured.parallax, 4),
        frames=measured.frames,
    )


def _failure(m: AttemptCues, cues: list[FrameCue], policy: LivenessPolicy) -> str | None:
    if m.frames < policy.min_frames:
        return "too_few_frames"
    if m.frames > 1 and m.same_picture >= policy.replay_similarity:
        return "replay"
    if m.plane_motion >= policy.min_plane_motion and m.parallax < policy.min_parallax:
        return "flat_motion"
    if m.passive < policy.passive_threshold:
        return "passive"
    if policy.challenge == "turn_head" and m.passive < policy.confident_passive and not turned(cues, policy):
        return "challenge_turn_head"
    return None


def turned(cues: list[FrameCue], policy: LivenessPolicy) -> bool:
    """Whether the yaw (nose offset from the eyes' midpoint) changed by ``min_turn`` within the attempt."""
    yaws = [pose_metrics(Face((0, 0, 1, 1), 1.0, cue.landmarks))["yaw"] for cue in cues]
    return bool(yaws) and max(yaws) - min(yaws) >= policy.min_turn
