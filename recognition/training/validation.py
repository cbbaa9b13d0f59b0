"""Verification metrics on the validation identities: every genuine pair, impostor pairs up to a cap.

Scoring reuses ``recognition.gallery.pairwise_distances`` (the model card's metric) and
``recognition.evaluation.metrics.summarise`` (TAR at FAR 1e-2 and 1e-3, best accuracy, AUC, EER, thresholds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from recognition.evaluation.metrics import TARGET_FARS, summarise
from recognition.gallery import pairwise_distances
from recognition.models.embedder import TorchEmbedder

MAX_IMPOSTORS = 50_000
"""Enough impostor pairs to resolve FAR 1e-3 fifty times over, few enough to score in a second."""
PRIMARY = "0.01"
"""The early-stopping and model-selection metric: TAR at FAR = 1e-2."""


@dataclass(frozen=True, slots=True)
class Verification:
    """What the validation identities say about an embedding."""

    tar_at_far: dict[str, float]
    threshold_at_far: dict[str, float]
    best_accuracy: float
    best_threshold: float
    auc: float
    eer: float
    genuine_pairs: int
    impostor_pairs: int

    @property
    def primary(self) -> float:
        """TAR at FAR = 1e-2."""
        return self.tar_at_far[PRIMARY]

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able form."""
        return asdict(self)


def embed_chips(embedder: TorchEmbedder, chips: npt.NDArray[np.uint8], batch_size: int = 64) -> npt.NDArray[np.float32]:
    """Descriptors of aligned chips, in batches (the network is put in eval mode)."""
    embedder.network.eval()
    parts = [embedder.embed_chips(chips[i : i + batch_size]) for i in range(0, len(chips), batch_size)]
    return np.concatenate(parts).astype(np.float32)


def verify(
    embeddings: npt.NDArray[np.float32],
    names: Sequence[str],
    metric: str,
    seed: int = 0,
    fars: tuple[float, ...] = TARGET_FARS,
) -> Verification:
    """Score all genuine pairs and up to ``MAX_IMPOSTORS`` impostor pairs (sampled with ``seed``) at ``fars``."""
    labels = np.unique(np.asarray(names), return_inverse=True)[1]
    first, second = np.triu_indices(len(labels), k=1)
    same = labels[first] == labels[second]
    keep = _capped(same, seed)
    first, second, same = first[keep], second[keep], same[keep]
    if not np.isfinite(embeddings).all():
        return _diverged(fars, int(same.sum()), int((~same).sum()))
    distances = pairwise_distances(embeddings, embeddings, metric)[first, second].astype(np.float64)
    summary = summarise(distances, same, fars)
    return Verification(
        tar_at_far=summary.tar_at_far,
        threshold_at_far=summary.threshold_at_far,
        best_accuracy=summary.best_accuracy,
        best_threshold=summary.best_threshold,
        auc=summary.auc,
        eer=summary.eer,
        genuine_pairs=summary.genuine,
        impostor_pairs=summary.impostor,
    )


def _diverged(fars: tuple[float, ...], genuine: int, impostor: int) -> Verification:
    # A network that outputs NaN or infinity (a diverged epoch) accepts nobody: the worst possible scores.
    zeros = {f"{far:g}": 0.0 for far in fars}
    return Verification(dict(zeros), dict(zeros), 0.0, 0.0, 0.0, 1.0, genuine, impostor)


def _capped(same: npt.NDArray[np.bool_], seed: int) -> npt.NDArray[np.bool_]:
    impostors = np.flatnonzero(~same)
    if impostors.size <= MAX_IMPOSTORS:
        return np.ones_like(same)
    keep = same.copy()
    keep[np.random.default_rng(seed).choice(impostors, MAX_IMPOSTORS, replace=False)] = True
    return keep
