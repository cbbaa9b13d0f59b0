"""The face pipeline: detection, quality gates, alignment and embedding of one frame."""

from __future__ import annotations

import time
from pathlib import Path

from recognition.models.embedder import load_embedder
from recognition.models.zoo import FusedEmbedder
from recognition.pipeline.beside import primary_found
from recognition.pipeline.detector import DetectorConfig, MtcnnDetector
from recognition.pipeline.images import ensure_rgb
from recognition.pipeline.quality import QualityConfig, assess, select_primary
from recognition.types import Embedder, Embedding, FaceSample, FrameAnalysis, Image, ModelCard

KIOSK_MIN_FACE = 80
"""MTCNN minimum face size (pixels) for a kiosk camera: faces are close, and the detector much faster."""


class MtcnnPipeline:
    """MTCNN + quality gates + an embedder (implements ``recognition.types.FacePipeline``)."""

    def __init__(self, detector: MtcnnDetector, embedder: Embedder, quality: QualityConfig) -> None:
        self.detector = detector
        self.embedder = embedder
        self.quality = quality

    @property
    def card(self) -> ModelCard:
        """The embedder's model card."""
        return self.embedder.card

    def analyse(self, image: Image) -> FrameAnalysis:
        """Detect faces, judge them, embed the primary face if it passes (or report why none did)."""
        image = ensure_rgb(image)
        start = time.perf_counter()
        faces = self.detector.detect(image)
        detect_ms = (time.perf_counter() - start) * 1000
        reports = [assess(image, face, self.quality) for face in faces]
        index, rejection = select_primary(faces, self.quality, image.shape)
        embedding: Embedding | None = None
        embed_ms = 0.0
        if index is not None and reports[index].ok:
            primary_found(image, faces[index])  # work beside the embedding starts here (see ``beside``)
            start = time.perf_counter()
            embedding = self.embedder.embed(image, [faces[index]])[0]
            embed_ms = (time.perf_counter() - start) * 1000
        elif index is not None:
            rejection = reports[index].reasons[0]
        samples = tuple(
            FaceSample(face, report, embedding if i == index else None)
            for i, (face, report) in enumerate(zip(faces, reports, strict=True))
        )
        primary = samples[index] if index is not None else None
        return FrameAnalysis(samples, primary, rejection, detect_ms, embed_ms)

    def close(self) -> None:
        """Stop the embedder's idle worker threads where it has any (a fusion's parts start them again)."""
        if isinstance(self.embedder, FusedEmbedder):
            self.embedder.close()


def build_pipeline(
    model: str | Path = "dlib-resnet",
    *,
    device: str = "cpu",
    min_face_size: int = KIOSK_MIN_FACE,
    quality: QualityConfig | None = None,
    threads: int | None = None,
    models_root: Path | None = None,
) -> MtcnnPipeline:
    """Build the pipeline for a registered model name or a fine-tuned checkpoint path.

    ``threads`` sets torch's intra-op thread count (process-wide); None leaves it as it is.
    """
    if threads is not None:
        set_threads(threads)
    detector = MtcnnDetector(DetectorConfig(min_face_size=min_face_size, device=device))
    embedder = load_embedder(model, device=device, root=models_root)
    return MtcnnPipeline(detector, embedder, quality or QualityConfig())


def set_threads(threads: int) -> None:
    """Set torch's intra-op thread count."""
    import torch

    torch.set_num_threads(max(1, threads))
