"""A camera that goes silent or ends: every enrolment gets an answer, none stays pending for ever."""

from __future__ import annotations

import threading

import pytest

from recognition.camera import Frame
from recognition.fakes import FakeFacePipeline, FileFrameSource
from recognition.gallery import Gallery
from recognition.pipeline.agreement import AgreementPolicy
from recognition.pipeline.enrolment import NoCameraFrames
from recognition.runtime.worker import RecognitionWorker
from tests.support.observations import Observations
from tests.support.waiting import wait_until

POLICY = AgreementPolicy(threshold=0.5, margin=0.1, frames_required=3, frames_window=5, window_s=2.0)


class SilentCamera:
    """A connected camera that never delivers a frame: ``read`` blocks until ``close``."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def read(self) -> Frame | None:
        self.closed.wait()
        return None

    def close(self) -> None:
        self.closed.set()


def test_a_silent_camera_ends_each_enrolment_at_its_deadline_and_the_next_one_is_not_blocked() -> None:
    worker = RecognitionWorker(SilentCamera(), FakeFacePipeline(), Gallery(32), POLICY)
    worker.start(Observations())
    try:
        for _ in range(2):  # the second is a new enrolment, not "an enrolment is already in progress"
            with pytest.raises(NoCameraFrames, match="enrolment timed out: no frame from the camera in 0 s"):
                worker.enrol(samples=3, timeout_s=0.3).result(timeout=30)
    finally:
        worker.stop()


def test_a_camera_that_ended_refuses_an_enrolment_at_once() -> None:
    pipeline = FakeFacePipeline()
    worker = RecognitionWorker(FileFrameSource([pipeline.frame(7)], interval_s=0.01), pipeline, Gallery(32), POLICY)
    worker.start(Observations())
    worker.join(timeout=30)
    for _ in range(2):
        with pytest.raises(NoCameraFrames, match="recognition has stopped"):
            worker.enrol(samples=3, timeout_s=3600).result(timeout=5)
    worker.stop()


def test_a_deposit_that_stops_waiting_leaves_the_worker_running() -> None:
    worker = RecognitionWorker(SilentCamera(), FakeFacePipeline(), Gallery(32), POLICY)
    worker.start(Observations())
    try:
        abandoned = worker.enrol(samples=3, timeout_s=0.3)
        assert abandoned.cancel()  # what asyncio does to the future when the deposit's request is cancelled
        wait_until(lambda: worker.enrol(3, 0.3).exception(timeout=30) is not None, 30, "no enrolment after a cancel")
        assert worker.error is None
    finally:
        worker.stop()


def test_ending_an_enrolment_answers_it_now() -> None:
    worker = RecognitionWorker(SilentCamera(), FakeFacePipeline(), Gallery(32), POLICY)
    worker.start(Observations())
    try:
        pending = worker.enrol(samples=3, timeout_s=3600)
        worker.end_enrolment("the controller is stopping")
        with pytest.raises(NoCameraFrames, match="the controller is stopping: no frame from the camera"):
            pending.result(timeout=5)
    finally:
        worker.stop()
