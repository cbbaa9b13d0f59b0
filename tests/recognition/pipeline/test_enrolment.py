"""Enrolment: normalised mean, outlier rejection with reasons, minimum good samples."""

from __future__ import annotations

import numpy as np
import pytest

from controller.domain.errors import ConfigError
from recognition.fakes import FAKE_CARD, FakeFacePipeline, analysis
from recognition.pipeline.enrolment import (
    INCONSISTENT,
    EnrolmentError,
    EnrolmentPolicy,
    build_template,
    normalised_mean,
)
from recognition.types import FrameAnalysis

PIPELINE = FakeFacePipeline()
POLICY = EnrolmentPolicy.for_card(FAKE_CARD)


def frames(*identities: int) -> list[FrameAnalysis]:
    return [PIPELINE.analyse(PIPELINE.frame(i)) for i in identities]


def test_template_is_close_to_the_person() -> None:
    result = build_template(frames(7, 7, 7, 7), POLICY)
    assert result.used == (0, 1, 2, 3) and result.rejections == ()
    assert result.template.dtype == np.float32 and result.template.shape == (32,)
    assert np.linalg.norm(result.template - PIPELINE.embedding_of(7)) < 0.05
    assert result.spread < 0.1


def test_outlier_is_rejected_with_a_reason() -> None:
    result = build_template(frames(7, 7, 9, 7), POLICY)
    assert result.used == (0, 1, 3)
    (rejection,) = result.rejections
    assert rejection.index == 2 and rejection.reason == INCONSISTENT
    assert "median distance" in rejection.detail


def test_frames_without_face_are_rejected_with_the_pipelines_reason() -> None:
    samples = frames(7, 0, 7, 255, 7)
    result = build_template(samples, POLICY)
    assert result.used == (0, 2, 4)
    assert [(r.index, r.reason) for r in result.rejections] == [(1, "no_face"), (3, "too_blurry")]


def test_two_people_cannot_enrol_together() -> None:
    with pytest.raises(EnrolmentError, match="0 of 6") as info:
        build_template(frames(7, 7, 7, 9, 9, 9), POLICY)
    assert {r.reason for r in info.value.rejections} == {INCONSISTENT}


def test_too_few_good_samples() -> None:
    with pytest.raises(EnrolmentError, match="only 2 of 4 samples usable; enrolment needs 3"):
        build_template(frames(7, 0, 7, 0), POLICY)


def test_normalised_mean_weighs_samples_equally_and_keeps_scale() -> None:
    vectors = np.array([[2.0, 0.0], [0.0, 1.0]], np.float32)
    mean = normalised_mean(vectors, "euclidean")
    np.testing.assert_allclose(mean, np.array([1.5, 1.5]) / np.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(normalised_mean(vectors, "cosine")), 1.0, rtol=1e-6)


def test_analysis_helper_reasons() -> None:
    assert analysis(None).rejection == "no_face"
    assert analysis(None, "too_dark").primary is None


def test_invalid_policy() -> None:
    with pytest.raises(ConfigError):
        EnrolmentPolicy(max_spread=0.0)
