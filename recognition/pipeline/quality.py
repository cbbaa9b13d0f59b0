"""Quality gates for enrolment and matching; every rejection is a machine-readable reason code.

Reason codes: ``no_face``, ``outside_roi``, ``multiple_faces``, ``face_too_small``,
``low_probability``, ``too_blurry``, ``not_frontal``, ``too_dark``, ``too_bright``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np

from recognition.types import Face, Image, QualityReport

_PROBE_SIZE = 96  # faces are resampled to this size so sharpness does not depend on distance


@dataclass(frozen=True, slots=True)
class QualityConfig:
    """Gate settings; ``roi`` is (x1, y1, x2, y2) in fractions of the frame, None for the whole frame."""

    min_face_px: float = 60.0
    """Short side of the MTCNN box. A kiosk user stands 0.4-1.0 m from the camera; a face box is about
    15 cm; a 640 px wide webcam with a 60 deg field (focal ~550 px) sees it at ~83 px from 1.0 m and
    60 px from ~1.4 m, beyond anyone using the kiosk. Below it the embedders' 112-160 px crops would be
    upsampled more than twice. (``lockers eval --min-face-size`` sets it for evaluations.)"""
    min_probability: float = 0.95
    min_sharpness: float = 25.0
    """Variance of the Laplacian of the face resampled to 96 px. Sensor noise alone of sigma ~1.1 grey
    levels at that scale gives 20 sigma^2 = 25: a face whose detail does not rise above what a webcam's
    noise alone would give is a smear (defocus, motion blur, a re-filmed screen). Live webcam and phone
    frames measured 47 at the least (docs/liveness.md)."""
    max_roll_deg: float = 30.0
    """Head tilted towards a shoulder. The alignment rotates any roll upright, so the limit only guards
    MTCNN's landmarks, trained and reliable to about 30 deg (was 20: live frames reached 18)."""
    max_yaw: float = 0.5
    """Nose offset along the eye axis, in eye distances. With the nose tip ~0.55 eye distances in front
    of the eyes (anthropometry), a head turned by a angle shows ~0.55 tan(a): 0.35 at 30 deg, 0.5 at
    40 deg. Up to ~45 deg the far eye stays in view, so the five landmarks and the alignment hold; a
    slightly turned head (0.36-0.41 in the footage, ~35 deg) passes, a profile does not (was 0.35)."""
    pitch_range: tuple[float, float] = (0.25, 0.9)
    """Nose tip height between the eye line (0) and the mouth line (1): ~0.59 for a face level with the
    camera; 30 deg chin-up gives 0.26, 30 deg chin-down 0.91. A kiosk user looks down at the screen
    below the camera, and a tall user stands above a camera mounted within reach (was 0.25-0.75, i.e.
    only 16 deg down)."""
    brightness_range: tuple[float, float] = (30.0, 210.0)
    """Mean grey level of the face crop. The floor was 50; the dim-office webcam clip (live_lestari15_1)
    shows a plain face at 41.6-45.0 (sharpness 56-64, MTCNN finds it in every frame), so the floor sits
    below it with margin. Truly dark frames stay refused: a face at 1/8 of its light (mean ~17) is too
    dark, and at any level where detail is lost the sharpness gate (``too_blurry``) refuses it too."""
    roi: tuple[float, float, float, float] | None = None
    require_single: bool = True


NO_FACE, OUTSIDE_ROI, MULTIPLE_FACES = "no_face", "outside_roi", "multiple_faces"
SELECTION_CODES: Final = (NO_FACE, OUTSIDE_ROI, MULTIPLE_FACES)
"""Why no face of a frame was chosen (``select_primary``)."""


def reason_codes() -> tuple[str, ...]:
    """Every code the gates can give: the selection's, then each check's (taken from the checks themselves)."""
    neutral = dict.fromkeys(("face_px", "probability", "sharpness", "roll_deg", "yaw", "pitch", "brightness"), 0.0)
    return SELECTION_CODES + tuple(code for code, _ in _checks(neutral, QualityConfig()))


def select_primary(
    faces: list[Face], config: QualityConfig, frame_shape: tuple[int, ...]
) -> tuple[int | None, str | None]:
    """The index of the face to use and, when there is none, the reason code."""
    if not faces:
        return None, NO_FACE
    inside = [i for i, face in enumerate(faces) if _in_roi(face, config.roi, frame_shape)]
    if not inside:
        return None, OUTSIDE_ROI
    if config.require_single and len(inside) > 1:
        return None, MULTIPLE_FACES
    return max(inside, key=lambda i: _area(faces[i])), None


def assess(image: Image, face: Face, config: QualityConfig) -> QualityReport:
    """Measure one face and judge it against ``config``."""
    metrics = {"face_px": _min_side(face), "probability": face.probability, **pose_metrics(face)}
    metrics.update(_pixel_metrics(image, face))
    reasons = [code for code, failed in _checks(metrics, config) if failed]
    return QualityReport(ok=not reasons, reasons=tuple(reasons), metrics=metrics)


def _checks(m: dict[str, float], c: QualityConfig) -> list[tuple[str, bool]]:
    low_pitch, high_pitch = c.pitch_range
    dark, bright = c.brightness_range
    frontal = abs(m["roll_deg"]) <= c.max_roll_deg and abs(m["yaw"]) <= c.max_yaw
    return [
        ("face_too_small", m["face_px"] < c.min_face_px),
        ("low_probability", m["probability"] < c.min_probability),
        ("too_blurry", m["sharpness"] < c.min_sharpness),
        ("not_frontal", not (frontal and low_pitch <= m["pitch"] <= high_pitch)),
        ("too_dark", m["brightness"] < dark),
        ("too_bright", m["brightness"] > bright),
    ]


def pose_metrics(face: Face) -> dict[str, float]:
    """Roll (degrees), yaw (nose offset / eye distance) and pitch (nose height between eyes and mouth)."""
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks
    eye_dx, eye_dy = rx - lx, ry - ly
    eye_dist = max(math.hypot(eye_dx, eye_dy), 1e-6)
    roll = math.degrees(math.atan2(eye_dy, eye_dx))
    # Project the nose onto the eye axis and its normal, in eye-distance units (roll-invariant).
    ux, uy = eye_dx / eye_dist, eye_dy / eye_dist
    eye_mid = ((lx + rx) / 2, (ly + ry) / 2)
    mouth_mid = ((mlx + mrx) / 2, (mly + mry) / 2)
    yaw = ((nx - eye_mid[0]) * ux + (ny - eye_mid[1]) * uy) / eye_dist
    nose_down = -(nx - eye_mid[0]) * uy + (ny - eye_mid[1]) * ux
    mouth_down = -(mouth_mid[0] - eye_mid[0]) * uy + (mouth_mid[1] - eye_mid[1]) * ux
    pitch = nose_down / mouth_down if abs(mouth_down) > 1e-6 else 0.0
    return {"roll_deg": roll, "yaw": yaw, "pitch": pitch}


def _pixel_metrics(image: Image, face: Face) -> dict[str, float]:
    crop = _crop(image, face)
    if crop.size == 0:
        return {"sharpness": 0.0, "brightness": 0.0}
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    probe = cv2.resize(grey, (_PROBE_SIZE, _PROBE_SIZE), interpolation=cv2.INTER_AREA)
    sharpness = float(cv2.Laplacian(probe, cv2.CV_64F).var())
    return {"sharpness": sharpness, "brightness": float(probe.mean())}


def _crop(image: Image, face: Face) -> Image:
    height, width = image.shape[:2]
    x1, y1, x2, y2 = face.box
    left, top = max(0, int(x1)), max(0, int(y1))
    right, bottom = min(width, int(math.ceil(x2))), min(height, int(math.ceil(y2)))
    return np.ascontiguousarray(image[top:bottom, left:right])


def _in_roi(face: Face, roi: tuple[float, float, float, float] | None, frame_shape: tuple[int, ...]) -> bool:
    if roi is None:
        return True
    height, width = frame_shape[:2]
    cx, cy = (face.box[0] + face.box[2]) / 2 / width, (face.box[1] + face.box[3]) / 2 / height
    return roi[0] <= cx <= roi[2] and roi[1] <= cy <= roi[3]


def _area(face: Face) -> float:
    return max(0.0, face.box[2] - face.box[0]) * max(0.0, face.box[3] - face.box[1])


def _min_side(face: Face) -> float:
    return min(face.box[2] - face.box[0], face.box[3] - face.box[1])
