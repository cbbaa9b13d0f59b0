"""Frame sources (OpenCV device, RTSP/HTTP URL, video file, folder of images) and a latest-frame buffer.

``FrameGrabber`` reads a source in its own thread into a ``LatestFrameBuffer``: the newest frame
replaces any frame not yet taken, so recognition never works on the past and the camera is never
held up by a slow consumer. Live sources (devices and URLs) reconnect with exponential backoff.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from recognition.errors import RecognitionError
from recognition.pipeline.images import load_image
from recognition.types import Image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp"})
LIVE_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")


class CameraError(RecognitionError):
    """A frame source cannot be opened (no such file, empty folder, unsupported spec)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One RGB frame, its sequence number at the source and its capture time (monotonic seconds)."""

    image: Image
    index: int
    captured_at: float


class FrameSource(Protocol):
    """Where frames come from; ``read`` returns None when the source has ended for good."""

    def read(self) -> Frame | None:
        """The next frame (blocking), or None at the end."""
        ...

    def close(self) -> None:
        """Release the device or file; a blocked ``read`` returns soon after."""
        ...


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the sources use (tests substitute failing captures)."""

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        """Whether the capture is usable."""
        ...

    def read(self) -> tuple[bool, np.ndarray | None]:
        """Grab and decode the next frame (BGR)."""
        ...

    def set(self, prop: int, value: float) -> bool:
        """Set a capture property."""
        ...

    def get(self, prop: int) -> float:
        """Read a capture property (a video file's frame time, ``CAP_PROP_POS_MSEC``)."""
        ...

    def release(self) -> None:
        """Close the capture."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnection delays: ``initial`` seconds, multiplied by ``factor`` per failure, capped at ``maximum``."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 10.0

    def delays(self) -> Iterator[float]:
        """The delay before each successive reconnection attempt."""
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


def bgr_to_rgb(image: np.ndarray) -> Image:
    """Convert an OpenCV frame (BGR, BGRA or grey) to the RGB uint8 the pipeline expects."""
    if image.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB), dtype=np.uint8)
    code = cv2.COLOR_BGRA2RGB if image.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return np.ascontiguousarray(cv2.cvtColor(image, code), dtype=np.uint8)


class FolderFrameSource:
    """Images of a folder in sorted name order, for simulations; ``loop`` replays them forever."""

    def __init__(self, folder: Path | str, loop: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self._paths = list_images(Path(folder))
        self._loop = loop
        self._clock = clock
        self._count = 0
        self._closed = False

    def read(self) -> Frame | None:
        """The next image as a frame, or None after the last (unless looping or closed)."""
        if self._closed or (self._count >= len(self._paths) and not self._loop):
            return None
        image = load_image(self._paths[self._count % len(self._paths)])
        frame = Frame(image, self._count, self._clock())
        self._count += 1
        return frame

    def close(self) -> None:
        """Stop reading."""
        self._closed = True


def list_images(folder: Path) -> list[Path]:
    """The images of a folder in sorted name order (a clear error where there are none)."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if not paths:
        raise CameraError(f"{folder}: not a folder with images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return paths


class OpenCvFrameSource:
    """A camera (device index), a stream (RTSP/HTTP URL) or a video file, read with OpenCV.

    Live sources reconnect on loss with backoff until closed; a video file ends (or, with ``loop``,
    starts again). A ``paced`` video file is played as a camera: each frame is handed over at its own
    time in the file (a variable frame rate keeps its rhythm), not as fast as it decodes.
    """

    def __init__(
        self,
        spec: int | str,
        loop: bool = False,
        backoff: Backoff = Backoff(),
        opener: Callable[[int | str], Capture] | None = None,
        clock: Callable[[], float] = time.monotonic,
        paced: bool = False,
    ) -> None:
        self.spec = _parse_spec(spec)
        self.live = not isinstance(self.spec, str) or self.spec.startswith(LIVE_SCHEMES)
        if not self.live and not Path(str(self.spec)).is_file():
            raise CameraError(f"{spec}: no such video file (or device index / rtsp:// / http:// URL)")
        self._loop = loop
        self._backoff = backoff
        self._opener = opener or _open_capture
        self._clock = clock
        self._closed = threading.Event()
        self._capture: Capture | None = None
        self._delays: Iterator[float] | None = None
        self._count = 0
        self._paced = paced and not self.live
        self._pass_origin: float | None = None  # clock time at which the current pass of the file started
        self._frame_interval = 0.1  # the file's nominal frame time, read at its first frame
        self.reconnects = 0

    def read(self) -> Frame | None:
        """The next frame; for live sources, blocks through reconnection until a frame or ``close``."""
        while not self._closed.is_set():
            image = self._grab()
            if image is not None:
                self._delays = None
                if self._paced:
                    self._wait_for_frame_time()
                frame = Frame(bgr_to_rgb(image), self._count, self._clock())
                self._count += 1
                return frame
            if not self.live and not self._loop:
                return None
            self._reopen()
        return None

    def _wait_for_frame_time(self) -> None:
        """Sleep until the frame's time in the file, counted from the start of this pass (``close`` ends it)."""
        assert self._capture is not None
        at_s = max(0.0, self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
        if self._pass_origin is None:
            rate = self._capture.get(cv2.CAP_PROP_FPS)
            self._frame_interval = 1.0 / rate if rate > 0 else self._frame_interval
            self._pass_origin = self._clock() - at_s
        delay = self._pass_origin + at_s - self._clock()
        if delay > 0:
            self._closed.wait(delay)

    def close(self) -> None:
        """Release the capture; a reconnection wait ends at once."""
        self._closed.set()
        self._release()

    def _grab(self) -> np.ndarray | None:
        if self._capture is None:
            self._capture = self._opener(self.spec)
        if not self._capture.isOpened():
            return None
        ok, image = self._capture.read()
        return image if ok and image is not None and image.size else None

    def _reopen(self) -> None:
        """Drop the capture; live sources wait out the next backoff delay (failures in a row grow it)."""
        self._release()
        if self._paced and self._pass_origin is not None:
            # The next pass starts one nominal frame after the last frame of this one, as a camera would.
            self._pass_origin = None
            self._closed.wait(self._frame_interval)
        if self.live:
            self._delays = self._delays or self._backoff.delays()
            if not self._closed.wait(next(self._delays)):
                self.reconnects += 1

    def _release(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()


def _parse_spec(spec: int | str) -> int | str:
    if isinstance(spec, str) and spec.strip().isdigit():
        return int(spec.strip())
    return spec


def _open_capture(spec: int | str) -> Capture:
    capture: Capture = cv2.VideoCapture(spec)
    # Live sources: keep one frame in the driver's queue and give up on a dead stream in seconds.
    for prop, value in (("CAP_PROP_BUFFERSIZE", 1), ("CAP_PROP_OPEN_TIMEOUT_MSEC", 5000),
                        ("CAP_PROP_READ_TIMEOUT_MSEC", 5000)):
        if hasattr(cv2, prop):
            capture.set(getattr(cv2, prop), value)
    return capture


class LatestFrameBuffer:
    """A one-slot buffer where the newest frame wins: ``put`` never blocks, ``get`` never sees stale frames."""

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._closed = False
        self._ready = threading.Condition()
        self.dropped = 0
        self.delivered = 0

    def put(self, frame: Frame) -> None:
        """Offer a frame; an untaken older frame is discarded."""
        with self._ready:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._ready.notify_all()

    def get(self, timeout: float | None = None) -> Frame | None:
        """Take the newest frame, waiting up to ``timeout``; None on timeout or once closed and empty."""
        with self._ready:
            self._ready.wait_for(lambda: self._frame is not None or self._closed, timeout)
            frame, self._frame = self._frame, None
            if frame is not None:
                self.delivered += 1
            return frame

    def close(self) -> None:
        """No more frames will come: wake every waiting reader."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        """Whether the producer has finished."""
        return self._closed


class FrameGrabber:
    """Reads a source in a daemon thread into a ``LatestFrameBuffer``; the buffer closes when the source ends."""

    def __init__(self, source: FrameSource, buffer: LatestFrameBuffer) -> None:
        self.source = source
        self.buffer = buffer
        self.error: RecognitionError | None = None
        self.started_at: float | None = None
        self.last_frame_at: float | None = None
        self.finished = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frame-grabber", daemon=True)

    def start(self) -> None:
        """Start reading."""
        self.started_at = time.monotonic()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading, release the source and wait for the thread, each for at most ``timeout`` seconds.

        Closing a network camera while its reader is inside a reconnect can block for minutes (OpenCV's
        FFmpeg backend), so the close runs on a daemon thread of its own: shutdown never waits on a camera.
        """
        self._stop.set()
        closer = threading.Thread(target=self.source.close, name="frame-source-close", daemon=True)
        closer.start()
        closer.join(timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None:
                    break
                self.last_frame_at = time.monotonic()
                self.buffer.put(frame)
        except RecognitionError as exc:
            # An unreadable image ends the source; the worker reports it instead of a dead thread.
            self.error = exc
        finally:
            self.finished = True
            self.buffer.close()
