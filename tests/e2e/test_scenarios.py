"""Every scenario shipped under scenarios/, run in-process on the real stack with real faces.

Each file's own expectations must hold; then the log and the vault it left on disk are checked
(audit, replay equals live, contiguous versions, one unlock per decision, no wrong door, templates
shredded) and, per scenario, the evidence the log must carry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from controller.domain import events as ev
from tests.e2e.helpers import SCENARIOS, Outcome, assert_passed, confirmations, run_scenario

THRESHOLD = 0.45


def _demo(outcome: Outcome) -> None:
    assert [cid for cid, _ in confirmations(outcome)] == ["1"]
    assert all(d <= THRESHOLD for _, d in confirmations(outcome))
    assert len(outcome.of_type(ev.VerificationStarted)) == 1, "the stranger started a verification"
    assert outcome.run.starts == 2


def _stranger(outcome: Outcome) -> None:
    # 16 stranger frames started nothing: the only verifications are the two owners'.
    started = outcome.of_type(ev.VerificationStarted)
    assert [e.compartment_id for e in started] == ["2", "1"]
    assert all(e.evidence.within_threshold() and e.evidence.threshold == THRESHOLD for e in started)
    assert [cid for cid, _ in confirmations(outcome)] == ["2", "1"]
    assert not outcome.of_type(ev.IdentityRejected)


def _retrieve(outcome: Outcome) -> None:
    confirmed = outcome.of_type(ev.IdentityConfirmed)
    assert len(confirmed) == 1
    evidence = confirmed[0].evidence
    assert evidence.frames_agreeing >= 2 and evidence.frames_considered <= 4
    assert evidence.distance <= evidence.threshold == THRESHOLD
    assert evidence.runner_up_distance is None  # the only occupied compartment
    assert evidence.model_version.startswith("dlib-resnet@")
    assert outcome.run.unlock_calls == [1, 1]  # the deposit and the retrieval, nothing for the extra frames
    retrieved = outcome.of_type(ev.ItemRetrieved)
    deposited = outcome.of_type(ev.DepositStarted)
    assert [e.template_ref for e in retrieved] == [deposited[0].template_ref]
    assert outcome.vault_refs == set()


def _depositor_stays(outcome: Outcome) -> None:
    # Ten frames of the depositor right after the deposit started nothing; only the return did.
    assert len(outcome.of_type(ev.VerificationStarted)) == 1
    assert [cid for cid, _ in confirmations(outcome)] == ["1"]
    assert outcome.run.unlock_calls == [1, 1]  # the deposit and the one retrieval
    assert len(outcome.of_type(ev.ItemRetrieved)) == 1


def _replay_attack(outcome: Outcome) -> None:
    rejected = outcome.of_type(ev.IdentityRejected)
    assert [e.reason for e in rejected] == ["liveness_failed: replay"] * 2
    assert all(e.evidence.presentation_attack() for e in rejected)
    assert all(e.evidence.liveness_model.startswith("minifasnet@") for e in rejected)
    alarms = [e.reason for e in outcome.of_type(ev.AlarmRaised)]
    assert alarms == [ev.AlarmReason.PRESENTATION_ATTACK_SUSPECTED]
    confirmed = outcome.of_type(ev.IdentityConfirmed)
    assert len(confirmed) == 1 and confirmed[0].evidence.liveness == "live"
    assert confirmed[0].evidence.liveness_score is not None and confirmed[0].evidence.liveness_method
    assert outcome.run.unlock_calls == [1, 1]  # the deposit and the owner's retrieval, never the replay
    enrolment = outcome.of_type(ev.DepositStarted)[0].enrolment_liveness
    assert enrolment.liveness == "live" and enrolment.liveness_model.startswith("minifasnet@")


def _two_depositors(outcome: Outcome) -> None:
    assert [cid for cid, _ in confirmations(outcome)] == ["2", "1", "2"]
    subjects = {}
    for event in outcome.events:
        if isinstance(event, ev.DepositStarted):
            subjects[event.compartment_id] = event.subject_id
        elif isinstance(event, ev.IdentityConfirmed):
            evidence = event.evidence
            assert evidence.subject_id == subjects[event.compartment_id]
            assert evidence.distance is not None
            runner_up = evidence.runner_up_distance
            assert runner_up is None or runner_up - evidence.distance >= evidence.margin


def _forced_open(outcome: Outcome) -> None:
    raised = [(e.compartment_id, e.reason) for e in outcome.of_type(ev.AlarmRaised)]
    assert raised == [("1", "forced_open"), ("3", "forced_open")]
    cleared = outcome.of_type(ev.AlarmCleared)
    assert [(e.compartment_id, e.operator_id, e.resume_state) for e in cleared] == [
        ("1", "ops-7", "occupied"),
        ("3", "ops-7", "free"),
    ]
    assert cleared[0].note == "inspected, item in place"


def _door_left_open(outcome: Outcome) -> None:
    opened = [e for e in outcome.of_type(ev.DoorOpened) if e.compartment_id == "1"][-1]
    (alarm,) = outcome.of_type(ev.AlarmRaised)
    assert alarm.reason == "door_left_open"
    assert timedelta(seconds=60) <= alarm.occurred_at - opened.occurred_at <= timedelta(seconds=62)
    (cleared,) = outcome.of_type(ev.AlarmCleared)
    assert cleared.released_template_ref and cleared.resume_state == "free"
    assert outcome.vault_refs == set()


def _jammed_door(outcome: Outcome) -> None:
    expired = outcome.of_type(ev.UnlockExpired)
    assert len(expired) == 2
    retrieval, deposit = expired
    assert retrieval.released_template_ref == ""  # the item stays, the owner may try again
    assert deposit.released_template_ref != ""  # the deposit is undone, its template shredded
    assert not outcome.of_type(ev.AlarmRaised)
    assert deposit.released_template_ref not in outcome.vault_refs


def _board_lost(outcome: Outcome) -> None:
    faults = [e for e in outcome.of_type(ev.AlarmRaised) if e.reason == "lock_board_fault"]
    assert sorted(e.compartment_id for e in faults) == ["1", "2", "3"]
    resolved = outcome.of_type(ev.BoardFaultResolved)
    assert [(e.compartment_id, e.resume_state) for e in resolved] == [("1", "occupied"), ("2", "free"), ("3", "free")]
    assert not outcome.of_type(ev.AlarmCleared)
    assert len(outcome.of_type(ev.VerificationStarted)) == 1  # only the retrieval after the clear
    assert outcome.run.unlock_calls == [1, 1]


def _lockout(outcome: Outcome) -> None:
    rejected = outcome.of_type(ev.IdentityRejected)
    assert [e.failed_attempts for e in rejected] == [1, 2, 3]
    assert all(e.compartment_id == "1" and e.evidence.within_threshold() for e in rejected)
    assert len(outcome.of_type(ev.VerificationStarted)) == 3
    (alarm,) = outcome.of_type(ev.AlarmRaised)
    assert (alarm.compartment_id, alarm.reason) == ("1", "lockout")
    # attempts are at least the bridge's retry delay apart
    starts = [e.occurred_at for e in outcome.of_type(ev.VerificationStarted)]
    assert all(b - a >= timedelta(seconds=2) for a, b in zip(starts, starts[1:], strict=False))
    (cleared,) = outcome.of_type(ev.AlarmCleared)
    assert cleared.operator_id == "ops-4" and cleared.resume_state == "occupied"
    assert not outcome.of_type(ev.IdentityConfirmed)


def _lookalike_lockout(outcome: Outcome) -> None:
    # A near miss at the default decision: every attempt fails, none is ever accepted, three lock out.
    rejected = outcome.of_type(ev.IdentityRejected)
    assert [e.failed_attempts for e in rejected] == [1, 2, 3]
    evidence = [e.evidence for e in rejected]
    assert all(e.distance is not None and e.threshold < e.distance <= e.threshold * 1.1 for e in evidence)
    (alarm,) = outcome.of_type(ev.AlarmRaised)
    assert (alarm.compartment_id, alarm.reason) == ("1", "lockout")
    assert not outcome.of_type(ev.IdentityConfirmed) and outcome.run.unlock_calls == [1]


def _restart_deposit(outcome: Outcome) -> None:
    assert outcome.run.starts == 5
    assert not outcome.of_type(ev.AlarmRaised)
    retrieval, deposit = outcome.of_type(ev.UnlockExpired)
    assert retrieval.compartment_id == "1" and not retrieval.released_template_ref
    assert deposit.compartment_id == "2" and deposit.released_template_ref


def _restart_verifying(outcome: Outcome) -> None:
    assert outcome.run.starts == 2
    assert len(outcome.of_type(ev.VerificationTimedOut)) == 1
    assert not outcome.of_type(ev.IdentityRejected) and not outcome.of_type(ev.AlarmRaised)


def _restart_retrieval(outcome: Outcome) -> None:
    assert outcome.run.starts == 4
    assert not outcome.of_type(ev.AlarmRaised)
    (expired,) = outcome.of_type(ev.UnlockExpired)
    assert expired.compartment_id == "2" and expired.released_template_ref == ""
    assert [cid for cid, _ in confirmations(outcome)] == ["1", "2", "2"]


def _stale_timers(outcome: Outcome) -> None:
    assert not outcome.of_type(ev.AlarmRaised)
    (retrieved,) = outcome.of_type(ev.ItemRetrieved)
    (deposit_opening, retrieval_opening) = outcome.of_type(ev.DoorOpened)
    # The retrieval's door stayed open past the moment the deposit's timer came due.
    assert retrieved.occurred_at - deposit_opening.occurred_at > timedelta(seconds=10)
    assert retrieval_opening.version > deposit_opening.version


def _pin_retrieval(outcome: Outcome) -> None:
    confirmed = outcome.of_type(ev.PinConfirmed)
    assert [(e.compartment_id, e.kiosk) for e in confirmed] == [("2", "scenario"), ("1", "scenario")]
    assert not outcome.of_type(ev.IdentityConfirmed) and not outcome.of_type(ev.AlarmRaised)
    deposits = outcome.of_type(ev.DepositStarted)
    assert all(e.pin_ref.startswith("pin-") and e.consent_version == "v1" for e in deposits)
    retrieved = outcome.of_type(ev.ItemRetrieved)
    assert sorted(e.pin_ref for e in retrieved) == sorted(e.pin_ref for e in deposits)
    assert outcome.vault_refs == set() and outcome.pin_refs == set()
    pins = [pin for pin in outcome.run.issued_pins if pin]
    assert len(pins) == 2 and all(len(pin) == 8 and pin.isdigit() for pin in pins)
    rows = [json.dumps(event.payload()) for event in outcome.events]
    assert not [pin for pin in pins if any(pin in row for row in rows)], "a PIN reached the log"


def _pin_lockout(outcome: Outcome) -> None:
    details = [r.detail for r in outcome.run.results]
    assert sum("PIN refused: PIN not accepted" in d for d in details) == 5
    assert sum("too many wrong PINs at this kiosk" in d for d in details) == 1
    assert sum("needs the operator" in d for d in details) == 1
    (alarm,) = outcome.of_type(ev.AlarmRaised)
    assert (alarm.compartment_id, alarm.reason) == ("1", "lockout")
    assert alarm.detail == "5 wrong PINs entered while it held a PIN"
    (cleared,) = outcome.of_type(ev.AlarmCleared)
    assert (cleared.operator_id, cleared.resume_state) == ("ops-2", "occupied")
    assert [(e.compartment_id, e.kiosk) for e in outcome.of_type(ev.PinConfirmed)] == [("1", "side-door")]


def _overstay(outcome: Outcome) -> None:
    (alarm,) = outcome.of_type(ev.AlarmRaised)
    deposited = next(e for e in outcome.of_type(ev.ItemDeposited) if e.compartment_id == "1")
    assert (alarm.compartment_id, alarm.reason) == ("1", "deposit_expired")
    assert timedelta(seconds=3600) <= alarm.occurred_at - deposited.occurred_at <= timedelta(seconds=3602)
    assert [e.compartment_id for e in outcome.of_type(ev.IdentityConfirmed)] == ["2"]
    assert not outcome.of_type(ev.PinConfirmed) and not outcome.of_type(ev.VerificationStarted)[1:]
    (unlock,) = outcome.of_type(ev.MaintenanceUnlocked)
    (cleared,) = outcome.of_type(ev.AlarmCleared)
    assert (unlock.operator_id, cleared.operator_id, cleared.resume_state) == ("ops-3", "ops-3", "free")
    assert cleared.released_template_ref and cleared.released_pin_ref.startswith("pin-")
    assert outcome.vault_refs == set() and outcome.pin_refs == set()


def _erasure(outcome: Outcome) -> None:
    erased = outcome.of_type(ev.FaceErased)
    assert [(e.compartment_id, e.requested_by, e.proof, e.operator_id) for e in erased] == [
        ("1", "owner", "face", ""),
        ("2", "owner", "pin", ""),
        ("3", "operator", "operator", "ops-5"),
    ]
    deposits = {e.compartment_id: e.template_ref for e in outcome.of_type(ev.DepositStarted)}
    assert all(e.template_ref == deposits[e.compartment_id] for e in erased)
    assert not outcome.of_type(ev.VerificationStarted) and not outcome.of_type(ev.IdentityConfirmed)
    assert [e.compartment_id for e in outcome.of_type(ev.PinConfirmed)] == ["1", "2", "3"]
    assert outcome.vault_refs == set() and outcome.pin_refs == set()


def _video_owner(outcome: Outcome) -> None:
    # Real recordings played as the camera: the stranger's frames started nothing; the owner's opened door 1 once.
    assert len(outcome.of_type(ev.VerificationStarted)) == 1
    assert [cid for cid, _ in confirmations(outcome)] == ["1"]
    assert all(d <= THRESHOLD for _, d in confirmations(outcome))
    assert not outcome.of_type(ev.IdentityRejected) and not outcome.of_type(ev.AlarmRaised)
    assert outcome.run.unlock_calls == [1, 1]  # the deposit and the owner's retrieval
    assert outcome.vault_refs == set()


CHECKS: dict[str, Callable[[Outcome], None]] = {
    "demo": _demo,
    "stranger": _stranger,
    "retrieve": _retrieve,
    "two_depositors": _two_depositors,
    "forced_open": _forced_open,
    "door_left_open": _door_left_open,
    "jammed_door": _jammed_door,
    "board_lost": _board_lost,
    "lockout": _lockout,
    "lookalike_lockout": _lookalike_lockout,
    "replay_attack": _replay_attack,
    "restart_deposit": _restart_deposit,
    "restart_verifying": _restart_verifying,
    "restart_retrieval": _restart_retrieval,
    "stale_timers": _stale_timers,
    "pin_retrieval": _pin_retrieval,
    "pin_lockout": _pin_lockout,
    "overstay": _overstay,
    "erasure": _erasure,
    "video_owner": _video_owner,
    "video_other_recording": _video_owner,
    "depositor_stays": _depositor_stays,
}


def test_every_shipped_scenario_is_checked() -> None:
    assert sorted(p.stem for p in SCENARIOS.glob("*.yaml")) == sorted(CHECKS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_scenario(name: str, assets: Path, tmp_path: Path) -> None:
    outcome = run_scenario(SCENARIOS / f"{name}.yaml", tmp_path)
    assert_passed(outcome)
    CHECKS[name](outcome)
