"""A clip's windows replayed through the compartment's attempt rule: what a person meets at the kiosk."""

from __future__ import annotations

from recognition.evaluation.transactions import AttemptRule, summary, transactions

RULE = AttemptRule(max_attacks=2, max_failures=3)
GATED = "too_few_frames:not_frontal"


def test_gate_refusals_decide_nothing_and_a_live_window_accepts() -> None:
    # A person turning to profile and back: the kiosk asks them to look at the camera, then opens.
    assert transactions([GATED, GATED, "no_face", "live"], RULE) == (1, 0, 0)


def test_one_liveness_refusal_then_a_live_window_is_one_accepted_transaction() -> None:
    assert transactions(["passive", GATED, "live", "live"], RULE) == (2, 0, 0)


def test_two_liveness_refusals_in_a_row_raise_the_alarm_that_ends_the_transaction() -> None:
    assert transactions(["passive", "passive", "live"], RULE) == (1, 1, 0)
    assert transactions(["passive", GATED, "replay", "live"], RULE) == (1, 1, 0)  # gated windows in between


def test_the_failure_limit_ends_a_transaction_when_attacks_are_allowed_in_a_row() -> None:
    lenient = AttemptRule(max_attacks=5, max_failures=3)
    assert transactions(["passive", "flat_motion", "passive", "live"], lenient) == (1, 1, 0)


def test_a_clip_ending_mid_transaction_leaves_it_open() -> None:
    assert transactions(["live", "passive"], RULE) == (1, 0, 1)
    assert transactions([GATED, "no_face"], RULE) == (0, 0, 0)


def test_summary_counts_errors_by_source() -> None:
    live = summary([["passive", "passive"], ["live"], ["passive", "live"]], RULE, attack=False)
    assert (live["transactions"], live["refused"], live["rate"]) == (3, 1, 1 / 3)
    screen = summary([["passive", "live"], ["passive", "passive"]], RULE, attack=True)
    assert (screen["transactions"], screen["accepted"], screen["rate"]) == (2, 1, 0.5)
    assert 0.5 < float(screen["upper_95"]) <= 1.0
