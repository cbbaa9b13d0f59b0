"""The liveness model card and the crops the passive networks look at (NumPy and OpenCV only)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from recognition.types import Face, Image

CROP_SIZE = 80


@dataclass(frozen=True, slots=True)
class LivenessCard:
    """What the passive detector is, so an unlock's evidence can name it and an audit can check it."""

    name: str
    version: str
    input_size: int
    scales: tuple[float, ...]
    weights_sha256: str
    notes: str = ""

    @property
    def model_version(self) -> str:
        """The id recorded in events: name, version and the first 12 hex digits of the weights hash."""
        return f"{self.name}@{self.version}+{self.weights_sha256[:12]}"


def context_box(
    box: tuple[float, float, float, float], scale: float, width: int, height: int
) -> tuple[int, int, int, int]:
    """The face box widened ``scale`` times about its centre, shifted (not cut) to stay in the frame.

    As in Silent-Face-Anti-Spoofing: the scale shrinks when the frame is too small for it, and the
    network was trained on crops of this shape, background and all (a bezel or a paper edge in view
    is exactly what it learnt to see).
    """
    x1, y1, x2, y2 = box
    box_w, box_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    scale = min((height - 1) / box_h, (width - 1) / box_w, scale)
    new_w, new_h = box_w * scale, box_h * scale
    left = min(max((x1 + x2) / 2 - new_w / 2, 0.0), width - new_w)
    top = min(max((y1 + y2) / 2 - new_h / 2, 0.0), height - new_h)
    return int(left), int(top), int(left + new_w), int(top + new_h)


def context_crop(image: Image, face: Face, scale: float, size: int = CROP_SIZE) -> Image:
    """The ``size`` x ``size`` BGR crop around ``face`` at ``scale`` (the networks were trained on BGR)."""
    height, width = image.shape[:2]
    left, top, right, bottom = context_box(face.box, scale, width, height)
    patch = image[top : max(bottom, top + 1), left : max(right, left + 1)]
    resized = cv2.resize(patch, (size, size), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(resized[:, :, ::-1])
