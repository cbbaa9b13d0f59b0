"""Verification metrics and threshold calibration on distances (smaller = more alike); pure NumPy.

A pair is accepted when ``distance <= threshold``. FAR is the fraction of impostor (different-person)
pairs accepted, TAR the fraction of genuine pairs accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
TARGET_FARS = (0.01, 0.001)


@dataclass(frozen=True, slots=True)
class RocSummary:
    """Everything calibration needs: AUC, EER, the best-accuracy threshold, thresholds at target FARs."""

    genuine: int
    impostor: int
    auc: float
    eer: float
    best_threshold: float
    best_accuracy: float
    threshold_at_far: dict[str, float]
    tar_at_far: dict[str, float]


def rates_at(distances: Floats, same: npt.NDArray[np.bool_], threshold: float) -> tuple[float, float]:
    """(TAR, FAR) at ``threshold``."""
    accepted = distances <= threshold
    return float(accepted[same].mean()), float(accepted[~same].mean())


def accuracy_at(distances: Floats, same: npt.NDArray[np.bool_], threshold: float) -> float:
    """Fraction of pairs classified correctly at ``threshold``."""
    return float(((distances <= threshold) == same).mean())


def threshold_at_far(impostor: Floats, far: float) -> float:
    """The largest threshold whose FAR on ``impostor`` distances is at most ``far``.

    With n impostor pairs the resolution is 1/n: at most floor(far * n) impostors are accepted.
    """
    ordered = np.sort(impostor[np.isfinite(impostor)])
    if ordered.size == 0:
        return float("inf")
    allowed = int(np.floor(far * len(impostor) + 1e-9))
    if allowed >= ordered.size:
        return float(ordered[-1])
    return float(np.nextafter(ordered[allowed], -np.inf))


def roc_curve(distances: Floats, same: npt.NDArray[np.bool_]) -> tuple[Floats, Floats, Floats]:
    """(FAR, TAR, thresholds) at every distinct finite distance, thresholds ascending."""
    thresholds = np.unique(distances[np.isfinite(distances)])
    genuine, impostor = np.sort(distances[same]), np.sort(distances[~same])
    tar = np.searchsorted(genuine, thresholds, side="right") / max(genuine.size, 1)
    far = np.searchsorted(impostor, thresholds, side="right") / max(impostor.size, 1)
    return np.r_[0.0, far, 1.0], np.r_[0.0, tar, 1.0], thresholds


def summarise(distances: Floats, same: npt.NDArray[np.bool_], fars: tuple[float, ...] = TARGET_FARS) -> RocSummary:
    """AUC, EER, best accuracy and the calibrated thresholds of a set of scored pairs."""
    if same.all() or not same.any():
        raise ValueError("need both genuine and impostor pairs")
    far, tar, thresholds = roc_curve(distances, same)
    auc = float(np.trapezoid(tar, far))
    eer_index = int(np.argmin(np.abs(far - (1 - tar))))
    eer = float((far[eer_index] + 1 - tar[eer_index]) / 2)
    accuracies = [accuracy_at(distances, same, float(t)) for t in thresholds]
    best = int(np.argmax(accuracies))
    at_far = {_key(f): threshold_at_far(distances[~same], f) for f in fars}
    tar_at = {k: rates_at(distances, same, t)[0] for k, t in at_far.items()}
    return RocSummary(
        genuine=int(same.sum()),
        impostor=int((~same).sum()),
        auc=auc,
        eer=eer,
        best_threshold=float(thresholds[best]),
        best_accuracy=float(accuracies[best]),
        threshold_at_far=at_far,
        tar_at_far=tar_at,
    )


def rank1_leave_one_out(embeddings: npt.NDArray[np.float32], labels: list[str]) -> float:
    """Leave-one-out rank-1 identification: each sample against every other, nearest must share its label."""
    x = embeddings.astype(np.float64)
    squared = (x**2).sum(axis=1)
    distances = squared[:, None] + squared[None, :] - 2 * x @ x.T
    np.fill_diagonal(distances, np.inf)
    nearest = distances.argmin(axis=1)
    names = np.asarray(labels)
    return float((names[nearest] == names).mean())


def _key(far: float) -> str:
    return f"{far:g}"
