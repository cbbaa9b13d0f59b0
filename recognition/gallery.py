"""1:N identification: a vectorised nearest-neighbour search over the templates of occupied compartments.

The templates live in one contiguous float32 matrix (rows grow by doubling, removal swaps the last row
in), so a search is one BLAS matrix-vector product and two ``argmax`` passes: no Python loop, no sort.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recognition.errors import RecognitionError
from recognition.types import Embedding

METRICS = ("euclidean", "cosine")
"""Supported distance metrics (the model card's ``metric``)."""

FloatArray = npt.NDArray[np.float32]

COHORT_SUBJECT = "cohort"
"""Subject id of a runner-up taken from the cohort of non-enrolled identities."""


class GalleryError(RecognitionError):
    """A template or probe does not fit the gallery (wrong shape, not finite, unknown metric)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One enrolled compartment and its distance to the probe."""

    compartment_id: str
    subject_id: str
    distance: float


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The nearest template and the nearest template of any other compartment."""

    best: Candidate | None
    runner_up: Candidate | None


def unit(vectors: FloatArray) -> FloatArray:
    """L2-normalise along the last axis (zero vectors stay zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    scaled: FloatArray = (vectors / np.maximum(norms, np.float32(1e-12))).astype(np.float32)
    return scaled


def pairwise_distances(a: FloatArray, b: FloatArray, metric: str) -> FloatArray:
    """Distances between every row of ``a`` and every row of ``b`` under ``metric``."""
    _check_metric(metric)
    if metric == "cosine":
        return (1.0 - unit(a) @ unit(b).T).astype(np.float32)
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    distances: FloatArray = np.sqrt(np.maximum(squared, 0.0)).astype(np.float32)
    return distances


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise GalleryError(f"unknown metric {metric!r}; expected one of {METRICS}")


class Gallery:
    """Templates keyed by compartment id; thread-safe (the worker searches while the service edits)."""

    def __init__(self, dimensions: int, metric: str = "euclidean", capacity: int = 64) -> None:
        _check_metric(metric)
        self.dimensions = dimensions
        self.metric = metric
        self._rows = np.zeros((max(capacity, 1), dimensions), dtype=np.float32)
        self._half_norms = np.zeros(max(capacity, 1), dtype=np.float32)
        self._ids: list[str] = []
        self._subjects: list[str] = []
        self._index: dict[str, int] = {}
        self._cohort: FloatArray | None = None
        self._lock = threading.Lock()

    def set_cohort(self, identities: FloatArray) -> None:
        """Non-enrolled identities (M, D): the runner-up when fewer than two compartments are occupied."""
        rows = np.stack([self._prepare(row) for row in identities]) if len(identities) else None
        with self._lock:
            self._cohort = rows

    def __len__(self) -> int:
        """Number of enrolled compartments."""
        return len(self._ids)

    def __contains__(self, compartment_id: object) -> bool:
        """Whether a compartment has a template here."""
        return compartment_id in self._index

    def add(self, compartment_id: str, template: Embedding, subject_id: str = "") -> None:
        """Enrol (or replace) the template of one compartment."""
        row = self._prepare(template)
        with self._lock:
            at = self._index.get(compartment_id)
            if at is None:
                at = self._append_slot(compartment_id, subject_id)
            self._subjects[at] = subject_id
            self._store(at, row)

    def remove(self, compartment_id: str) -> None:
        """Forget a compartment's template; unknown ids are ignored."""
        with self._lock:
            at = self._index.pop(compartment_id, None)
            if at is None:
                return
            last = len(self._ids) - 1
            if at != last:
                self._move(last, at)
            self._ids.pop()
            self._subjects.pop()

    def search(self, probe: Embedding) -> SearchResult:
        """The nearest compartment and the runner-up (the nearest other compartment)."""
        query = self._prepare(probe)
        with self._lock:
            count = len(self._ids)
            if count == 0:
                return SearchResult(None, None)
            # Maximising t.q - |t|^2/2 minimises |t - q|^2 (cosine rows are unit, so this is t.q).
            scores = self._rows[:count] @ query
            scores -= self._half_norms[:count]
            best = int(scores.argmax())
            best_candidate = self._candidate(best, float(scores[best]), query)
            if count == 1:
                return SearchResult(best_candidate, self._cohort_runner_up(query))
            scores[best] = -np.inf
            second = int(scores.argmax())
            return SearchResult(best_candidate, self._candidate(second, float(scores[second]), query))

    def _cohort_runner_up(self, query: FloatArray) -> Candidate | None:
        # Open-set margin: with one template there is no other compartment, so the nearest stranger
        # stands in for it and a face that is as close to a stranger as to the owner is not sure enough.
        if self._cohort is None:
            return None
        distances = pairwise_distances(query[None, :], self._cohort, self.metric)[0]
        return Candidate("", COHORT_SUBJECT, float(distances.min()))

    def _candidate(self, at: int, score: float, query: FloatArray) -> Candidate:
        if self.metric == "cosine":
            distance = 1.0 - score
        else:
            distance = float(np.sqrt(max(float(query @ query) - 2.0 * score, 0.0)))
        return Candidate(self._ids[at], self._subjects[at], distance)

    def _prepare(self, vector: Embedding) -> FloatArray:
        row = np.asarray(vector, dtype=np.float32)
        if row.shape != (self.dimensions,):
            raise GalleryError(f"expected a vector of shape ({self.dimensions},), got {row.shape}")
        if not np.all(np.isfinite(row)):
            raise GalleryError("vector contains NaN or infinity")
        return unit(row) if self.metric == "cosine" else row

    def _append_slot(self, compartment_id: str, subject_id: str) -> int:
        at = len(self._ids)
        if at == len(self._rows):
            self._rows = np.concatenate([self._rows, np.zeros_like(self._rows)])
            self._half_norms = np.concatenate([self._half_norms, np.zeros_like(self._half_norms)])
        self._ids.append(compartment_id)
        self._subjects.append(subject_id)
        self._index[compartment_id] = at
        return at

    def _store(self, at: int, row: FloatArray) -> None:
        self._rows[at] = row
        self._half_norms[at] = 0.0 if self.metric == "cosine" else 0.5 * float(row @ row)

    def _move(self, source: int, target: int) -> None:
        self._rows[target] = self._rows[source]
        self._half_norms[target] = self._half_norms[source]
        self._ids[target] = self._ids[source]
        self._subjects[target] = self._subjects[source]
        self._index[self._ids[target]] = target
