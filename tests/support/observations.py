"""A recognition worker's sink for tests: every observation kept, in order, safe from the worker's thread."""

from __future__ import annotations

import threading

from controller.ports import FaceMatch
from recognition.runtime.worker import FaceRejected, Observation


class Observations:
    """Collects what a ``RecognitionWorker`` emits (it calls the sink from its own thread)."""

    def __init__(self) -> None:
        self.seen: list[Observation] = []
        self.lock = threading.Lock()

    def __call__(self, observation: Observation) -> None:
        with self.lock:
            self.seen.append(observation)

    def matches(self) -> list[FaceMatch]:
        """The face matches seen so far."""
        with self.lock:
            return [o for o in self.seen if isinstance(o, FaceMatch)]

    def rejections(self) -> list[str]:
        """The reasons of the frames rejected so far (no face, a quality gate, no templates)."""
        with self.lock:
            return [o.reason for o in self.seen if isinstance(o, FaceRejected)]
