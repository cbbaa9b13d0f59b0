"""Enrolment: normalised mean, outlier rejection with reasons, minimum good samples."""

from __future__ import annotations

import numpy as np
import pytest

from controller.domain.errors import ConfigError
from recognition.fakes import FAKE_CARD, FakeFacePipeline, analysis
from recognition.gallery import Gallery
from recognition.pipeline.agreement import AgreementPolicy
from recognition.pipeline.enrolment import (
    INCONSISTENT,
    AlreadyEnrolled,
    EnrolmentError,
    EnrolmentPolicy,
    build_template,
    normalised_mean,
    refuse_if_enrolled,
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


def _gallery_with(*templates: tuple[str, list[float]]) -> Gallery:
    gallery = Gallery(dimensions=3)
    for compartment_id, vector in templates:
        gallery.add(compartment_id, np.array(vector, dtype=np.float32), subject_id=f"s{compartment_id}")
    return gallery


RULE = AgreementPolicy(threshold=1.0, margin=0.05, near_miss=0.1)


def test_a_face_the_accept_rule_calls_an_owner_cannot_deposit_and_is_not_told_the_door() -> None:
    gallery = _gallery_with(("7", [0.0, 0.0, 0.0]))
    with pytest.raises(AlreadyEnrolled) as refused:
        refuse_if_enrolled(np.array([0.9, 0.0, 0.0], dtype=np.float32), gallery, RULE)
    assert "already has a deposit here" in str(refused.value)
    assert "compartment" not in str(refused.value) and "7" not in str(refused.value)


def test_a_lookalike_in_the_near_miss_band_may_deposit() -> None:
    gallery = _gallery_with(("7", [0.0, 0.0, 0.0]))
    for distance in (1.05, 1.08, 1.10):  # the look-alikes: above the threshold, inside the band
        refuse_if_enrolled(np.array([distance, 0.0, 0.0], dtype=np.float32), gallery, RULE)


def test_a_face_between_two_owners_is_not_called_either_of_them() -> None:
    gallery = _gallery_with(("1", [0.0, 0.0, 0.0]), ("2", [1.9, 0.0, 0.0]))
    refuse_if_enrolled(np.array([0.94, 0.0, 0.0], dtype=np.float32), gallery, RULE)  # margin 0.02 < 0.05
