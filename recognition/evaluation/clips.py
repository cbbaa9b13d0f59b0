"""Recordings cut into liveness attempts at the service's frame pace, and the 95% bound of a rate.

A clip is read by ``recognition.recording`` (the scenarios' reader: by *timestamp*, variable frame rate
included), resampled to ``fps``, scaled down to ``MAX_SIDE`` and cut into
attempts of the liveness window: ``frames_window`` frames, at most ``window_s`` seconds, back to back
(stride = attempt length, so no frame counts twice). OpenCV applies a phone's rotation matrix.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from recognition.camera import CameraError
from recognition.errors import EvaluationInputError
from recognition.recording import timed_frames
from recognition.types import Image

VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".mpg", ".mpeg", ".avi", ".mov", ".mkv", ".m4v"})
MAX_SIDE = 1280  # a 4K frame is scaled down: the detector finds kiosk-sized faces at this size


@dataclass(frozen=True, slots=True)
class Cut:
    """How clips are cut: frames per attempt, stride between attempt starts (frames), frames per second."""

    frames: int
    stride: int
    fps: float

    @classmethod
    def of_window(cls, frames_window: int, window_s: float, fps: float) -> Cut:
        """The service's liveness window at ``fps``: ``frames_window`` frames within ``window_s`` seconds."""
        frames = max(1, min(frames_window, math.floor(window_s * fps + 1e-9)))
        return cls(frames, frames, fps)

    def as_dict(self) -> dict[str, float | int]:
        """The cut as the JSON report states it."""
        return asdict(self)


def read_clip(path: Path, fps: float) -> list[Image]:
    """RGB frames of a whole recording at ``fps`` (by timestamp); an unreadable or empty file is an input error."""
    try:
        frames = [_scaled(frame.image) for frame in timed_frames(path, fps=fps)]
    except CameraError as exc:
        raise EvaluationInputError(str(exc)) from exc
    if not frames:
        raise EvaluationInputError(f"{path}: no frame could be decoded (corrupt or empty video)")
    return frames


def _scaled(image: Image) -> Image:
    height, width = image.shape[:2]
    scale = MAX_SIDE / max(height, width)
    if scale >= 1:
        return image
    return np.ascontiguousarray(
        cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    )


def attempts_of(frames: list[Image], cut: Cut) -> list[list[Image]]:
    """Whole attempts of ``cut.frames`` frames, one every ``cut.stride`` frames (a short tail is dropped)."""
    return [frames[i : i + cut.frames] for i in range(0, len(frames) - cut.frames + 1, cut.stride)]


def upper_95(errors: int, trials: int) -> float:
    """Clopper-Pearson (exact) upper end of the two-sided 95% interval of errors/trials: P(X <= k) = 2.5%."""
    if trials == 0:
        return 1.0
    if errors >= trials:
        return 1.0
    low, high = errors / trials, 1.0
    for _ in range(60):  # bisection on p: the binomial cdf falls as p grows
        mid = (low + high) / 2
        if _cdf(errors, trials, mid) > 0.025:
            low = mid
        else:
            high = mid
    return high


def _cdf(k: int, n: int, p: float) -> float:
    return float(sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1)))
