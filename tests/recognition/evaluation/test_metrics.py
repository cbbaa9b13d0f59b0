from __future__ import annotations

import numpy as np
import pytest

from recognition.evaluation.metrics import rank1_leave_one_out, rates_at, summarise, threshold_at_far


def test_threshold_at_far_accepts_at_most_the_allowed_impostors() -> None:
    impostor = np.linspace(0.5, 1.5, 1000)
    for far in (0.01, 0.001):
        threshold = threshold_at_far(impostor, far)
        assert (impostor <= threshold).mean() <= far
        assert (impostor <= np.nextafter(threshold, np.inf) + 1e-3).mean() > far


def test_perfectly_separated_scores() -> None:
    distances = np.r_[np.full(50, 0.2), np.full(50, 0.9)]
    same = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    summary = summarise(distances, same)
    assert summary.auc == pytest.approx(1.0)
    assert summary.eer == pytest.approx(0.0)
    assert summary.best_accuracy == 1.0
    assert summary.tar_at_far == {"0.01": 1.0, "0.001": 1.0}
    assert rates_at(distances, same, 0.5) == (1.0, 0.0)


def test_summarise_needs_both_kinds() -> None:
    with pytest.raises(ValueError):
        summarise(np.zeros(3), np.ones(3, bool))


def test_rank1() -> None:
    points = np.array([[0, 0], [0.1, 0], [5, 5], [5.1, 5]], dtype=np.float32)
    assert rank1_leave_one_out(points, ["a", "a", "b", "b"]) == 1.0
    assert rank1_leave_one_out(points, ["a", "b", "a", "b"]) == 0.0
