"""Cohort score normalisation: one threshold that holds across populations.

Raw distances are not comparable across populations: with dlib-resnet, East Asian strangers sit much
closer together than the faces the model was mostly trained on. Symmetric cohort normalisation
(AS-norm) rescales a distance by how close each face usually is to *other* people: with ``mu``/``sd``
the mean/std of a face's ``k`` smallest distances to a cohort of non-enrolled identities,

    score = ((d - mu_a) / sd_a + (d - mu_b) / sd_b) / 2        (lower = more alike)

Calibrate the score threshold at the target FAR once, on any population; it then holds on others
(measured in the module docstring of ``tests/recognition/pipeline/test_cohort.py``). For identification,
compute each template's stats once at enrolment and the probe's once per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from recognition.errors import RecognitionError
from recognition.types import ModelCard

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class CohortStats:
    """How close a face usually is to other people: mean and std of its k nearest cohort distances."""

    mean: float
    std: float


class CohortNormaliser:
    """Normalises euclidean distances against a fixed cohort of embeddings (M, D)."""

    def __init__(self, cohort: Floats, k: int = 20) -> None:
        if cohort.ndim != 2 or len(cohort) < k:
            raise RecognitionError(f"cohort needs at least k={k} embeddings as an (M, D) array, got {cohort.shape}")
        self.cohort = np.ascontiguousarray(cohort, dtype=np.float32)
        self.k = k
        self._squared = (self.cohort**2).sum(axis=1)

    def stats(self, embeddings: Floats) -> list[CohortStats]:
        """Cohort statistics of each row of ``embeddings`` (N, D)."""
        x = np.atleast_2d(embeddings).astype(np.float32)
        squared = (x**2).sum(axis=1)[:, None] + self._squared[None, :] - 2 * x @ self.cohort.T
        nearest = np.sqrt(np.maximum(np.partition(squared, self.k - 1, axis=1)[:, : self.k], 0))
        return [CohortStats(float(m), float(s) + 1e-6) for m, s in zip(nearest.mean(1), nearest.std(1), strict=True)]

    @staticmethod
    def score(distance: float | Floats, a: CohortStats, b: CohortStats | list[CohortStats]) -> Floats:
        """Normalise distance(s) between a probe (stats ``a``) and one or many references (stats ``b``)."""
        refs = [b] if isinstance(b, CohortStats) else b
        mean = np.array([r.mean for r in refs], dtype=np.float32)
        std = np.array([r.std for r in refs], dtype=np.float32)
        d = np.asarray(distance, dtype=np.float32)
        return np.asarray(0.5 * ((d - a.mean) / a.std + (d - mean) / std), dtype=np.float32)

    def save(self, path: Path) -> None:
        """Write the cohort as ``.npz`` (embeddings and k)."""
        np.savez_compressed(path, cohort=self.cohort, k=np.int64(self.k))

    @classmethod
    def load(cls, path: Path) -> CohortNormaliser:
        """Read a cohort written by ``save``."""
        try:
            with np.load(path) as data:
                return cls(data["cohort"], int(data["k"]))
        except (OSError, KeyError, ValueError) as exc:
            raise RecognitionError(f"{path}: not a cohort file ({exc})") from exc


def save_cohort(path: Path, identities: Floats, model_version: str) -> None:
    """Write one template per non-enrolled identity (M, D) for the model that made them."""
    np.savez_compressed(path, identities=identities.astype(np.float32), model_version=np.str_(model_version))


def load_cohort(path: Path, card: ModelCard) -> Floats:
    """Read a cohort written by ``save_cohort``; refused unless the same model (weights included) made it."""
    try:
        with np.load(path) as data:
            identities, version = np.asarray(data["identities"], dtype=np.float32), str(data["model_version"])
    except (OSError, KeyError, ValueError) as exc:
        raise RecognitionError(f"{path}: not a cohort file from `lockers cohort build` ({exc})") from exc
    if version != card.model_version:
        raise RecognitionError(f"{path}: cohort of {version}, but the model is {card.model_version}; rebuild it")
    if identities.ndim != 2 or identities.shape[1] != card.embedding_size:
        raise RecognitionError(f"{path}: cohort rows are {identities.shape}, expected (M, {card.embedding_size})")
    return identities
