"""Cues across the frames of one attempt: an injected picture and flat motion (NumPy and OpenCV only).

- *Injection* is judged on the picture, not on the face: a camera's sensor noise changes every pixel
  of every frame, even of a person who stands perfectly still. ``difference`` is the mean absolute
  difference (grey levels, 0-255) of the aligned face crops *without* blur, the better of direct and
  mirrored; frames repeated byte for byte give 0, and a feed whose frames differ by less than a
  camera's noise floor is one picture injected again. Face *similarity* (``same_picture``, the
  correlation of blurred, normalised crops) is evidence of the same person, not of an attack: still
  people correlate 0.92-0.999 between frames; it is kept in the verdict as a record only.
- *Parallax*: the eye corners and mouth corners of a face lie close to one plane; the nose tip does
  not. Between two frames the four plane points fix one homography; a flat picture (print, screen)
  moves its nose by that same homography, a real head does not when it turns. ``parallax`` is the
  nose's distance from where the plane's homography puts it, in eye distances; ``plane_motion`` is
  how far the plane moved beyond a similarity (tilt), so that "no parallax" is only evidence of a flat
  picture when the picture measurably tilted.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from recognition.pipeline.align import ARCFACE_112, AlignTemplate, align_face, similarity_transform
from recognition.types import Face, Image

PROBE = AlignTemplate("liveness-probe-48", 48, tuple((x * 48 / 112, y * 48 / 112) for x, y in ARCFACE_112.points))
_PLANE = [0, 1, 3, 4]  # eyes and mouth corners
_NOSE = 2

Probe = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class FrameCue:
    """What an attempt keeps of one frame, in memory only: passive score, landmarks, a 48 px probe."""

    passive: float
    landmarks: tuple[tuple[float, float], ...]
    probe: Probe
    picture: Probe
    """The aligned face, grey levels as the camera gave them (no blur, no normalisation)."""


def frame_cue(image: Image, face: Face, passive: float) -> FrameCue:
    """The cue of one frame's primary face."""
    picture = face_picture(image, face)
    return FrameCue(passive, face.landmarks, normalised_probe(picture), picture)


def face_picture(image: Image, face: Face) -> Probe:
    """The aligned 48 px face in grey levels, untouched: what the noise-floor check compares."""
    aligned = align_face(image, face.landmarks, PROBE)
    return np.asarray(cv2.cvtColor(aligned, cv2.COLOR_RGB2GRAY), dtype=np.float32)


def face_probe(image: Image, face: Face) -> Probe:
    """The aligned face, grey, blurred to below re-encoding detail, zero mean and unit variance."""
    return normalised_probe(face_picture(image, face))


def normalised_probe(grey: Probe) -> Probe:
    """A grey face crop blurred to below re-encoding detail, zero mean and unit variance."""
    chip = np.asarray(cv2.GaussianBlur(grey, (0, 0), 1.5), dtype=np.float32)
    return np.asarray((chip - chip.mean()) / max(float(chip.std()), 1e-3), dtype=np.float32)


def picture_difference(a: Probe, b: Probe) -> float:
    """Mean absolute grey-level difference of two aligned crops, the better of b and its mirror (0 = same)."""
    direct = float(np.abs(a - b).mean())
    mirrored = float(np.abs(a - b[:, ::-1]).mean())
    return min(direct, mirrored)


def same_picture(a: Probe, b: Probe) -> float:
    """Normalised cross-correlation of two probes, the better of b and its mirror image (1 = same)."""
    direct = float((a * b).mean())
    mirrored = float((a * b[:, ::-1]).mean())
    return max(direct, mirrored)


def parallax(a: tuple[tuple[float, float], ...], b: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """(nose parallax, plane motion beyond a similarity) from frame a to frame b, in eye distances of b."""
    pa, pb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    eye = max(float(np.linalg.norm(pb[1] - pb[0])), 1e-6)
    try:
        plane = cv2.getPerspectiveTransform(pa[_PLANE].astype(np.float32), pb[_PLANE].astype(np.float32))
    except cv2.error:
        return 0.0, 0.0  # degenerate (collinear) landmarks: no evidence either way
    nose = plane @ np.array([pa[_NOSE, 0], pa[_NOSE, 1], 1.0])
    nose_error = float(np.linalg.norm(nose[:2] / nose[2] - pb[_NOSE])) if abs(nose[2]) > 1e-9 else 0.0
    similar = similarity_transform(pa[_PLANE], pb[_PLANE])
    moved = pa[_PLANE] @ similar[:, :2].T + similar[:, 2]
    plane_motion = float(np.sqrt(((moved - pb[_PLANE]) ** 2).sum(axis=1).mean()))
    return nose_error / eye, plane_motion / eye


@dataclass(frozen=True, slots=True)
class AttemptCues:
    """The cross-frame measurements of one attempt."""

    frames: int
    passive: float
    same_picture: float
    parallax: float
    plane_motion: float
    difference: float
    """Median pairwise ``picture_difference``: below a camera's noise floor the frames are one picture."""


def measure(cues: list[FrameCue]) -> AttemptCues:
    """Passive mean, median pairwise similarity and difference, largest parallax and plane motion."""
    pairs = list(itertools.combinations(cues, 2))
    similarity = float(np.median([same_picture(a.probe, b.probe) for a, b in pairs])) if pairs else 0.0
    difference = float(np.median([picture_difference(a.picture, b.picture) for a, b in pairs])) if pairs else 0.0
    motions = [parallax(a.landmarks, b.landmarks) for a, b in pairs] or [(0.0, 0.0)]
    passive = float(np.mean([cue.passive for cue in cues])) if cues else 0.0
    tilt = (max(m[0] for m in motions), max(m[1] for m in motions))
    return AttemptCues(len(cues), passive, similarity, tilt[0], tilt[1], difference)
