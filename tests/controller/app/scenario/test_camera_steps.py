"""The ``camera:`` form of the ``deposit`` and ``show`` steps: one clear error per bad step, at load time."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from controller.app.scenario.file import camera_spec
from controller.app.scenario.runner import ScenarioError, ScenarioRun, load_scenario


def write(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(f"steps:\n{steps}", encoding="utf-8")
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A short video next to the scenario file (two seconds of grey at 10 fps)."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(20):
        writer.write(np.full((48, 64, 3), 10 * i, np.uint8))  # frame i is grey 10 * i
    writer.release()
    return path


INVALID = [
    ("  - show: {camera: {file: clip.avi, speed: 2}}\n", r"^step 0 \(show\): camera: unknown keys speed \(known:"),
    ("  - deposit: {camera: {file: clip.avi, from_s: 3, to_s: 3}}\n", r"^step 0 \(deposit\): camera: expected 0 <= "),
    ("  - show: {camera: {file: clip.avi, from_s: -1}}\n", r"^step 0 \(show\): camera: expected 0 <= from_s"),
    ("  - show: {camera: {file: clip.avi, fps: 0}}\n", r"^step 0 \(show\): camera: fps must be > 0, got 0"),
    ("  - show: {camera: {file: clip.avi, fps: ten}}\n", r"^step 0 \(show\): camera: fps must be a number"),
    ("  - show: {camera: {file: missing.mp4}}\n", r"^step 0 \(show\): camera: recording missing.mp4 not found at"),
    ("  - show: {camera: {from_s: 1}}\n", r"^step 0 \(show\): camera: file must be a path, got None"),
    ("  - show: {camera: clip.avi}\n", r"^step 0 \(show\): expected a list of image paths or \{camera:"),
    ("  - deposit: {video: clip.avi}\n", r"^step 0 \(deposit\): expected a list of image paths or \{camera:"),
]


@pytest.mark.parametrize(("steps", "message"), INVALID, ids=[f"invalid-{i}" for i in range(len(INVALID))])
def test_bad_camera_step_gives_one_clear_error(tmp_path: Path, clip: Path, steps: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as caught:
        load_scenario(write(tmp_path, steps))
    assert "\n" not in str(caught.value)


def test_camera_step_is_resolved_relative_to_the_scenario(tmp_path: Path, clip: Path) -> None:
    scenario = load_scenario(write(tmp_path, "  - show: {camera: {file: clip.avi, from_s: 0.5, to_s: 1, fps: 5}}\n"))
    spec = camera_spec(scenario, scenario.steps[0])
    assert spec is not None
    assert (spec.path, spec.from_s, spec.to_s, spec.fps) == (clip.resolve(), 0.5, 1.0, 5.0)


def test_assets_reference_and_defaults(tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKERS_ASSETS", str(tmp_path))
    scenario = load_scenario(write(tmp_path, '  - deposit: {camera: {file: "${LOCKERS_ASSETS}/clip.avi"}}\n'))
    spec = camera_spec(scenario, scenario.steps[0])
    assert spec is not None and spec.path == clip.resolve()
    assert (spec.from_s, spec.to_s, spec.fps) == (0.0, float("inf"), None)


def test_image_lists_are_unchanged(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    scenario = load_scenario(write(tmp_path, "  - show: [a.jpg]\n"))
    assert camera_spec(scenario, scenario.steps[0]) is None
    assert scenario.steps[0].arg == ["a.jpg"]


def test_runner_plays_the_segment_at_its_pace(tmp_path: Path, clip: Path) -> None:
    scenario = load_scenario(write(tmp_path, "  - show: {camera: {file: clip.avi, from_s: 0.5, to_s: 1.5, fps: 5}}\n"))

    def no_station(*_: object) -> object:
        raise AssertionError("reading frames needs no station")

    run = ScenarioRun(scenario, tmp_path, no_station)  # type: ignore[arg-type]
    frames = run._frames(scenario.steps[0])
    assert [round(gap, 3) for gap, _ in frames] == [0.2] * 5  # 5 fps on the scenario's clock
    assert [round(float(image.mean()), -1) for _, image in frames] == [50, 70, 90, 110, 130]  # frames 5, 7, ... 13
