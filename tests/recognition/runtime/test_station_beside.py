"""The station starts the liveness cue of the primary face while the pipeline embeds it: same cues, sooner."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from recognition.fakes import FileFrameSource
from recognition.gallery import Gallery
from recognition.liveness.attempt import build_monitor
from recognition.liveness.monitor import LivenessMonitor
from recognition.liveness.verdict import LivenessPolicy
from recognition.pipeline.face import MtcnnPipeline
from recognition.recording import timed_frames
from recognition.runtime.station import FaceStation
from recognition.runtime.worker import RecognitionWorker
from recognition.settings import RecognitionSettings
from recognition.types import Face, Image
from storage.templates import SqliteTemplateStore, generate_master_key, parse_master_key
from tests.conftest import missing_asset
from tests.support.observations import Observations
from tests.support.waiting import wait_until

CLIP = "live_proctoring_1.mp4"


@pytest.fixture(scope="module")
def frames(assets: Path) -> list[Image]:
    """Frames of a real webcam (one still person), 5 per second over 1.2 s."""
    path = assets / "data" / "video" / CLIP
    if not path.is_file():
        missing_asset(f"{path} not found")
    return [frame.image for frame in timed_frames(path, 1.0, 2.2, fps=5)]


def _station(pipeline: MtcnnPipeline, monitor: LivenessMonitor, folder: Path) -> FaceStation:
    vault = SqliteTemplateStore(folder / "templates.db", parse_master_key(generate_master_key()))
    settings = RecognitionSettings(min_face_size=40, min_face_px=40)
    station = FaceStation(pipeline, vault, settings.agreement(pipeline.card), liveness=monitor)
    station.gallery.add("1", np.zeros(pipeline.card.embedding_size, dtype=np.float32), "nobody")
    return station


@dataclass
class Noted:
    """Per frame: whether its cue was under way when its embedding began; the threads that scored."""

    started_before: list[bool] = field(default_factory=list)
    score_threads: list[str] = field(default_factory=list)


def _noting(monitor: LivenessMonitor, pipeline: MtcnnPipeline, monkeypatch: pytest.MonkeyPatch) -> Noted:
    assert monitor.scorer is not None
    noted = Noted()
    score, embed = monitor.scorer.score, pipeline.embedder.embed

    def noting_score(image: Image, face: Face) -> float:
        noted.score_threads.append(threading.current_thread().name)
        return score(image, face)

    def noting_embed(image: Image, faces: list[Face]) -> list[np.ndarray]:
        noted.started_before.append(monitor._pending is not None and monitor._pending[0] is faces[0])
        return embed(image, faces)

    monkeypatch.setattr(monitor.scorer, "score", noting_score)
    monkeypatch.setattr(pipeline.embedder, "embed", noting_embed)
    return noted


def test_the_cue_runs_beside_the_embedding_and_is_the_same(
    pipeline: MtcnnPipeline,
    liveness_models_root: Path,
    frames: list[Image],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each frame's passive score starts on the monitor's thread before the embedding ends; cues are unchanged."""
    monitor = build_monitor(LivenessPolicy(), 8, float("inf"), root=liveness_models_root)
    station = _station(pipeline, monitor, tmp_path)
    noted = _noting(monitor, pipeline, monkeypatch)
    for i, image in enumerate(frames):
        station.match(image, i * 0.2)
    cues = [cue for _, cue in monitor._cues]
    assert len(cues) == len(frames) == 6  # every frame had a usable face, and one cue each
    assert noted.started_before == [True] * 6  # each frame's cue was under way when its embedding began
    assert len(noted.score_threads) == 6  # once per frame, on the monitor's thread
    assert all(name.startswith("liveness-cue") for name in noted.score_threads)
    for image, cue in zip(frames, cues, strict=True):  # the same cue as computed on the caller's thread
        alone = monitor._cue(image, pipeline.analyse(image))
        assert alone is not None
        assert cue.passive == alone.passive
        assert np.array_equal(cue.picture, alone.picture)
        assert np.array_equal(cue.probe, alone.probe)


def test_without_the_station_the_cue_is_computed_in_place(
    pipeline: MtcnnPipeline, liveness_models_root: Path, frames: list[Image]
) -> None:
    """A caller that does not start the cue (enrolment, evaluation) gets it computed on its own thread."""
    monitor = build_monitor(LivenessPolicy(), 8, float("inf"), root=liveness_models_root)
    verdict = monitor.judge_frames([(image, pipeline.analyse(image)) for image in frames])
    assert verdict.frames == len(frames)
    assert monitor._pool is None  # no thread was started


def test_the_camera_worker_starts_the_cue_beside_the_embedding(
    pipeline: MtcnnPipeline, liveness_models_root: Path, frames: list[Image], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live daemon's worker overlaps them too: every frame it identifies had its cue under way first."""
    monitor = build_monitor(LivenessPolicy(), 8, float("inf"), root=liveness_models_root)
    gallery = Gallery(pipeline.card.embedding_size, pipeline.card.metric)
    gallery.add("1", np.zeros(pipeline.card.embedding_size, dtype=np.float32), "nobody")
    policy = RecognitionSettings(min_face_size=40, min_face_px=40).agreement(pipeline.card)
    noted = _noting(monitor, pipeline, monkeypatch)
    source = FileFrameSource(frames, loop=True, interval_s=0.2)  # a camera keeps only the latest frame: pace it
    worker = RecognitionWorker(source, pipeline, gallery, policy, liveness=monitor)
    seen = Observations()
    worker.start(seen)
    wait_until(lambda: len(seen.matches()) >= 4, 60, interval=0.05)
    worker.stop()
    assert len(noted.started_before) >= 4 and all(noted.started_before)
    assert len(noted.score_threads) >= 4
    assert all(name.startswith("liveness-cue") for name in noted.score_threads)
