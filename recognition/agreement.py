"""k-of-n frame agreement: turn per-frame searches into ``FaceMatch`` evidence for the controller.

A frame *votes* for a compartment when its best distance is within the threshold and beats the
runner-up by the margin. A match is accepted when the current frame votes for a compartment and at
least k of the last n frames, all within the time window, voted for the same one. Time comes in as
monotonic seconds from the caller: nothing here reads a clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from controller.domain.errors import ConfigError
from controller.domain.evidence import Evidence
from controller.ports import FaceMatch
from recognition.gallery import Candidate, SearchResult


@dataclass(frozen=True, slots=True)
class AgreementPolicy:
    """Decision rule: distance threshold, margin over the runner-up, k of the last n frames in a window."""

    threshold: float
    margin: float = 0.05
    frames_required: int = 3
    frames_window: int = 5
    window_s: float = 2.0

    def __post_init__(self) -> None:
        """Refuse rules that could never, or would always, accept."""
        if self.threshold <= 0 or self.margin < 0 or self.window_s <= 0:
            raise ConfigError("agreement needs threshold > 0, margin >= 0 and window_s > 0")
        if not 1 <= self.frames_required <= self.frames_window:
            raise ConfigError("agreement needs 1 <= frames_required <= frames_window")


@dataclass(frozen=True, slots=True)
class _Vote:
    at: float
    compartment_id: str | None


class FrameAgreement:
    """The sliding window of recent frame votes for one camera."""

    def __init__(self, policy: AgreementPolicy, model_version: str) -> None:
        self.policy = policy
        self.model_version = model_version
        self._votes: deque[_Vote] = deque(maxlen=policy.frames_window)

    def vote_of(self, result: SearchResult) -> str | None:
        """The compartment this frame alone votes for, if it is sure enough."""
        best, runner_up = result.best, result.runner_up
        if best is None or best.distance > self.policy.threshold:
            return None
        if runner_up is not None and runner_up.distance - best.distance < self.policy.margin:
            return None
        return best.compartment_id

    def observe_miss(self, now: float) -> None:
        """Record a frame with no usable face: it counts towards n but votes for nobody."""
        self._push(_Vote(now, None))

    def observe(self, result: SearchResult, now: float) -> FaceMatch | None:
        """Record one searched frame and return the evidence (None when the gallery was empty)."""
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

    def _push(self, vote: _Vote) -> None:
        self._votes.append(vote)
        horizon = vote.at - self.policy.window_s
        while self._votes and self._votes[0].at < horizon:
            self._votes.popleft()

    def _evidence(self, best: Candidate, runner_up: Candidate | None, vote: str | None) -> FaceMatch:
        within = best.distance <= self.policy.threshold
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
        return FaceMatch(best.compartment_id if within else None, accepted, evidence)
