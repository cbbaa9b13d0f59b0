"""The liveness decision of one attempt: passive score, replay and flat-motion cues, optional challenge.

Reason codes (first failing check wins): ``replay`` (the frames are one picture injected again: they
differ by less than a camera's noise floor), ``flat_motion`` (the face tilted like a plane, with no
parallax; judged only when it tilted: no motion is not an attack), ``passive`` (the networks see a
print or a screen),
``challenge_turn_head`` (an inconclusive attempt did not show the requested head turn), ``too_few_frames``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from recognition.liveness.cues import AttemptCues, FrameCue, measure
from recognition.pipeline.quality import pose_metrics
from recognition.settings import Section
from recognition.types import Face

METHOD = "passive+replay+parallax"
CHALLENGE_TURN_HEAD = "challenge_turn_head"
"""The refusal that asks the person to turn their head (the kiosk says so, it is not an accusation)."""
_log = logging.getLogger(__name__)
INJECTION_DIFFERENCE = 0.5
"""Grey levels (0-255). 12 real recordings of live people (10 people) at 10 fps: consecutive aligned
face crops differ by 0.63 at the least (one pair), and the median of 4 consecutive pairs by 1.13 at the
least (1.47 leaving that person out); byte-identical frames differ by 0. The attempt's median pairwise
difference must fall under less than half the smallest real median to be called one picture."""


class LivenessPolicy(Section):
    """``[liveness]``: thresholds of the attempt checks, validated with the rest of the configuration."""

    enabled: bool = True
    passive_threshold: float = Field(0.4, ge=0, le=1)
    """Mean live probability of the MiniFASNet pair below which the attempt is an attack."""
    replay_similarity: float = Field(0.9, gt=0, le=1)
    """Deprecated, no longer decides anything: face similarity is evidence of the same person, not of
    an attack (still people correlate 0.92-0.999). Still accepted and validated; setting it logs a
    warning. Injection is judged by ``injection_difference``."""
    injection_difference: float = Field(INJECTION_DIFFERENCE, ge=0, le=255)
    """Median pairwise difference of the aligned, unblurred face crops (grey levels) below which the
    frames are one picture injected again (``replay``); well below the noise floor of real cameras
    filming still people (docs/liveness.md)."""
    min_parallax: float = Field(0.1, ge=0, le=10)
    """Nose parallax (eye distances) a real head shows once the face has measurably tilted."""
    min_plane_motion: float = Field(0.2, ge=0, le=10)
    """Tilt beyond a similarity (eye distances) from which a missing parallax counts as a flat picture.

    It must stand above what a live face gives without any tilt. MTCNN regresses its five points from a
    48 px resampling of the face box, so their noise is 1-2 of those pixels whatever the face's size:
    0.05-0.1 eye distances. Real footage (docs/liveness.md): still and talking people 0.04 at most, a
    person filmed by a hand-held phone while talking up to 0.16 (mouth corners move; a rotating camera
    moves every point by one homography, as a plane would); the former 0.05 refused 8 of 40 such attempts.
    A flat picture's tilt beyond a similarity grows with the square of its angle (eyes and mouth corners
    of a face at 0.5 m: 0.06 at 30 deg, 0.15 at 45 deg, 0.2 at about 50 deg of turn), while a head
    turned that far shows 0.6 or more of nose parallax: the check now judges large tilts only."""
    challenge: Literal["none", "turn_head"] = "none"
    """``turn_head``: an attempt whose passive score is below ``confident_passive`` must show a head turn."""
    confident_passive: float = Field(0.9, ge=0, le=1)
    min_turn: float = Field(0.25, ge=0, le=10)
    """Yaw change (nose offset in eye distances) that counts as a head turn."""
    min_frames: int = Field(2, ge=1, le=100)

    @model_validator(mode="after")
    def _confident_above_the_threshold(self) -> LivenessPolicy:
        if self.passive_threshold > self.confident_passive:
            raise ValueError("passive_threshold must not exceed confident_passive")
        if "replay_similarity" in self.model_fields_set:
            _log.warning("liveness.replay_similarity is deprecated and ignored; see liveness.injection_difference")
        return self


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


def check_codes() -> tuple[str, ...]:
    """Every reason an attempt can be refused for, in the order checked (taken from the checks themselves)."""
    return tuple(code for code, _ in _checks(AttemptCues(0, 0.0, 0.0, 0.0, 0.0, 0.0), [], LivenessPolicy()))


def _failure(m: AttemptCues, cues: list[FrameCue], policy: LivenessPolicy) -> str | None:
    return next((code for code, failed in _checks(m, cues, policy) if failed()), None)


def _checks(m: AttemptCues, cues: list[FrameCue], policy: LivenessPolicy) -> list[tuple[str, Callable[[], bool]]]:
    """The checks in order (the first that fails names the refusal); each runs only when asked."""
    return [
        ("too_few_frames", lambda: m.frames < policy.min_frames),
        ("replay", lambda: m.frames > 1 and m.difference < policy.injection_difference),
        ("flat_motion", lambda: m.plane_motion >= policy.min_plane_motion and m.parallax < policy.min_parallax),
        ("passive", lambda: m.passive < policy.passive_threshold),
        (
            CHALLENGE_TURN_HEAD,
            lambda: (
                policy.challenge == "turn_head" and m.passive < policy.confident_passive and not turned(cues, policy)
            ),
        ),
    ]


def turned(cues: list[FrameCue], policy: LivenessPolicy) -> bool:
    """Whether the yaw (nose offset from the eyes' midpoint) changed by ``min_turn`` within the attempt."""
    yaws = [pose_metrics(Face((0, 0, 1, 1), 1.0, cue.landmarks))["yaw"] for cue in cues]
    return bool(yaws) and max(yaws) - min(yaws) >= policy.min_turn
