"""The recognition worker: its own thread turns camera frames into observations for the controller.

Per frame: ``FacePipeline.analyse`` -> ``Gallery.search`` -> ``FrameAgreement.observe`` -> a
``FaceMatch`` (every frame with a usable face) or a ``FaceRejected`` (no face, quality rejected,
no templates: sent when the reason changes, not for every empty frame). Observations go to a sink
that must be thread-safe: ``asyncio_sink`` hands them to an asyncio queue on the controller's loop.
While an enrolment is pending, good frames feed it instead of identification.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from controller.ports import FaceMatch
from recognition.camera import Frame, FrameGrabber, FrameSource, LatestFrameBuffer
from recognition.errors import RecognitionError
from recognition.gallery import Gallery
from recognition.liveness.attempt import LiveAgreement
from recognition.liveness.monitor import LivenessMonitor
from recognition.pipeline.agreement import AgreementPolicy, FrameAgreement
from recognition.pipeline.beside import beside_embedding
from recognition.pipeline.enrolment import (
    AlreadyEnrolled,
    EnrolmentError,
    EnrolmentPolicy,
    EnrolmentResult,
    NoCameraFrames,
)
from recognition.types import Embedding, FacePipeline, FrameAnalysis, Image

NO_TEMPLATES = "no_templates"
"""Rejection reason: a face was seen but no compartment is occupied."""

ANALYSIS_FAILED = "analysis_failed"
"""Rejection reason: the pipeline refused the frame (a corrupt or unusable image); the worker goes on."""

RECENT_FRAMES = 8
"""How many analysed frames an enrolment with a look-back may reach back to."""


@dataclass(frozen=True, slots=True)
class FaceRejected:
    """Observation: a frame gave no identification (``reason`` is machine-readable, e.g. ``no_face``)."""

    reason: str
    frame_index: int
    captured_at: float


Observation = FaceMatch | FaceRejected
Sink = Callable[[Observation], None]


class Identifier(Protocol):
    """What the service drives: ``RecognitionWorker`` for real, ``fakes.ScriptedIdentifier`` in tests."""

    def start(self, sink: Sink) -> None:
        """Begin reporting observations to ``sink``."""
        ...

    def stop(self) -> None:
        """Stop reporting."""
        ...

    def enrol(self, samples: int, timeout_s: float) -> Future[EnrolmentResult]:
        """Capture good frames into a template."""
        ...

    def add_template(self, compartment_id: str, template: Embedding, subject_id: str = "") -> None:
        """Identify against this compartment from now on."""
        ...

    def remove_template(self, compartment_id: str) -> None:
        """Stop identifying against this compartment."""
        ...


def asyncio_sink(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Observation]) -> Sink:
    """A sink, callable from any thread, that puts observations on ``queue`` in ``loop``."""

    def sink(observation: Observation) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, observation)

    return sink


@dataclass
class LatencyStats:
    """Rolling latencies (ms) of the last ``window`` frames: analysis, and capture-to-observation."""

    window: int = 1000
    analyse_ms: deque[float] = field(default_factory=deque)
    total_ms: deque[float] = field(default_factory=deque)
    frames: int = 0

    def record(self, analyse_ms: float, total_ms: float) -> None:
        """Add one frame's timings."""
        for series, value in ((self.analyse_ms, analyse_ms), (self.total_ms, total_ms)):
            series.append(value)
            if len(series) > self.window:
                series.popleft()
        self.frames += 1

    def summary(self) -> dict[str, float]:
        """p50 and p95 of each series, and the frame count."""
        result: dict[str, float] = {"frames": float(self.frames)}
        for name, series in (("analyse", self.analyse_ms), ("total", self.total_ms)):
            if series:
                result[f"{name}_ms_p50"] = float(np.percentile(series, 50))
                result[f"{name}_ms_p95"] = float(np.percentile(series, 95))
        return result


@dataclass
class _Enrolment:
    samples: int
    requested_at: float
    deadline: float
    future: Future[EnrolmentResult]
    analyses: list[FrameAnalysis] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    frames: int = 0  # every frame offered while pending, used or not: none at all means a silent camera
    asked_at: float = 0.0

    @property
    def good(self) -> int:
        return sum(1 for a in self.analyses if a.primary is not None and a.primary.embedding is not None)


class RecognitionWorker:
    """Reads a frame source, identifies faces against the gallery and reports to a sink, in one thread."""

    def __init__(
        self,
        source: FrameSource,
        pipeline: FacePipeline,
        gallery: Gallery,
        policy: AgreementPolicy,
        enrolment_policy: EnrolmentPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        liveness: LivenessMonitor | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.gallery = gallery
        self.agreement = FrameAgreement(policy, pipeline.card.model_version, pipeline.card.default_threshold)
        self.attempts = LiveAgreement(self.agreement, liveness or LivenessMonitor.off())
        self.enrolment_policy = enrolment_policy or EnrolmentPolicy.for_card(pipeline.card)
        self.latency = LatencyStats()
        self.error: BaseException | None = None
        self.last_frame_error: RecognitionError | None = None
        self._buffer = LatestFrameBuffer()
        self._grabber = FrameGrabber(source, self._buffer)
        self._clock = clock
        self._sink: Sink | None = None
        self._stop = threading.Event()
        self._gallery_changed = threading.Event()
        self._enrolment: _Enrolment | None = None
        self._enrolment_lock = threading.Lock()
        self._ended = False  # the worker thread is over: no frame will ever reach an enrolment again
        self._last_rejection: str | None = None
        self._recent: deque[tuple[float, Image, FrameAnalysis]] = deque(maxlen=RECENT_FRAMES)
        self.processed_index = -1
        self._thread = threading.Thread(target=self._run, name="recognition-worker", daemon=True)

    @property
    def grabber(self) -> FrameGrabber:
        """The camera side: when it started, when the last frame came, whether it ended and why."""
        return self._grabber

    @property
    def camera_error(self) -> BaseException | None:
        """Why the frame source ended early, if it did."""
        return self._grabber.error

    def start(self, sink: Sink) -> None:
        """Start the camera and the worker thread; observations go to ``sink``."""
        self._sink = sink
        self._grabber.start()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the camera and the worker; a pending enrolment finishes with what it has."""
        self._stop.set()
        self._grabber.stop(timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._finish_enrolment_early("recognition stopped")  # one asked for after the thread ended

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker to finish (at the end of a finite source)."""
        self._thread.join(timeout)

    def add_template(self, compartment_id: str, template: Embedding, subject_id: str = "") -> None:
        """A compartment became occupied: identify against its template from now on."""
        self.gallery.add(compartment_id, template, subject_id)
        self._gallery_changed.set()

    def remove_template(self, compartment_id: str) -> None:
        """A compartment was released: stop identifying against it."""
        self.gallery.remove(compartment_id)
        self._gallery_changed.set()

    def enrol(self, samples: int, timeout_s: float, lookback_s: float = 0.0) -> Future[EnrolmentResult]:
        """Build a template from the next ``samples`` good frames captured after this call.

        ``lookback_s`` also admits frames captured that long before the call (uploads in simulate mode,
        where a script's first frame may overtake its deposit request). At the deadline (or on ``stop``)
        the good frames so far are used if the enrolment policy's minimum is met; otherwise the future
        fails with ``EnrolmentError`` and every rejection (``NoCameraFrames`` when not one frame came, or
        at once when the worker has ended: no enrolment is left pending for ever).
        """
        future: Future[EnrolmentResult] = Future()
        with self._enrolment_lock:
            if self._enrolment is not None:
                future.set_exception(EnrolmentError("an enrolment is already in progress", ()))
                return future
            now = self._clock()
            pending = _Enrolment(samples, now - lookback_s, now + timeout_s, future, asked_at=now)
            recent = [(image, a) for at, image, a in self._recent if at >= pending.requested_at]
            pending.images = [image for image, _ in recent]  # liveness judges the same frames
            pending.analyses = [a for _, a in recent]
            pending.frames = len(recent)
            self._enrolment = pending
            ended = self._ended
        if pending.good >= samples:
            self._finish_enrolment_early("enrolment")
        elif ended:  # no frame will come: answer now with what the look-back gave
            self._finish_enrolment_early(f"recognition has stopped ({self._why_ended()})")
        return future

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self._buffer.get(timeout=0.1)
                self._expire_enrolment()
                if frame is not None:
                    self._process(frame)
                elif self._buffer.closed:
                    break
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            with self._enrolment_lock:
                self._ended = True
            self._finish_enrolment_early("recognition stopped")

    def _why_ended(self) -> str:
        reason = self.error or self.camera_error
        return str(reason) if reason is not None else "the camera's source ended or the controller is stopping"

    def _process(self, frame: Frame) -> None:
        started = self._clock()
        try:
            with beside_embedding(self.attempts.monitor.start):  # the liveness cue runs while the face is embedded
                analysis = self.pipeline.analyse(frame.image)
        except RecognitionError as exc:
            # One bad frame must not stop the camera: report it and carry on with the next.
            self.last_frame_error = exc
            self._reject(ANALYSIS_FAILED, frame)
            self.processed_index = frame.index
            return
        analysed = self._clock()
        if not self._feed_enrolment(frame, analysis):
            self._recent.append((frame.captured_at, frame.image, analysis))
            self._identify(frame, analysis)
        done = self._clock()
        self.latency.record((analysed - started) * 1000.0, (done - frame.captured_at) * 1000.0)
        self.processed_index = frame.index

    def _identify(self, frame: Frame, analysis: FrameAnalysis) -> None:
        if self._gallery_changed.is_set():
            self._gallery_changed.clear()
            self.attempts.reset()
        embedding = analysis.primary.embedding if analysis.primary is not None else None
        if embedding is None:
            self.attempts.observe_miss(frame.captured_at)
            self._reject(analysis.rejection or "no_face", frame)
            return
        search = self.gallery.search(embedding)
        match = self.attempts.observe(frame.image, analysis, search, frame.captured_at, embedding)
        if match is None:
            self._reject(NO_TEMPLATES, frame)
            return
        self._last_rejection = None
        self._emit(match)

    def _reject(self, reason: str, frame: Frame) -> None:
        if reason != self._last_rejection:
            self._last_rejection = reason
            self._emit(FaceRejected(reason, frame.index, frame.captured_at))

    def _emit(self, observation: Observation) -> None:
        if self._sink is not None:
            self._sink(observation)

    def _feed_enrolment(self, frame: Frame, analysis: FrameAnalysis) -> bool:
        """Give the frame to a pending enrolment; True when it was taken (and is not to be identified)."""
        with self._enrolment_lock:
            pending = self._enrolment
            if pending is None:
                return False
            pending.frames += 1
            if frame.captured_at < pending.requested_at:
                return True  # seen before the request: perhaps the previous person
            pending.analyses.append(analysis)
            pending.images.append(frame.image)
            if pending.good < pending.samples:
                return True
            self._enrolment = None
        self._answer(pending)
        return True

    def _template(self, pending: _Enrolment) -> EnrolmentResult:
        """The template of a finished enrolment: refused if the face already owns one, or if not judged live."""
        return self.attempts.enrolment_template(pending.images, pending.analyses, self.enrolment_policy, self.gallery)

    def _expire_enrolment(self) -> None:
        with self._enrolment_lock:
            pending = self._enrolment
            expired = pending is not None and self._clock() >= pending.deadline
        if expired:
            self._finish_enrolment_early("enrolment timed out")

    def end_enrolment(self, why: str, future: Future[EnrolmentResult] | None = None) -> None:
        """End the pending enrolment (only the one of ``future`` if given) now, with the good frames so far."""
        self._finish_enrolment_early(why, future)

    def _finish_enrolment_early(self, why: str, future: Future[EnrolmentResult] | None = None) -> None:
        """Out of time or stopping: the good frames so far still make a template if the policy allows."""
        with self._enrolment_lock:
            pending = self._enrolment
            if pending is None or (future is not None and pending.future is not future):
                return
            self._enrolment = None
        self._answer(pending, why)

    def _answer(self, pending: _Enrolment, why: str = "") -> None:
        """Settle an enrolment: its template, or why there is none (``why``: it ended before it was complete)."""
        outcome: EnrolmentResult | EnrolmentError
        try:
            if not pending.frames:
                raise NoCameraFrames(f"{why}: no frame from the camera in {self._clock() - pending.asked_at:.0f} s")
            outcome = self._template(pending)
        except (AlreadyEnrolled, NoCameraFrames) as exc:
            outcome = exc
        except EnrolmentError as exc:
            outcome = EnrolmentError(f"{why}: {exc.message}", exc.rejections) if why else exc
        # A deposit that stopped waiting (its request cancelled) cancelled the future: it needs no answer.
        with contextlib.suppress(InvalidStateError):
            if isinstance(outcome, EnrolmentError):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)
