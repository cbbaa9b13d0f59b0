"""Face alignment: a similarity transform from five landmarks onto an embedder's canonical template.

Landmark order is MTCNN's: left eye, right eye, nose tip, left mouth corner, right mouth corner
(left/right as seen in the image).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from recognition.types import Embedding, Face, Image, ModelCard

Points = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AlignTemplate:
    """Where the five landmarks must land in a square chip of ``size`` pixels."""

    name: str
    size: int
    points: tuple[tuple[float, float], ...]

    def as_array(self) -> Points:
        """The template points as a (5, 2) float array."""
        return np.asarray(self.points, dtype=np.float64)


DLIB_150 = AlignTemplate(
    name="dlib-chip-150",
    size=150,
    # dlib's get_face_chip(size=150, padding=0.25) mean face shape, reduced to MTCNN's five points
    # (see ../shared/models/face-api/SOURCE.txt).
    points=((47.6, 46.6), (100.5, 46.6), (74.0, 76.6), (50.4, 103.0), (97.6, 103.0)),
)

_ARCFACE_112 = ((38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366), (41.5493, 92.3655), (70.7299, 92.2041))

ARCFACE_112 = AlignTemplate(name="arcface-112", size=112, points=_ARCFACE_112)
"""The ArcFace five-point template: fr_feature and MobileFaceNet were trained on such chips."""

FACERES_224 = AlignTemplate(
    name="faceres-loose-224",
    size=224,
    # The ArcFace template with 1.5x more context, scaled to 224 px (models/faceres/SOURCE.txt): the
    # network was trained on loose VGGFace2 crops that show the whole head.
    points=tuple(((x - 56) * 1.5 + 112, (y - 56) * 1.5 + 112) for x, y in _ARCFACE_112),
)

FACENET_160 = AlignTemplate(
    name="facenet-160",
    size=160,
    # The widely used 112x112 five-point template, scaled to 128 px and centred in 160 px: the
    # 16 px border matches the margin=32 crops facenet-pytorch's InceptionResnetV1 was trained on.
    points=tuple((x * 128 / 112 + 16, y * 128 / 112 + 16) for x, y in _ARCFACE_112),
)


def similarity_transform(src: Points, dst: Points) -> npt.NDArray[np.float64]:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``src`` onto ``dst``.

    Umeyama's closed form; returns the 2x3 matrix that ``cv2.warpAffine`` expects.
    """
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    reflection = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        reflection[1, 1] = -1.0
    rotation = u @ reflection @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float((singular * np.diag(reflection)).sum() / variance) if variance > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def align_face(image: Image, landmarks: tuple[tuple[float, float], ...], template: AlignTemplate) -> Image:
    """Warp ``image`` so that the five ``landmarks`` land on ``template``; returns a size x size RGB chip."""
    source = np.asarray(landmarks, dtype=np.float64)
    matrix = similarity_transform(source, template.as_array())
    shrink = _scale_of(matrix) * 2.0
    if shrink < 1.0:
        # warpAffine samples without low-pass filtering: shrink with INTER_AREA first to avoid aliasing.
        height, width = image.shape[:2]
        size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
        image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        matrix = similarity_transform(source * (size[0] / width, size[1] / height), template.as_array())
    side = template.size
    chip = cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(chip, dtype=np.uint8)


def _scale_of(matrix: npt.NDArray[np.float64]) -> float:
    return float(np.hypot(matrix[0, 0], matrix[1, 0]))


class AlignedChipEmbedder:
    """What every embedder shares: align each face on ``template``, then ``embed_chips`` (in subclasses)."""

    template: AlignTemplate
    _card: ModelCard

    @property
    def card(self) -> ModelCard:
        """The model card."""
        return self._card

    def embed(self, image: Image, faces: list[Face]) -> list[Embedding]:
        """One descriptor per face, in order."""
        if not faces:
            return []
        chips = np.stack([align_face(image, face.landmarks, self.template) for face in faces])
        return list(self.embed_chips(chips))

    def embed_chips(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Descriptors (N, D) for aligned chips (N, S, S, 3) uint8 RGB."""
        raise NotImplementedError
