"""The liveness of the attempt in progress: per-frame cues kept for the last frames, judged on demand.

One ``LivenessMonitor`` sits beside one camera's frame agreement: every frame with a usable face
adds a cue (the passive score is computed here), and when the agreement accepts a match the monitor
judges the same window of frames. Nothing leaves it but a ``LivenessVerdict``. ``start`` computes a
face's cue on a thread of the monitor's own while the caller embeds that face; ``observe`` then takes it.
"""

from __future__ import annotations

import weakref
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from recognition.liveness.card import LivenessCard
from recognition.liveness.cues import FrameCue, frame_cue
from recognition.liveness.verdict import LivenessPolicy, LivenessVerdict, judge
from recognition.types import Face, FrameAnalysis, Image

DISABLED = "disabled"


class PassiveScorer(Protocol):
    """A per-frame liveness network: ``passive.MiniFasScorer`` for real."""

    @property
    def card(self) -> LivenessCard:
        """The model card."""
        ...

    def score(self, image: Image, face: Face) -> float:
        """Live probability of one face in [0, 1]."""
        ...


class LivenessMonitor:
    """Cues of the last ``window`` usable frames of one camera, and the verdict over them."""

    def __init__(
        self, scorer: PassiveScorer | None, policy: LivenessPolicy, window: int, window_s: float = float("inf")
    ) -> None:
        self.scorer = scorer
        self.policy = policy
        self.window_s = window_s
        self._cues: deque[tuple[float, FrameCue]] = deque(maxlen=max(window, policy.min_frames))
        self._pending: tuple[Face, Future[FrameCue]] | None = None
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def off(cls) -> LivenessMonitor:
        """A monitor that judges nothing (liveness disabled by configuration, or a caller without it)."""
        return cls(None, LivenessPolicy(enabled=False), 1)

    @property
    def active(self) -> bool:
        """Whether liveness is checked at all (enabled and a scorer present)."""
        return self.policy.enabled and self.scorer is not None

    def observe(self, image: Image, analysis: FrameAnalysis, now: float = 0.0) -> None:
        """Add the primary face of a frame that passed the gates (others say nothing about liveness)."""
        if self.active and (cue := self._cue(image, analysis)) is not None:
            self._cues.append((now, cue))
            # Same horizon as the frame agreement: older frames belong to an earlier attempt.
            while self._cues and self._cues[0][0] < now - self.window_s:
                self._cues.popleft()

    def start(self, image: Image, face: Face) -> None:
        """Begin the cue of a frame's primary face on the monitor's thread (``observe`` of that frame takes it)."""
        if not self.active or self.scorer is None:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="liveness-cue")
            weakref.finalize(self, self._pool.shutdown, wait=False)
        self._pending = (face, self._pool.submit(_compute, self.scorer, image, face))

    def _cue(self, image: Image, analysis: FrameAnalysis) -> FrameCue | None:
        primary = analysis.primary
        pending, self._pending = self._pending, None
        if primary is None or primary.embedding is None or self.scorer is None:
            return None
        if pending is not None and pending[0] is primary.face:  # the face this frame's analysis found
            return pending[1].result()  # started beside the embedding: the same cue, already (nearly) done
        return _compute(self.scorer, image, primary.face)

    def verdict(self) -> LivenessVerdict:
        """Judge the frames seen since the last reset (live and ``disabled`` when liveness is off)."""
        if not self.active or self.scorer is None:
            return LivenessVerdict(True, 1.0, DISABLED, "", None, 0.0, 0.0, 0)
        return judge([cue for _, cue in self._cues], self.policy, self.scorer.card.model_version)

    def judge_frames(self, frames: list[tuple[Image, FrameAnalysis]]) -> LivenessVerdict:
        """Judge a complete set of frames at once (enrolment, evaluation), forgetting earlier ones."""
        self.reset()
        if not self.active or self.scorer is None:
            return self.verdict()
        cues = [self._cue(image, analysis) for image, analysis in frames]
        return judge([cue for cue in cues if cue is not None], self.policy, self.scorer.card.model_version)

    def close(self) -> None:
        """Stop the cue's worker thread (an idle one; a later ``start`` starts it again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def reset(self) -> None:
        """Forget the cues (a decision was taken, or the gallery changed)."""
        self._cues.clear()


def _compute(scorer: PassiveScorer, image: Image, face: Face) -> FrameCue:
    """The cue of one primary face: passive score and picture."""
    return frame_cue(image, face, scorer.score(image, face))
