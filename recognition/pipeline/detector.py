"""Face detection with facenet-pytorch's MTCNN: boxes, probabilities and five landmarks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import torch
from facenet_pytorch import MTCNN

from recognition.types import Face, Image


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """MTCNN settings: a kiosk sees faces close up, and a larger ``min_face_size`` is much faster."""

    min_face_size: int = 20
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    factor: float = 0.709
    device: str = "cpu"
    detect_face_px: int = 40
    """Frames are shrunk so the smallest face wanted is this size: the pyramid is the same, the crops
    cheaper (MTCNN's last stage looks at 48x48 anyway); landmarks are scaled back to frame pixels."""


class MtcnnDetector:
    """Finds every face in an RGB frame (weights ship inside the facenet-pytorch wheel)."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.shrink = min(1.0, self.config.detect_face_px / self.config.min_face_size)
        self._mtcnn = MTCNN(
            min_face_size=max(1, round(self.config.min_face_size * self.shrink)),
            thresholds=list(self.config.thresholds),
            factor=self.config.factor,
            keep_all=True,
            select_largest=False,
            post_process=False,
            device=torch.device(self.config.device),
        ).eval()
        # The same weights in channels-last order: R-Net and O-Net run on dozens of small crops, and torch's
        # CPU convolutions and max-pools are about three times faster on them in this layout (outputs equal
        # to float rounding: tests/recognition/pipeline/test_detection_alignment.py).
        for stage in (self._mtcnn.pnet, self._mtcnn.rnet, self._mtcnn.onet):
            stage.to(memory_format=torch.channels_last)

    def detect(self, image: Image) -> list[Face]:
        """Every face found, most probable first."""
        small = image
        if self.shrink < 1.0:
            size = (max(1, round(image.shape[1] * self.shrink)), max(1, round(image.shape[0] * self.shrink)))
            small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        with torch.inference_mode():
            boxes, probs, points = self._mtcnn.detect(_planar(small, self.config.device), landmarks=True)
        return faces_from_mtcnn(boxes, probs, points, scale=1.0 / self.shrink)


def _planar(image: Image, device: str) -> torch.Tensor:
    """The frame as float pixels stored plane by plane but shaped (H, W, 3), as MTCNN takes a frame.

    MTCNN turns a frame into (1, 3, H, W) by a permutation; from these strides that is contiguous, and its
    image pyramid (area resampling) about twice as fast as on the interleaved pixels of an RGB array.
    """
    pixels = np.require(image, requirements=["C_CONTIGUOUS", "WRITEABLE"])  # torch refuses to share read-only memory
    planes = torch.from_numpy(pixels).to(torch.device(device)).permute(2, 0, 1)
    return planes.float().contiguous().permute(1, 2, 0)


def faces_from_mtcnn(boxes: object, probs: object, points: object, scale: float = 1.0) -> list[Face]:
    """Normalise MTCNN's outputs (None, or object-dtype arrays under numpy 2) into ``Face`` values."""
    if boxes is None or points is None:
        return []
    box_array = _float_array(boxes).reshape(-1, 4) * scale
    prob_array = _float_array(probs).reshape(-1)
    point_array = _float_array(points).reshape(-1, 5, 2) * scale
    faces = [
        Face(
            box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
            probability=float(p),
            landmarks=tuple((float(x), float(y)) for x, y in pts),
        )
        for b, p, pts in zip(box_array, prob_array, point_array, strict=True)
    ]
    return sorted(faces, key=lambda face: -face.probability)


def _float_array(values: object) -> npt.NDArray[np.float32]:
    return np.asarray(np.asarray(values, dtype=object).tolist(), dtype=np.float32)
