"""Agreement: threshold, margin over the runner-up, k of n frames, window expiry, evidence."""

from __future__ import annotations

import numpy as np
import pytest

from controller.domain.errors import ConfigError
from recognition.gallery import Candidate, SearchResult
from recognition.pipeline.agreement import AgreementPolicy, FrameAgreement

POLICY = AgreementPolicy(threshold=0.5, margin=0.1, frames_required=3, frames_window=5, window_s=2.0)


def frame(best: float, runner_up: float | None = None, cid: str = "A") -> SearchResult:
    second = None if runner_up is None else Candidate("B", "sB", runner_up)
    return SearchResult(Candidate(cid, f"s{cid}", best), second)


def agreement() -> FrameAgreement:
    return FrameAgreement(POLICY, "dlib-resnet@1+abc")


def test_k_agreeing_frames_accept_with_full_evidence() -> None:
    agree = agreement()
    first = agree.observe(frame(0.3, 0.8), now=0.0)
    second = agree.observe(frame(0.35, 0.9), now=0.1)
    assert first is not None and second is not None
    assert not first.accepted and not second.accepted
    assert second.evidence.frames_agreeing == 2
    third = agree.observe(frame(0.32, 0.7), now=0.2)
    assert third is not None and third.accepted
    assert (third.compartment_id, third.evidence.subject_id) == ("A", "sA")
    assert (third.evidence.distance, third.evidence.runner_up_distance) == (0.32, 0.7)
    assert (third.evidence.threshold, third.evidence.margin) == (0.5, 0.1)
    assert (third.evidence.frames_agreeing, third.evidence.frames_considered) == (3, 3)
    assert third.evidence.model_version == "dlib-resnet@1+abc"


def test_acceptance_consumes_the_window() -> None:
    agree = agreement()
    for t in range(3):
        match = agree.observe(frame(0.3), now=t * 0.1)
    assert match is not None and match.accepted
    again = agree.observe(frame(0.3), now=0.4)
    assert again is not None and not again.accepted and again.evidence.frames_considered == 1


def test_beyond_the_near_miss_band_is_an_unknown_face() -> None:
    agree = agreement()
    for t in range(5):
        match = agree.observe(frame(0.56), now=t * 0.1)
    assert match is not None
    assert match.compartment_id is None and match.evidence.subject_id == "" and not match.accepted
    assert match.evidence.distance == 0.56 and match.evidence.frames_agreeing == 0


def test_a_near_miss_names_its_compartment_but_never_accepts() -> None:
    agree = agreement()
    matches = [agree.observe(frame(0.54), now=t * 0.1) for t in range(5)]
    assert all(m is not None and m.compartment_id == "A" and not m.accepted for m in matches)
    assert matches[-1] is not None and matches[-1].evidence.frames_considered == 5  # a full window: a failed attempt


def test_blank_frames_before_a_face_do_not_fill_its_window() -> None:
    agree = agreement()
    for t in range(4):
        agree.observe_miss(now=t * 0.1)
    probe = np.ones(4, dtype=np.float32)
    first = agree.observe(frame(0.3), now=0.5, probe=probe)
    assert first is not None and first.evidence.frames_considered == 1


def test_a_new_face_restarts_the_window() -> None:
    agree = agreement()
    stranger, owner = np.zeros(4, dtype=np.float32), np.ones(4, dtype=np.float32)
    for t in range(3):
        agree.observe(frame(0.65, cid="B"), now=t * 0.1, probe=stranger)
    first = agree.observe(frame(0.3), now=0.4, probe=owner)
    assert first is not None and (first.evidence.frames_considered, first.evidence.frames_agreeing) == (1, 1)
    agree.observe(frame(0.3), now=0.5, probe=owner + 0.01)
    third = agree.observe(frame(0.3), now=0.6, probe=owner)
    assert third is not None and third.accepted  # the same face keeps its window: 3 of 3


def test_ambiguous_runner_up_never_accepts() -> None:
    agree = agreement()
    for t in range(5):
        match = agree.observe(frame(0.3, 0.35), now=t * 0.1)
    assert match is not None and not match.accepted
    assert match.compartment_id == "A" and match.evidence.frames_agreeing == 0


def test_margin_boundary_is_inclusive() -> None:
    assert agreement().vote_of(frame(0.3, 0.4 + 1e-9)) == "A"
    assert agreement().vote_of(frame(0.3, 0.39)) is None


def test_votes_outside_the_window_expire() -> None:
    agree = agreement()
    agree.observe(frame(0.3), now=0.0)
    agree.observe(frame(0.3), now=0.5)
    late = agree.observe(frame(0.3), now=2.6)
    assert late is not None and not late.accepted
    assert late.evidence.frames_considered == 1


def test_only_last_n_frames_count() -> None:
    agree = agreement()
    agree.observe(frame(0.3), now=0.0)
    agree.observe(frame(0.3), now=0.1)
    for t in (0.2, 0.3, 0.4):
        agree.observe(frame(0.3, cid="C"), now=t)
    # The third C frame accepted C and cleared the window.
    match = agree.observe(frame(0.3), now=0.5)
    assert match is not None and match.evidence.frames_considered == 1


def test_disagreeing_and_missing_frames_do_not_count() -> None:
    agree = agreement()
    agree.observe(frame(0.3), now=0.0)
    agree.observe(frame(0.3, cid="C"), now=0.1)
    agree.observe_miss(now=0.2)
    match = agree.observe(frame(0.3), now=0.3)
    assert match is not None and not match.accepted
    assert (match.evidence.frames_agreeing, match.evidence.frames_considered) == (2, 4)
    match = agree.observe(frame(0.3), now=0.4)
    assert match is not None and match.accepted


def test_empty_gallery_counts_as_a_miss() -> None:
    agree = agreement()
    assert agree.observe(SearchResult(None, None), now=0.0) is None


@pytest.mark.parametrize(
    "kwargs",
    [{"threshold": 0}, {"threshold": 0.5, "margin": -1}, {"threshold": 0.5, "frames_required": 6},
     {"threshold": 0.5, "frames_required": 0}, {"threshold": 0.5, "window_s": 0}],
)
def test_invalid_policy(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        AgreementPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_rule_rejects_an_attempt_once_its_window_fills_without_agreement() -> None:
    agree = agreement()
    # A near miss: named, never accepted; the fifth frame fills the window and the attempt has failed.
    matches = [agree.observe(frame(0.54), now=t * 0.1) for t in range(5)]
    assert [m is not None and m.rejected for m in matches] == [False, False, False, False, True]
    assert not any(m is not None and m.accepted for m in matches)


def test_an_accepted_match_is_never_rejected() -> None:
    agree = agreement()
    matches = [agree.observe(frame(0.54 if t < 2 else 0.3), now=t * 0.1) for t in range(5)]
    last = matches[-1]
    assert last is not None and last.accepted and not last.rejected
