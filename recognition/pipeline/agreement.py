"""The decision rule, owned here: threshold, margin, k-of-n agreement, the near-miss band, liveness.

The service (worker and station), ``lockers eval``, ``lockers faces compare``, ``lockers calibrate`` and
the scenarios all take their rule from ``AgreementPolicy`` and its defaults (``service_threshold``).

A frame *votes* for a compartment when its best distance is within the threshold and beats the
runner-up by the margin. A match is accepted when the current frame votes for a compartment and at
least k of the last n frames, all within the time window, voted for the same one; it is rejected when n
frames are in the window and it is not accepted (a failed attempt). A face whose best
distance lies above the threshold but within ``threshold * (1 + near_miss)`` (relative, so one setting
suits every model's scale) is named in the evidence without being accepted,
so a look-alike that stays there fills a verification window and counts as a failed attempt.
The window restarts when the face in front of the camera changes (blank frames before it, or a face
farther than the threshold from the previous one), so earlier faces never count against an owner.
Liveness: the seam is ``liveness_required``; the liveness check itself is added beside this rule.
Time comes in as monotonic seconds from the caller: nothing here reads a clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from controller.domain.errors import ConfigError
from controller.domain.evidence import Evidence
from controller.ports import FaceMatch
from recognition.gallery import Candidate, SearchResult
from recognition.types import Embedding, ModelCard

DEFAULT_MODEL = "fr-feature+mobilefacenet"
"""The service's default model: best measured East Asian TAR at FAR 1e-3 without losing LFW accuracy."""

SERVICE_THRESHOLDS = {"dlib-resnet": 0.45, "fr-feature+mobilefacenet": 1.0, "faceres": 0.7, "fr-feature+faceres": 0.95}
"""Unlock thresholds used when none is configured (docs/recognition.md, "The default decision"): each at or
below its model's FAR 1e-3 point on lfw-dev's East Asian impostor pairs. Calibrate per site with
``lockers calibrate``. Other models fall back to their card's threshold."""


def service_threshold(card: ModelCard) -> float:
    """The threshold the service uses for a model when none is configured."""
    return SERVICE_THRESHOLDS.get(card.name, card.default_threshold)


@dataclass(frozen=True, slots=True)
class AgreementPolicy:
    """Decision rule: distance threshold, margin over the runner-up, k of the last n frames in a window."""

    threshold: float
    margin: float = 0.05
    frames_required: int = 3
    frames_window: int = 5
    window_s: float = 2.0
    near_miss: float = 0.1
    liveness_required: bool = False

    def vote_of(self, result: SearchResult) -> str | None:
        """The compartment one frame's search is sure of: within the threshold, beating the runner-up by the margin."""
        best, runner_up = result.best, result.runner_up
        if best is None or best.distance > self.threshold:
            return None
        if runner_up is not None and runner_up.distance - best.distance < self.margin:
            return None
        return best.compartment_id

    def same_person(self, distance: float) -> bool:
        """The one-frame, one-template verdict (``faces compare``, ``eval``): within the threshold."""
        return distance <= self.threshold

    def __post_init__(self) -> None:
        """Refuse rules that could never, or would always, accept."""
        if self.threshold <= 0 or self.margin < 0 or self.window_s <= 0 or self.near_miss < 0:
            raise ConfigError("agreement needs threshold > 0, margin >= 0, near_miss >= 0 and window_s > 0")
        if not 1 <= self.frames_required <= self.frames_window:
            raise ConfigError("agreement needs 1 <= frames_required <= frames_window")


@dataclass(frozen=True, slots=True)
class _Vote:
    at: float
    compartment_id: str | None


class FrameAgreement:
    """The sliding window of recent frame votes for one camera."""

    def __init__(self, policy: AgreementPolicy, model_version: str, same_face: float | None = None) -> None:
        """``same_face``: consecutive probes farther apart are a new face (default: the near-miss band's edge).

        The service passes the model card's threshold, the distance at which the model calls two
        photographs one person: consecutive frames of one face lie well within it.
        """
        self.policy = policy
        self.same_face = same_face if same_face is not None else policy.threshold * (1.0 + policy.near_miss)
        self.model_version = model_version
        self._votes: deque[_Vote] = deque(maxlen=policy.frames_window)
        self._last_probe: Embedding | None = None
        self._last_face_at: float | None = None

    def vote_of(self, result: SearchResult) -> str | None:
        """The compartment this frame alone votes for, if it is sure enough."""
        return self.policy.vote_of(result)

    def observe_miss(self, now: float) -> None:
        """Record a frame with no usable face: it counts towards n but votes for nobody."""
        self._push(_Vote(now, None))

    def observe(self, result: SearchResult, now: float, probe: Embedding | None = None) -> FaceMatch | None:
        """Record one searched frame and return the evidence (None when the gallery was empty).

        ``probe`` (the frame's embedding) lets the window restart when the face changes.
        """
        if probe is not None:
            self._restart_if_new_face(probe, now)
        if result.best is None:
            self.observe_miss(now)
            return None
        vote = self.vote_of(result)
        self._push(_Vote(now, vote))
        match = self._evidence(result.best, result.runner_up, vote)
        if match.accepted:
            # A decision consumes its frames: the next one needs k fresh agreeing frames.
            self.reset()
        return match

    def reset(self) -> None:
        """Forget every vote (after a decision, or when the gallery changes)."""
        self._votes.clear()

    def _restart_if_new_face(self, probe: Embedding, now: float) -> None:
        # A new face: none within the window before it (only blanks), or one too far to be the same person.
        last, self._last_probe = self._last_probe, probe
        seen, self._last_face_at = self._last_face_at, now
        gone = seen is None or now - seen > self.policy.window_s
        if gone or last is None or float(np.linalg.norm(probe - last)) > self.same_face:
            self._votes.clear()

    def _push(self, vote: _Vote) -> None:
        self._votes.append(vote)
        horizon = vote.at - self.policy.window_s
        while self._votes and self._votes[0].at < horizon:
            self._votes.popleft()

    def _evidence(self, best: Candidate, runner_up: Candidate | None, vote: str | None) -> FaceMatch:
        # A near miss names its compartment (so a verification runs and fails) but is never accepted.
        within = best.distance <= self.policy.threshold * (1.0 + self.policy.near_miss)
        agreeing = sum(1 for v in self._votes if vote is not None and v.compartment_id == vote)
        evidence = Evidence(
            subject_id=best.subject_id if within else "",
            distance=best.distance,
            runner_up_distance=None if runner_up is None else runner_up.distance,
            threshold=self.policy.threshold,
            margin=self.policy.margin,
            frames_agreeing=agreeing,
            frames_considered=len(self._votes),
            model_version=self.model_version,
        )
        accepted = vote is not None and agreeing >= self.policy.frames_required
        # A full window without agreement is a failed attempt: the decision rule says so, nobody else.
        rejected = not accepted and len(self._votes) >= self.policy.frames_window
        return FaceMatch(best.compartment_id if within else None, accepted, evidence, rejected)
