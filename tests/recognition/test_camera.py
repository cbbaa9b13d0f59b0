"""Camera sources on real files written by OpenCV, reconnection, and the latest-frame-wins buffer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition.camera import (
    Backoff,
    CameraError,
    FolderFrameSource,
    Frame,
    FrameGrabber,
    LatestFrameBuffer,
    OpenCvFrameSource,
)
from recognition.types import Image
from tests.support.waiting import wait_until


def painted(value: int) -> np.ndarray:
    """A BGR image whose blue channel holds ``value`` (so RGB conversion is visible)."""
    image = np.zeros((48, 64, 3), np.uint8)
    image[..., 0] = value
    return image


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, value in (("b.png", 20), ("a.png", 10), ("c.bmp", 30)):
        assert cv2.imwrite(str(tmp_path / name), painted(value))
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    assert writer.isOpened()
    for value in (40, 80, 120, 160, 200):
        writer.write(painted(value))
    writer.release()
    return path


def blues(source: FolderFrameSource | OpenCvFrameSource, count: int) -> list[int]:
    values = []
    for _ in range(count):
        frame = source.read()
        if frame is None:
            break
        assert frame.image.dtype == np.uint8 and frame.image.shape == (48, 64, 3)
        values.append(int(frame.image[..., 2].mean()))  # OpenCV's blue is RGB's last channel
    return values


def test_folder_is_read_in_sorted_order_then_ends(folder: Path) -> None:
    source = FolderFrameSource(folder)
    assert blues(source, 10) == [10, 20, 30]


def test_folder_loops(folder: Path) -> None:
    assert blues(FolderFrameSource(folder, loop=True), 7) == [10, 20, 30, 10, 20, 30, 10]


def test_folder_frames_are_numbered_and_timed(folder: Path) -> None:
    ticks = iter([1.0, 2.0])
    source = FolderFrameSource(folder, clock=lambda: next(ticks))
    first, second = source.read(), source.read()
    assert first is not None and second is not None
    assert (first.index, first.captured_at, second.index, second.captured_at) == (0, 1.0, 1, 2.0)


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="not a folder with images"):
        FolderFrameSource(tmp_path)
    with pytest.raises(CameraError):
        FolderFrameSource(tmp_path / "missing")


def test_video_file_is_read_then_ends(video: Path) -> None:
    values = blues(OpenCvFrameSource(str(video)), 10)
    assert len(values) == 5
    assert values == pytest.approx([40, 80, 120, 160, 200], abs=6)  # MJPEG is lossy


def test_video_file_loops(video: Path) -> None:
    source = OpenCvFrameSource(str(video), loop=True)
    assert len(blues(source, 12)) == 12
    source.close()
    assert source.read() is None


def test_paced_video_plays_at_its_own_rate_and_loops(video: Path) -> None:
    source = OpenCvFrameSource(str(video), loop=True, paced=True)  # 5 frames at 10 fps
    started = time.monotonic()
    assert [round(v, -1) for v in blues(source, 7)] == [40, 80, 120, 160, 200, 40, 80]
    elapsed = time.monotonic() - started
    # 0.4 s for the first pass, one frame's gap, then 0.1 s into the second: never faster (a busy machine
    # may make it slower; the bound above only says it is not stuck).
    assert 0.55 <= elapsed < 30


def test_real_recording_is_paced_as_a_camera(assets: Path) -> None:
    source = OpenCvFrameSource(str(assets / "data" / "video" / "live_grid_1.mpg"), paced=True)  # 25 fps
    frames = [source.read() for _ in range(13)]
    times = [f.captured_at for f in frames if f is not None]
    assert len(times) == 13 and 0.45 <= times[-1] - times[0] < 1.0  # 12 frame gaps of 40 ms
    source.close()


def test_missing_video_file(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="no such video file"):
        OpenCvFrameSource(str(tmp_path / "nope.mp4"))


def test_spec_kinds() -> None:
    opener = FlakyCapture.opener([])
    assert OpenCvFrameSource("0", opener=opener).spec == 0
    assert OpenCvFrameSource("rtsp://cam/stream", opener=opener).live
    assert OpenCvFrameSource(2, opener=opener).live


class FlakyCapture:
    """A capture that opens or not, then yields a few frames and drops (a camera losing its link)."""

    def __init__(self, opens: bool, frames: int) -> None:
        self.opens, self.frames, self.released = opens, frames, False

    @staticmethod
    def opener(script: list[tuple[bool, int]]) -> Callable[[int | str], FlakyCapture]:
        captures = iter(script)

        def open_capture(spec: int | str) -> FlakyCapture:
            opens, frames = next(captures, (True, 1_000))
            return FlakyCapture(opens, frames)

        return open_capture

    def isOpened(self) -> bool:  # noqa: N802
        return self.opens

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.frames == 0:
            return False, None
        self.frames -= 1
        return True, painted(50)

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 0.0

    def release(self) -> None:
        self.released = True


def test_live_source_reconnects_with_backoff() -> None:
    script = [(True, 2), (False, 0), (False, 0), (True, 3)]
    source = OpenCvFrameSource(0, opener=FlakyCapture.opener(script), backoff=Backoff(0.01, 2.0, 0.05))
    started = time.monotonic()
    assert len(blues(source, 5)) == 5
    assert source.reconnects == 3
    assert time.monotonic() - started >= 0.01 + 0.02 + 0.04


def test_close_interrupts_reconnection_wait() -> None:
    source = OpenCvFrameSource(0, opener=FlakyCapture.opener([(False, 0)] * 10), backoff=Backoff(30, 1, 30))
    threading.Timer(0.2, source.close).start()
    started = time.monotonic()
    assert source.read() is None
    assert time.monotonic() - started < 20  # far inside the 30 s backoff it interrupts


def frame(index: int) -> Frame:
    return Frame(np.zeros((1, 1, 3), np.uint8), index, float(index))


def test_latest_frame_wins() -> None:
    buffer = LatestFrameBuffer()
    for i in range(5):
        buffer.put(frame(i))
    taken = buffer.get(timeout=0)
    assert taken is not None and taken.index == 4
    assert buffer.dropped == 4 and buffer.get(timeout=0.01) is None


def test_get_waits_for_the_next_frame_and_close_wakes_readers() -> None:
    buffer = LatestFrameBuffer()
    threading.Timer(0.05, buffer.put, args=(frame(1),)).start()
    got = buffer.get(timeout=5)
    assert got is not None and got.index == 1
    threading.Timer(0.05, buffer.close).start()
    assert buffer.get(timeout=5) is None and buffer.closed


def test_producer_never_blocks_on_a_slow_reader(folder: Path) -> None:
    buffer = LatestFrameBuffer()
    grabber = FrameGrabber(FolderFrameSource(folder, loop=True), buffer)
    grabber.start()
    wait_until(lambda: buffer.dropped >= 4, 60, "the grabber never ran ahead of its reader")
    latest = buffer.get(timeout=1)
    grabber.stop()
    assert latest is not None and latest.index > 3
    assert buffer.dropped >= latest.index - 1
    assert buffer.closed


def test_grabber_records_an_unreadable_image(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    buffer = LatestFrameBuffer()
    grabber = FrameGrabber(FolderFrameSource(tmp_path), buffer)
    grabber.start()
    assert buffer.get(timeout=5) is None
    grabber.stop()
    assert grabber.error is not None and "broken.png" in str(grabber.error)


class _StuckCamera:
    """A network camera inside a reconnect: read and close both block until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def read(self) -> Image | None:
        self.release.wait(30)
        return None

    def close(self) -> None:
        self.release.wait(30)


def test_stopping_never_waits_on_a_stuck_camera() -> None:
    camera = _StuckCamera()
    grabber = FrameGrabber(camera, LatestFrameBuffer())  # type: ignore[arg-type]
    grabber.start()
    started = time.monotonic()
    grabber.stop(timeout=0.2)
    assert time.monotonic() - started < 20  # the old stop blocked in close() for the whole 30 s
    camera.release.set()
