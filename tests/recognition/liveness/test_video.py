"""Liveness on real camera recordings (``data/video`` in the assets): still people, frozen feeds, screens."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition.errors import EvaluationInputError
from recognition.evaluation.clips import Cut, attempts_of, read_clip
from recognition.evaluation.liveness import evaluate
from recognition.liveness.monitor import LivenessMonitor
from recognition.liveness.passive import MiniFasScorer
from recognition.liveness.verdict import LivenessPolicy, LivenessVerdict
from recognition.pipeline.face import MtcnnPipeline, build_pipeline
from recognition.pipeline.quality import QualityConfig
from recognition.types import Image

CUT = Cut.of_window(5, 2.0, 10.0)  # the service's default window at the benchmark's 10 fps
STILL = "data/video/live_proctoring_1.mp4"  # one man looking at the centre for 10 s
SCREEN = "data/video/attack_screen_tranvanluyt_1.mp4"


@pytest.fixture(scope="module")
def pipeline(liveness_models_root: Path) -> MtcnnPipeline:
    return build_pipeline("dlib-resnet", min_face_size=40, quality=QualityConfig(min_face_px=40),
                          models_root=liveness_models_root)  # fmt: skip


@pytest.fixture(scope="module")
def monitor(scorer: MiniFasScorer) -> LivenessMonitor:
    return LivenessMonitor(scorer, LivenessPolicy(), window=CUT.frames)


def _judge(monitor: LivenessMonitor, pipeline: MtcnnPipeline, frames: list[Image]) -> LivenessVerdict:
    return monitor.judge_frames([(frame, pipeline.analyse(frame)) for frame in frames])


def _seconds(path: Path, to_s: float) -> list[Image]:
    return read_clip(path, CUT.fps)[: round(to_s * CUT.fps)]


def test_a_person_standing_still_passes(assets: Path, monitor: LivenessMonitor, pipeline: MtcnnPipeline) -> None:
    for frames in attempts_of(_seconds(assets / STILL, 1.5), CUT):
        verdict = _judge(monitor, pipeline, frames)
        assert (verdict.live, verdict.reason) == (True, None), verdict


def test_burst_frames_of_one_person_pass(assets: Path, monitor: LivenessMonitor, pipeline: MtcnnPipeline) -> None:
    burst = read_clip(assets / STILL, 1000.0)[10:13]  # three frames 40 ms apart: a camera's burst
    verdict = _judge(monitor, pipeline, burst)
    assert (verdict.live, verdict.reason) == (True, None), verdict


def test_a_frozen_feed_is_a_replay(assets: Path, monitor: LivenessMonitor, pipeline: MtcnnPipeline) -> None:
    frame = _seconds(assets / STILL, 0.1)[0]
    assert _judge(monitor, pipeline, [frame] * CUT.frames).reason == "replay"
    assert _judge(monitor, pipeline, [frame] * 3).reason == "replay"


def _write(path: Path, frames: list[Image], fps: float) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_screen_clip_figures_are_reported_with_counts_and_bounds(
    assets: Path, tmp_path: Path, monitor: LivenessMonitor, pipeline: MtcnnPipeline, scorer: MiniFasScorer
) -> None:
    (tmp_path / "live").mkdir()
    (tmp_path / "attacks" / "screen").mkdir(parents=True)
    _write(tmp_path / "live" / "still.mp4", _seconds(assets / STILL, 1.0), CUT.fps)
    _write(tmp_path / "live" / "empty.mp4", [np.full((240, 320, 3), 90, np.uint8)] * 10, CUT.fps)
    _write(tmp_path / "attacks" / "screen" / "screen.mp4", _seconds(assets / SCREEN, 1.0), CUT.fps)
    policy = LivenessPolicy()

    def judge(frames: list[Image]) -> LivenessVerdict | None:
        analyses = [pipeline.analyse(frame) for frame in frames]
        return monitor.judge_frames(list(zip(frames, analyses, strict=True))) if any(a.samples for a in analyses) \
            else None  # fmt: skip

    report = evaluate(tmp_path / "live", tmp_path / "attacks", judge, policy, lambda image: None, CUT)
    assert report["attempts"] == {"live": 2, "screen": 2}
    assert report["no_face"] == {"live": 2, "screen": 0}
    assert report["cut"] == {"frames": 5, "stride": 5, "fps": 10.0}
    assert 0 < report["apcer_upper_95_by_type"]["screen"] <= 1  # type: ignore[index]
    assert report["clips"]["screen"]["screen.mp4"]["attempts"] == 2  # type: ignore[index]
    # The still man's two windows are two accepted transactions; the empty clip's windows decide nothing.
    assert report["clips"]["live"]["empty.mp4"]["outcomes"] == ["no_face", "no_face"]  # type: ignore[index]
    assert report["transactions"]["live"] == {  # type: ignore[index]
        "transactions": 2, "accepted": 2, "refused": 0, "open": 0, "rate": 0.0,
        "upper_95": report["transactions"]["live"]["upper_95"],  # type: ignore[index]
    }  # fmt: skip
    assert report["judged"]["live"]["non_responses"] == 2  # type: ignore[index]


def test_a_zero_length_video_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "broken.mp4").write_bytes(b"")
    with pytest.raises(EvaluationInputError, match="broken.mp4"):
        read_clip(tmp_path / "broken.mp4", 10.0)


def test_the_dim_office_clip_passes_the_quality_gates(assets: Path, pipeline: MtcnnPipeline) -> None:
    frames = _seconds(assets / "data/video/live_lestari15_1.mp4", 1.0)[::3]
    analyses = [pipeline.analyse(frame) for frame in frames]
    assert [a.rejection for a in analyses] == [None] * len(frames)
    dark = (frames[0] // 8).astype(np.uint8)  # a truly dark frame stays refused
    assert pipeline.analyse(dark).primary is None
