"""End-to-end evaluation runs behind ``lockers eval``: LFW pairs files and folder-per-identity data."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from recognition.evaluation.datasets import (
    EmbeddedImages,
    FaceEmbedder,
    embed_paths,
    folder_identities,
    folder_pairs,
    pair_distances,
    pairs_report,
    read_pairs,
    read_people,
)
from recognition.evaluation.metrics import rank1_leave_one_out, roc_curve

Progress = Callable[[list[Path]], Iterable[Path]]


def evaluate_pairs(
    pairs_file: Path, images: Path, embed: FaceEmbedder, threshold: float, progress: Progress | None = None
) -> tuple[dict[str, Any], RocPoints]:
    """Verification on an LFW pairs file: the report and the ROC points for plotting."""
    pairs = read_pairs(pairs_file, images)
    embedded = embed_paths([p for pair in pairs for p in (pair.a, pair.b)], embed, progress)
    return pairs_report(pairs, embedded, threshold), _roc(pairs_file.name, pairs, embedded)


def evaluate_folder(
    folder: Path,
    embed: FaceEmbedder,
    threshold: float,
    *,
    people: Path | None = None,
    mismatched: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], RocPoints]:
    """All matched pairs, sampled mismatched pairs and leave-one-out rank-1 identification on a folder."""
    identities = folder_identities(folder, read_people(people, folder) if people else None)
    pairs = folder_pairs(identities, seed=seed, mismatched=mismatched)
    paths = [p for paths in identities.values() for p in paths]
    embedded = embed_paths(paths, embed, progress)
    report = pairs_report(pairs, embedded, threshold)
    report.update(identities=len(identities), images=len(paths), **_identification(identities, embedded))
    return report, _roc(folder.name, pairs, embedded)


def _identification(identities: dict[str, list[Path]], embedded: EmbeddedImages) -> dict[str, Any]:
    found = [(name, embedded.embeddings[p]) for name, paths in identities.items() for p in paths]
    kept = [(name, emb) for name, emb in found if emb is not None]
    if len(kept) < 2:
        return {"rank1": None, "rank1_images": len(kept)}
    labels = [name for name, _ in kept]
    matrix = np.stack([emb for _, emb in kept])
    return {"rank1": rank1_leave_one_out(matrix, labels), "rank1_images": len(kept)}


RocPoints = tuple[str, Any, Any]


def _roc(label: str, pairs: list[Any], embedded: EmbeddedImages) -> RocPoints:
    distances = pair_distances(pairs, embedded.embeddings)
    far, tar, _ = roc_curve(distances, np.array([p.same for p in pairs], dtype=bool))
    return label, far, tar


def plot_roc(points: RocPoints, report: dict[str, Any], path: Path) -> None:
    """Write the ROC curve (TAR against FAR, log scale) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    label, far, tar = points
    figure, axes = plt.subplots(figsize=(6, 5))
    axes.plot(np.maximum(far, 1e-4), tar, label=f"{label} (AUC {report['auc']:.4f}, EER {report['eer']:.3f})")
    axes.set(xscale="log", xlim=(1e-4, 1), ylim=(0, 1.01), xlabel="false accept rate", ylabel="true accept rate")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
