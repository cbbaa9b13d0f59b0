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


def _head(obama_face: Face, yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> Face:
    """Obama's box with the five points of a head model (eye distance 1, nose tip 0.55 in front) turned."""
    model = np.array([[-0.5, 0, 0], [0.5, 0, 0], [0, 0.6, -0.55], [-0.4, 1.1, 0], [0.4, 1.1, 0]])
    a, b, c = np.radians([yaw_deg, pitch_deg, roll_deg])
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    nod = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    tilt = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    points = model @ (tilt @ nod @ turn).T
    points = points[:, :2] / (points[:, 2:] + 8.0) * 8.0 * 40 + np.array(obama_face.landmarks[0]) + (20, 0)
    return Face(obama_face.box, obama_face.probability, tuple((float(x), float(y)) for x, y in points))


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(0, 0, 0), (35, 0, 0), (-35, 0, 0), (0, 25, 0), (0, -25, 0),
                                                    (0, 0, 25), (20, 15, 10)])  # fmt: skip
def test_a_slightly_turned_head_and_a_look_down_at_the_screen_pass(
    obama: Image, obama_face: Face, yaw: float, pitch: float, roll: float
) -> None:
    report = assess(obama, _head(obama_face, yaw, pitch, roll), QualityConfig())
    assert report.ok, (report.reasons, report.metrics)


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(55, 0, 0), (-55, 0, 0), (0, 40, 0), (0, -40, 0), (0, 0, 40)])
def test_a_profile_or_a_head_thrown_back_is_not_frontal(
    obama: Image, obama_face: Face, yaw: float, pitch: float, roll: float
) -> None:
    assert "not_frontal" in assess(obama, _head(obama_face, yaw, pitch, roll), QualityConfig()).reasons
