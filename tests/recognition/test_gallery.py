"""Gallery: identification agrees with a brute-force search, under edits, in both metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recognition.gallery import Gallery, GalleryError, pairwise_distances


def brute_force(entries: dict[str, np.ndarray], probe: np.ndarray, metric: str) -> list[tuple[float, str]]:
    ids = sorted(entries)
    distances = pairwise_distances(np.stack([entries[i] for i in ids]), probe[None, :], metric)[:, 0]
    return sorted(zip(distances.tolist(), ids, strict=True))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 150), removals=st.integers(0, 40))
def test_search_matches_brute_force(metric: str, seed: int, size: int, removals: int) -> None:
    rng = np.random.default_rng(seed)
    gallery = Gallery(16, metric, capacity=4)
    entries = {f"c{i}": rng.standard_normal(16).astype(np.float32) for i in range(size)}
    for cid, vector in entries.items():
        gallery.add(cid, vector, subject_id=f"s-{cid}")
    for cid in rng.choice(sorted(entries), size=min(removals, size - 1), replace=False):
        gallery.remove(str(cid))
        del entries[str(cid)]
    probe = rng.standard_normal(16).astype(np.float32)
    expected = brute_force(entries, probe, metric)
    result = gallery.search(probe)
    assert result.best is not None
    assert result.best.compartment_id == expected[0][1]
    assert result.best.subject_id == f"s-{expected[0][1]}"
    assert result.best.distance == pytest.approx(expected[0][0], abs=1e-4)
    if len(expected) > 1:
        assert result.runner_up is not None
        assert result.runner_up.distance == pytest.approx(expected[1][0], abs=1e-4)
    else:
        assert result.runner_up is None
    assert len(gallery) == len(entries)


def test_empty_gallery_finds_nothing() -> None:
    result = Gallery(4).search(np.ones(4, np.float32))
    assert result.best is None and result.runner_up is None


def test_replace_and_remove() -> None:
    gallery = Gallery(2)
    gallery.add("a", np.array([1, 0], np.float32))
    gallery.add("a", np.array([0, 1], np.float32))
    gallery.remove("missing")
    assert len(gallery) == 1 and "a" in gallery
    best = gallery.search(np.array([0, 1], np.float32)).best
    assert best is not None and best.distance == pytest.approx(0.0, abs=1e-6)
    gallery.remove("a")
    assert "a" not in gallery and gallery.search(np.array([0, 1], np.float32)).best is None


@pytest.mark.parametrize("bad", [np.zeros(3, np.float32), np.array([np.nan, 0], np.float32)])
def test_bad_vectors_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(GalleryError):
        Gallery(2).add("a", bad)


def test_unknown_metric() -> None:
    with pytest.raises(GalleryError, match="unknown metric"):
        Gallery(2, "manhattan")
