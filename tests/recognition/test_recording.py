"""Reading a stretch of a recording as timed frames: real clips (rotated, variable rate), folders, bad files."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition.camera import CameraError
from recognition.recording import read_segment


@pytest.fixture
def video(assets: Path) -> Path:
    """The real recordings (data/video in the assets)."""
    return assets / "data" / "video"


def write_clip(path: Path, frames: int, size: tuple[int, int], fps: float = 10.0) -> Path:
    """A clip of flat grey frames (no face) written with OpenCV."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    for i in range(frames):
        writer.write(np.full((height, width, 3), 60 + i, np.uint8))
    writer.release()
    return path


def test_segment_at_a_lower_rate_keeps_the_recordings_times(video: Path) -> None:
    frames = read_segment(video / "live_grid_1.mpg", 1.0, 2.0, 5)  # 25 fps studio clip
    assert len(frames) == 5
    assert [round(f.at_s, 2) for f in frames] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert frames[0].image.shape == (288, 360, 3) and frames[0].image.dtype == np.uint8


def test_default_rate_is_the_files_own(video: Path) -> None:
    assert len(read_segment(video / "live_grid_1.mpg", 0.0, 1.0)) == 25


def test_variable_frame_rate_follows_the_timestamps(video: Path) -> None:
    frames = read_segment(video / "live_krzysiek_1.webm", 0.0, 2.0, 10)  # VFR, ~16 fps on average
    times = [f.at_s for f in frames]
    assert times == sorted(times) and times[-1] < 2.0
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.05 and 10 <= len(frames) <= 20  # one frame per tick, none twice
    # The browser's recorder left a quarter-second hole after the fourth frame: times are the file's, not i / fps.
    assert [round(f.at_s, 3) for f in read_segment(video / "live_krzysiek_1.webm", 0.0, 0.5)] == [
        0.0, 0.067, 0.125, 0.192, 0.439
    ]


def test_rotated_phone_recording_comes_upright(video: Path) -> None:
    (frame,) = read_segment(video / "live_proctoring_1.mp4", 0.0, 0.1, 10)
    assert frame.image.shape == (848, 480, 3)  # stored 848x480 with a -90 degree display matrix


def test_folder_of_frames_plays_at_fps(tmp_path: Path, video: Path) -> None:
    for i, frame in enumerate(read_segment(video / "live_grid_2.mpg", 0.0, 0.4)):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), frame.image)
    frames = read_segment(tmp_path, 0.0, math.inf)
    assert [round(f.at_s, 2) for f in frames] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert len(read_segment(tmp_path, 0.2, 0.6, fps=5)) == 2  # at 5 fps: frames at 0.2 and 0.4 s


def test_4k_frames_come_whole(tmp_path: Path) -> None:
    frames = read_segment(write_clip(tmp_path / "uhd.avi", 3, (3840, 2160)), 0.0, 1.0)
    assert [f.image.shape for f in frames] == [(2160, 3840, 3)] * 3


def test_empty_video_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(CameraError, match=r"empty.mp4: the video file is empty \(0 bytes\)"):
        read_segment(tmp_path / "empty.mp4")


def test_corrupt_video_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, np.uint8).tobytes())
    with pytest.raises(CameraError, match=r"noise.mp4: (not a video OpenCV can decode|the video has no decodable)"):
        read_segment(tmp_path / "noise.mp4")


def test_truncated_video_gives_what_it_holds_or_a_clear_error(tmp_path: Path, video: Path) -> None:
    source = video / "live_zubair_1.webm"
    whole = len(read_segment(source, 0.0, 3.0))
    cut = tmp_path / "cut.webm"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 10])
    try:
        frames = read_segment(cut, 0.0, 3.0)
    except CameraError as exc:
        assert "cut.webm" in str(exc)
    else:
        assert 0 < len(frames) < whole


def test_segment_past_the_end_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match=r"no frame between 5.0 s and 6.0 s of the recording"):
        read_segment(write_clip(tmp_path / "short.avi", 10, (64, 48)), 5.0, 6.0)


def test_missing_file_and_bad_segment_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="no such video file"):
        read_segment(tmp_path / "nothing.mp4")
    with pytest.raises(CameraError, match=r"ends \(1.0 s\) before it starts \(2.0 s\)"):
        read_segment(tmp_path, 2.0, 1.0)
    with pytest.raises(CameraError, match="fps must be > 0"):
        read_segment(tmp_path, 0.0, 1.0, 0)


def test_long_segments_are_refused(tmp_path: Path) -> None:
    for i in range(601):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(CameraError, match="more than 600 frames in one segment"):
        read_segment(tmp_path)
