"""A stretch of a recording (a video file or a folder of frames) read as timed frames, as a camera would give them.

``read_segment`` returns the frames between ``from_s`` and ``to_s`` of the recording, one every ``1 / fps``
seconds of the recording's own time (its timestamps, so a variable frame rate keeps its timing), each with
its time from the start of the segment. A recording that cannot be decoded, or has no frame in the segment,
is a ``CameraError`` with the reason; frames come rotated as the file's display matrix says (OpenCV does it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from recognition.camera import CameraError, bgr_to_rgb, list_images
from recognition.pipeline.images import load_image
from recognition.types import Image

FOLDER_FPS = 10.0  # a folder of frames has no rate of its own: the service's frame pace
_STAMP_TOLERANCE_S = 1e-6
MAX_FRAMES = 600  # one segment is an attempt or an enrolment, not a film: bounds memory (4K frames are 25 MB)


@dataclass(frozen=True, slots=True)
class TimedFrame:
    """One RGB frame and its time in seconds from the start of the segment."""

    image: Image
    at_s: float


def read_segment(path: Path, from_s: float = 0.0, to_s: float = math.inf, fps: float | None = None) -> list[TimedFrame]:
    """The frames of ``path`` between ``from_s`` and ``to_s``, at ``fps`` (default the recording's own rate)."""
    frames: list[TimedFrame] = []
    for frame in timed_frames(path, from_s, to_s, fps):
        frames.append(frame)
        if len(frames) > MAX_FRAMES:
            raise CameraError(f"more than {MAX_FRAMES} frames in one segment: shorten it or lower its fps")
    if not frames:
        raise CameraError(f"{path}: no frame between {from_s} s and {to_s} s of the recording")
    return frames


def timed_frames(
    path: Path, from_s: float = 0.0, to_s: float = math.inf, fps: float | None = None
) -> Iterator[TimedFrame]:
    """The frames of ``read_segment`` one at a time, with no bound on their number (a whole clip, for evaluation)."""
    if to_s <= from_s:
        raise CameraError(f"{path}: the segment ends ({to_s} s) before it starts ({from_s} s)")
    if fps is not None and fps <= 0:
        raise CameraError(f"{path}: fps must be > 0, got {fps}")
    stream = _folder_frames(path, fps) if path.is_dir() else _video_frames(path)
    return _sample(stream, from_s, to_s, fps)


def _sample(
    stream: Iterator[tuple[float, Image]], from_s: float, to_s: float, fps: float | None
) -> Iterator[TimedFrame]:
    """Keep the first frame at or after each tick of ``1 / fps`` (every frame when ``fps`` is None)."""
    due = from_s
    for at_s, image in stream:
        if at_s >= to_s:
            break
        if at_s < due - _STAMP_TOLERANCE_S:
            continue
        yield TimedFrame(image, at_s - from_s)
        while fps is not None and due <= at_s + _STAMP_TOLERANCE_S:  # next tick after this frame (skipped stay skipped)
            due += 1.0 / fps


def _folder_frames(folder: Path, fps: float | None) -> Iterator[tuple[float, Image]]:
    rate = fps or FOLDER_FPS
    for i, path in enumerate(list_images(folder)):
        yield i / rate, load_image(path)


def _video_frames(path: Path) -> Iterator[tuple[float, Image]]:
    """Decoded frames with their presentation times (the container's, else index / nominal rate)."""
    if not path.is_file():
        raise CameraError(f"{path}: no such video file")
    if path.stat().st_size == 0:
        raise CameraError(f"{path}: the video file is empty (0 bytes)")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise CameraError(f"{path}: not a video OpenCV can decode (corrupt, or an unknown format)")
        rate = capture.get(cv2.CAP_PROP_FPS) or 0.0
        index, last_s = 0, -math.inf
        while True:
            ok, image = capture.read()
            if not ok or image is None or not image.size:
                break
            stamp_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            at_s = stamp_s if stamp_s > last_s or index == 0 else index / rate if rate > 0 else last_s
            last_s = max(at_s, last_s)
            index += 1
            yield at_s, bgr_to_rgb(image)
        if index == 0:
            raise CameraError(f"{path}: the video has no decodable frame (corrupt or truncated)")
    finally:
        capture.release()
