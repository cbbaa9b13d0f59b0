from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition.pipeline.detector import MtcnnDetector
from recognition.pipeline.images import load_image
from recognition.pipeline.quality import QualityConfig, assess, select_primary
from recognition.types import Face, Image


@pytest.fixture(scope="module")
def obama(samples: Path) -> Image:
    return load_image(samples / "examples" / "obama-480p.jpg")


@pytest.fixture(scope="module")
def obama_face(detector: MtcnnDetector, obama: Image) -> Face:
    return detector.detect(obama)[0]


def test_a_good_frontal_face_passes(obama: Image, obama_face: Face) -> None:
    report = assess(obama, obama_face, QualityConfig())
    assert report.ok, report.reasons
    assert {"sharpness", "brightness", "roll_deg", "yaw", "pitch", "face_px"} <= report.metrics.keys()


def test_blur_is_rejected(obama: Image, obama_face: Face) -> None:
    blurred = cv2.GaussianBlur(obama, (0, 0), 6)
    assert "too_blurry" in assess(blurred, obama_face, QualityConfig()).reasons


def test_exposure_is_judged(obama: Image, obama_face: Face) -> None:
    dark = (obama // 8).astype(np.uint8)
    bright = np.clip(obama.astype(np.int32) + 150, 0, 255).astype(np.uint8)
    assert "too_dark" in assess(dark, obama_face, QualityConfig()).reasons
    assert "too_bright" in assess(bright, obama_face, QualityConfig()).reasons


def test_size_and_probability_gates(obama: Image, obama_face: Face) -> None:
    reasons = assess(obama, obama_face, QualityConfig(min_face_px=500, min_probability=1.01)).reasons
    assert reasons == ("face_too_small", "low_probability")


def test_rolled_face_is_not_frontal(obama: Image, obama_face: Face) -> None:
    (lx, ly), (rx, ry), *rest = obama_face.landmarks
    tilted = Face(obama_face.box, obama_face.probability, ((lx, ly - 30), (rx, ry + 30), *rest))
    assert "not_frontal" in assess(obama, tilted, QualityConfig()).reasons


def test_turned_face_is_not_frontal(obama: Image, obama_face: Face) -> None:
    left, right, (nx, ny), *mouth = obama_face.landmarks
    turned = Face(obama_face.box, obama_face.probability, (left, right, (nx + 40, ny), *mouth))
    assert "not_frontal" in assess(obama, turned, QualityConfig()).reasons


def _face(x: float, size: float) -> Face:
    return Face((x, 10, x + size, 10 + size), 0.99, ((0, 0),) * 5)


def test_selection_policies() -> None:
    faces = [_face(10, 50), _face(300, 120)]
    shape = (480, 640, 3)
    assert select_primary([], QualityConfig(), shape) == (None, "no_face")
    assert select_primary(faces, QualityConfig(), shape) == (None, "multiple_faces")
    assert select_primary(faces, QualityConfig(require_single=False), shape) == (1, None)
    assert select_primary(faces, QualityConfig(roi=(0.0, 0.0, 0.3, 1.0)), shape) == (0, None)
    assert select_primary(faces, QualityConfig(roi=(0.9, 0.9, 1.0, 1.0)), shape) == (None, "outside_roi")
