"""The worker end to end with the fake pipeline: camera thread -> analysis -> gallery -> agreement -> sink."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from controller.ports import FaceMatch
from recognition.errors import ImageError
from recognition.fakes import BLURRY, NO_FACE, FakeFacePipeline, FileFrameSource, ScriptedIdentifier
from recognition.gallery import Gallery
from recognition.pipeline.agreement import AgreementPolicy
from recognition.pipeline.enrolment import EnrolmentError
from recognition.runtime.worker import (
    ANALYSIS_FAILED,
    NO_TEMPLATES,
    FaceRejected,
    Identifier,
    Observation,
    RecognitionWorker,
    asyncio_sink,
)
from recognition.types import FrameAnalysis
from tests.support.observations import Observations

POLICY = AgreementPolicy(threshold=0.5, margin=0.1, frames_required=3, frames_window=5, window_s=2.0)
DEPOSITOR, OTHER, STRANGER = 7, 9, 11


def run(
    identities: list[int], enrolled: tuple[int, ...] = (DEPOSITOR, OTHER)
) -> tuple[Observations, RecognitionWorker]:
    pipeline = FakeFacePipeline()
    source = FileFrameSource([pipeline.frame(i) for i in identities], interval_s=0.02)
    worker = RecognitionWorker(source, pipeline, Gallery(32), POLICY)
    for identity in enrolled:
        worker.add_template(f"C{identity}", pipeline.embedding_of(identity), subject_id=f"subject-{identity}")
    recorder = Observations()
    worker.start(recorder)
    worker.join(timeout=30)
    worker.stop()
    assert worker.error is None
    return recorder, worker


def test_depositor_is_identified_after_k_agreeing_frames() -> None:
    recorder, worker = run([DEPOSITOR] * 6)
    accepted = [m for m in recorder.matches() if m.accepted]
    assert accepted, recorder.seen
    first = accepted[0]
    assert (first.compartment_id, first.evidence.subject_id) == (f"C{DEPOSITOR}", f"subject-{DEPOSITOR}")
    evidence = first.evidence
    assert evidence.frames_agreeing >= 3 and evidence.distance < 0.1 and evidence.runner_up_distance is not None
    assert first.evidence.model_version == FakeFacePipeline().card.model_version
    assert worker.latency.summary()["frames"] >= 5


def test_stranger_is_rejected() -> None:
    recorder, _ = run([STRANGER] * 8)
    assert recorder.matches()
    assert all(not m.accepted and m.compartment_id is None for m in recorder.matches())


def test_no_face_and_quality_rejections_are_reported_on_change() -> None:
    recorder, _ = run([NO_FACE] * 4 + [BLURRY] * 3 + [NO_FACE] * 2)
    assert recorder.rejections() == ["no_face", "too_blurry", "no_face"]


def test_no_templates() -> None:
    recorder, _ = run([DEPOSITOR] * 3, enrolled=())
    assert recorder.rejections() == [NO_TEMPLATES]


def test_released_compartment_is_no_longer_identified() -> None:
    pipeline = FakeFacePipeline()
    frames = [pipeline.frame(DEPOSITOR)] * 8 + [pipeline.frame(OTHER)] * 8
    worker: Identifier = RecognitionWorker(FileFrameSource(frames, interval_s=0.02), pipeline, Gallery(32), POLICY)
    assert isinstance(worker, RecognitionWorker)
    for identity in (DEPOSITOR, OTHER):
        worker.add_template(f"C{identity}", pipeline.embedding_of(identity), subject_id=f"subject-{identity}")
    worker.remove_template(f"C{DEPOSITOR}")
    recorder = Observations()
    worker.start(recorder)
    worker.join(timeout=30)
    worker.stop()
    assert worker.error is None
    accepted = {m.compartment_id for m in recorder.matches() if m.accepted}
    assert accepted == {f"C{OTHER}"}, recorder.seen  # the kept one still opens: the worker did run
    assert all(m.compartment_id != f"C{DEPOSITOR}" for m in recorder.matches())


def test_enrolment_captures_good_frames_into_a_template() -> None:
    pipeline = FakeFacePipeline()
    frames = [pipeline.frame(i) for i in (NO_FACE, DEPOSITOR, BLURRY, DEPOSITOR, DEPOSITOR, DEPOSITOR)]
    worker = RecognitionWorker(FileFrameSource(frames, interval_s=0.02), pipeline, Gallery(32), POLICY)
    future = worker.enrol(samples=3, timeout_s=10)
    recorder = Observations()
    worker.start(recorder)
    result = future.result(timeout=10)
    worker.stop()
    assert np.linalg.norm(result.template - pipeline.embedding_of(DEPOSITOR)) < 0.05
    assert len(result.used) == 3
    assert {r.reason for r in result.rejections} <= {"no_face", "too_blurry"}


def test_enrolment_times_out_with_reasons() -> None:
    pipeline = FakeFacePipeline()
    source = FileFrameSource([pipeline.frame(NO_FACE)], loop=True, interval_s=0.02)
    worker = RecognitionWorker(source, pipeline, Gallery(32), POLICY)
    future = worker.enrol(samples=3, timeout_s=0.3)
    worker.start(Observations())
    with pytest.raises(EnrolmentError, match="timed out") as info:
        future.result(timeout=10)
    worker.stop()
    assert info.value.rejections and {r.reason for r in info.value.rejections} == {"no_face"}


def test_only_one_enrolment_at_a_time() -> None:
    pipeline = FakeFacePipeline()
    worker = RecognitionWorker(FileFrameSource([]), pipeline, Gallery(32), POLICY)
    worker.enrol(3, 10)
    with pytest.raises(EnrolmentError, match="already in progress"):
        worker.enrol(3, 10).result(timeout=1)


def test_observations_reach_an_asyncio_queue() -> None:
    async def scenario() -> list[Observation]:
        queue: asyncio.Queue[Observation] = asyncio.Queue()
        pipeline = FakeFacePipeline()
        source = FileFrameSource([pipeline.frame(DEPOSITOR)], loop=True, interval_s=0.02)
        worker = RecognitionWorker(source, pipeline, Gallery(32), POLICY)
        worker.add_template("C1", pipeline.embedding_of(DEPOSITOR))
        worker.start(asyncio_sink(asyncio.get_running_loop(), queue))
        seen: list[Observation] = []
        while not any(isinstance(o, FaceMatch) and o.accepted for o in seen):
            seen.append(await asyncio.wait_for(queue.get(), timeout=10))
        await asyncio.to_thread(worker.stop)
        return seen

    seen = asyncio.run(scenario())
    assert isinstance(seen[-1], FaceMatch) and seen[-1].compartment_id == "C1"


def test_scripted_identifier_delivers_what_it_is_told() -> None:
    identifier = ScriptedIdentifier()
    port: Identifier = identifier
    port.add_template("C1", np.zeros(32, np.float32))
    port.remove_template("C1")
    port.remove_template("C1")
    assert identifier.templates == {}
    recorder = Observations()
    identifier.start(recorder)
    identifier.show(FaceRejected("no_face", 0, 0.0))
    assert recorder.rejections() == ["no_face"]
    with pytest.raises(TimeoutError):
        identifier.enrol(3, 1.0).result(timeout=1)


class BrokenPipeline(FakeFacePipeline):
    def analyse(self, image: np.ndarray) -> FrameAnalysis:
        if int(image[0, 0, 0]) == 13:
            raise ImageError("unusable frame")
        return super().analyse(image)


def test_a_bad_frame_is_reported_and_the_worker_goes_on() -> None:
    pipeline = BrokenPipeline()
    frames = [pipeline.frame(i) for i in (13, DEPOSITOR, DEPOSITOR, DEPOSITOR, DEPOSITOR)]
    worker = RecognitionWorker(FileFrameSource(frames, interval_s=0.02), pipeline, Gallery(32), POLICY)
    worker.add_template("C1", pipeline.embedding_of(DEPOSITOR))
    recorder = Observations()
    worker.start(recorder)
    worker.join(timeout=30)
    worker.stop()
    assert recorder.rejections() == [ANALYSIS_FAILED]
    assert isinstance(worker.last_frame_error, ImageError) and worker.error is None
    assert any(m.accepted for m in recorder.matches())


def test_enrolment_ignores_frames_captured_before_the_request() -> None:
    pipeline = FakeFacePipeline()
    stale = FileFrameSource([pipeline.frame(DEPOSITOR)], loop=True, interval_s=0.02, clock=lambda: 0.0)
    worker = RecognitionWorker(stale, pipeline, Gallery(32), POLICY)
    future = worker.enrol(samples=3, timeout_s=0.3)
    worker.start(Observations())
    with pytest.raises(EnrolmentError, match="only 0 of 0"):
        future.result(timeout=10)
    worker.stop()


def test_a_look_back_enrols_from_frames_analysed_just_before_the_request() -> None:
    pipeline = FakeFacePipeline()
    frames = [pipeline.frame(i) for i in (DEPOSITOR, NO_FACE, DEPOSITOR, DEPOSITOR)]
    worker = RecognitionWorker(FileFrameSource(frames, interval_s=0.02), pipeline, Gallery(32), POLICY)
    worker.start(Observations())
    worker.join(timeout=30)  # every frame analysed (and identified) before the request
    assert worker.processed_index == len(frames) - 1
    result = worker.enrol(samples=3, timeout_s=10, lookback_s=60.0).result(timeout=10)
    assert len(result.used) == 3
    assert np.linalg.norm(result.template - pipeline.embedding_of(DEPOSITOR)) < 0.05
    late = worker.enrol(samples=3, timeout_s=10, lookback_s=0.0)  # the same frames are too old for this one
    worker.stop()
    with pytest.raises(EnrolmentError):
        late.result(timeout=10)
