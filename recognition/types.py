"""Value types shared by every part of recognition (no torch here: NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""An RGB image, shape (H, W, 3), dtype uint8."""

Embedding = npt.NDArray[np.float32]
"""One face descriptor, shape (D,), in the space where the model card's metric applies."""


@dataclass(frozen=True, slots=True)
class ModelCard:
    """What an embedder is, so evidence in the log can name it and audits can check it."""

    name: str
    version: str
    input_size: int
    embedding_size: int
    metric: str
    default_threshold: float
    weights_sha256: str
    notes: str = ""

    @property
    def model_version(self) -> str:
        """The id recorded in events: name, version and the first 12 hex digits of the weights hash."""
        return f"{self.name}@{self.version}+{self.weights_sha256[:12]}"


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face: box (x1, y1, x2, y2), detector probability, five landmarks (x, y)."""

    box: tuple[float, float, float, float]
    probability: float
    landmarks: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class QualityReport:
    """The verdict of the quality gates; ``reasons`` are machine-readable codes such as ``too_blurry``."""

    ok: bool
    reasons: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FaceSample:
    """A face with its quality verdict and, when it passed the gates, its embedding."""

    face: Face
    quality: QualityReport
    embedding: Embedding | None


@dataclass(frozen=True, slots=True)
class FrameAnalysis:
    """Everything recognition saw in one frame; ``primary`` is the face the gates chose, if any."""

    samples: tuple[FaceSample, ...]
    primary: FaceSample | None
    rejection: str | None
    detect_ms: float
    embed_ms: float


class Embedder(Protocol):
    """A face-descriptor network behind one interface."""

    @property
    def card(self) -> ModelCard:
        """The model card."""
        ...

    def embed(self, image: Image, faces: list[Face]) -> list[Embedding]:
        """Align each face on the model's canonical template and return one descriptor per face."""
        ...


class FacePipeline(Protocol):
    """Detection, quality gates, alignment and embedding of one frame."""

    @property
    def card(self) -> ModelCard:
        """The embedder's model card."""
        ...

    def analyse(self, image: Image) -> FrameAnalysis:
        """Detect faces, judge them, embed the one that passes (or report why none did)."""
        ...


class Detector(Protocol):
    """A face detector: every face in an RGB frame, most probable first."""

    def detect(self, image: Image) -> list[Face]:
        """Detect faces."""
        ...
