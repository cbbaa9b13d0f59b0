"""Fakes for tests and simulations: a face pipeline, a frame source and an identifier, all scriptable.

* ``FakeFacePipeline`` reads the identity painted into a synthetic frame (``FakeFacePipeline.frame``)
  and returns that identity's fixed embedding plus a little noise: no network, deterministic.
* ``FileFrameSource`` replays images (arrays or files) in order, optionally looping.
* ``ScriptedIdentifier`` stands in for the ``RecognitionWorker``: tests push observations and
  scripted enrolment results, and it delivers them to the service's sink synchronously.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from recognition.camera import Frame
from recognition.gallery import unit
from recognition.pipeline.enrolment import EnrolmentResult
from recognition.pipeline.images import load_image
from recognition.runtime.worker import Observation
from recognition.types import Embedding, Face, FaceSample, FrameAnalysis, Image, ModelCard, QualityReport

NO_FACE = 0
"""Identity code of a frame with nobody in it."""

BLURRY = 255
"""Identity code of a frame whose face fails the quality gates."""

FAKE_CARD = ModelCard(
    name="fake",
    version="1",
    input_size=0,
    embedding_size=32,
    metric="euclidean",
    default_threshold=0.5,
    weights_sha256="0" * 64,
    notes="deterministic fake: embeddings are fixed random unit vectors per painted identity",
)

_FACE = Face(box=(8.0, 8.0, 40.0, 40.0), probability=0.99, landmarks=((16.0, 20.0),) * 5)


def analysis(embedding: Embedding | None, rejection: str | None = None) -> FrameAnalysis:
    """A one-face analysis carrying ``embedding``, or a rejected one (``rejection`` defaults to no_face)."""
    if embedding is not None:
        sample = FaceSample(_FACE, QualityReport(ok=True), embedding)
        return FrameAnalysis((sample,), sample, None, detect_ms=1.0, embed_ms=1.0)
    reason = rejection or "no_face"
    if reason == "no_face":
        return FrameAnalysis((), None, reason, detect_ms=1.0, embed_ms=0.0)
    sample = FaceSample(_FACE, QualityReport(ok=False, reasons=(reason,)), None)
    return FrameAnalysis((sample,), None, reason, detect_ms=1.0, embed_ms=0.0)


class FakeFacePipeline:
    """A ``FacePipeline`` that recognises the identity code painted in a frame's top-left pixel."""

    def __init__(self, card: ModelCard = FAKE_CARD, noise: float = 0.05, seed: int = 0) -> None:
        self._card = card
        self._noise = noise
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self.calls = 0

    @property
    def card(self) -> ModelCard:
        """The fake model card."""
        return self._card

    @staticmethod
    def frame(identity: int, height: int = 48, width: int = 64) -> Image:
        """A synthetic RGB frame showing ``identity`` (1..254; NO_FACE and BLURRY are special)."""
        image = np.zeros((height, width, 3), dtype=np.uint8)
        image[..., 0] = identity
        return image

    def embedding_of(self, identity: int) -> Embedding:
        """The noiseless embedding of an identity: a fixed random unit vector."""
        rng = np.random.default_rng([self._seed, identity])
        return unit(rng.standard_normal(self._card.embedding_size).astype(np.float32))

    def analyse(self, image: Image) -> FrameAnalysis:
        """Read the painted identity and answer as a real pipeline would."""
        self.calls += 1
        identity = int(image[0, 0, 0])
        if identity == NO_FACE:
            return analysis(None, "no_face")
        if identity == BLURRY:
            return analysis(None, "too_blurry")
        jitter = self._rng.standard_normal(self._card.embedding_size).astype(np.float32)
        scale = np.float32(self._noise / np.sqrt(self._card.embedding_size))
        return analysis((self.embedding_of(identity) + scale * jitter).astype(np.float32))


class FileFrameSource:
    """A ``FrameSource`` replaying images or image files in order, paced like a camera.

    ``interval_s`` is the time between frames (0: as fast as read); ``loop`` replays forever.
    """

    def __init__(
        self,
        images: Sequence[Image | Path | str],
        loop: bool = False,
        interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._images = list(images)
        self._loop = loop
        self._interval_s = interval_s
        self._clock = clock
        self._position = 0
        self._count = 0
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed.is_set()

    def read(self) -> Frame | None:
        """The next frame, or None at the end (never, when looping) or once closed."""
        if self._count and self._closed.wait(self._interval_s):
            return None
        if self.closed or not self._images or (self._position >= len(self._images) and not self._loop):
            return None
        item = self._images[self._position % len(self._images)]
        self._position += 1
        image = item if isinstance(item, np.ndarray) else load_image(Path(item))
        frame = Frame(image=image, index=self._count, captured_at=self._clock())
        self._count += 1
        return frame

    def close(self) -> None:
        """Stop replaying; a paced ``read`` returns at once."""
        self._closed.set()


class ScriptedIdentifier:
    """Stands in for ``RecognitionWorker``: observations and enrolments are whatever the test says."""

    def __init__(self) -> None:
        self.sink: Callable[[Observation], None] | None = None
        self.enrolments: list[EnrolmentResult | BaseException] = []
        self.enrol_requests: list[int] = []
        self.templates: dict[str, tuple[Embedding, str]] = {}
        self.running = False

    def add_template(self, compartment_id: str, template: Embedding, subject_id: str = "") -> None:
        """Remember a compartment's template (tests inspect ``templates``)."""
        self.templates[compartment_id] = (template, subject_id)

    def remove_template(self, compartment_id: str) -> None:
        """Forget a compartment's template; unknown ids are ignored."""
        self.templates.pop(compartment_id, None)

    def start(self, sink: Callable[[Observation], None]) -> None:
        """Begin delivering observations to ``sink``."""
        self.sink = sink
        self.running = True

    def stop(self) -> None:
        """Stop delivering observations."""
        self.running = False

    def show(self, observation: Observation) -> None:
        """Deliver one observation now, as the worker would after a frame."""
        if self.sink is None or not self.running:
            raise RuntimeError("ScriptedIdentifier.show() before start()")
        self.sink(observation)

    def enrol(self, samples: int, timeout_s: float) -> Future[EnrolmentResult]:
        """Resolve with the next scripted enrolment result (or error)."""
        self.enrol_requests.append(samples)
        future: Future[EnrolmentResult] = Future()
        outcome = self.enrolments.pop(0) if self.enrolments else TimeoutError("no scripted enrolment")
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
        return future
