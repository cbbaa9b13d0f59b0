from __future__ import annotations

import pytest

from controller.domain import commands as c
from controller.domain.compartment import Compartment, Policy
from controller.domain.effects import DestroyTemplate, Unlock, effects_of
from controller.domain.errors import TransitionRejected
from controller.domain.events import AlarmRaised, DoorOpened
from tests.controller.domain.helpers import (
    CID,
    Driven,
    clear,
    confirm,
    deposit,
    door,
    occupied,
    reject,
    sent,
    verify,
)


def test_deposit_flow_ends_occupied_and_calls_for_one_unlock() -> None:
    d = Driven()
    events = d.do(deposit())
    assert d.state == "open"
    assert effects_of(events) == [Unlock(CID, "u-1", 500)]
    assert d.names(sent()) == ["UnlockPulseSent"]
    assert d.names(door(True)) == ["DoorOpened"]
    assert d.names(door(False)) == ["DoorClosed", "ItemDeposited"]
    assert d.state == "occupied"
    assert d.compartment.template_ref == "tpl-alice"
    assert [e.version for e in d.log] == [1, 2, 3, 4, 5]


def test_retrieval_flow_frees_the_compartment_and_destroys_the_template() -> None:
    d = occupied(Driven())
    assert d.names(verify()) == ["VerificationStarted"]
    assert d.state == "verifying"
    confirmed = d.do(confirm())
    assert effects_of(confirmed) == [Unlock(CID, "u-2", 500)]
    d.do(sent("u-2"))
    d.do(door(True))
    closed = d.do(door(False))
    assert [type(e).__name__ for e in closed] == ["DoorClosed", "ItemRetrieved"]
    assert effects_of(closed) == [DestroyTemplate("tpl-alice")]
    assert d.state == "free"
    assert d.compartment.template_ref == ""


def test_replay_of_the_log_equals_the_live_state() -> None:
    d = occupied(Driven())
    d.do(verify())
    d.do(reject())
    replayed = Compartment.replay(CID, d.log)
    assert (replayed.state, replayed.version, replayed.failed_attempts) == (
        d.compartment.state,
        d.compartment.version,
        d.compartment.failed_attempts,
    )


def test_rejected_or_timed_out_verification_returns_to_occupied() -> None:
    d = occupied(Driven())
    d.do(verify())
    assert d.names(reject()) == ["IdentityRejected"]
    assert d.state == "occupied"
    d.do(verify())
    attempt = d.compartment.attempt_version
    assert d.names(c.ExpireVerification(compartment_id=CID, attempt_version=attempt)) == ["VerificationTimedOut"]
    assert d.state == "occupied"


def test_a_rejected_attempts_timer_does_not_end_the_next_attempt() -> None:
    d = occupied(Driven())
    first = d.do(verify())[0].version
    d.do(reject())
    second = d.do(verify())[0].version
    assert d.do(c.ExpireVerification(compartment_id=CID, attempt_version=first)) == []
    assert d.state == "verifying"
    assert d.names(c.ExpireVerification(compartment_id=CID, attempt_version=second)) == ["VerificationTimedOut"]


def test_unlock_never_opened_relocks_and_undoes_the_flow() -> None:
    deposit_flow = Driven()
    deposit_flow.do(deposit())
    deposit_flow.do(sent())
    expired = deposit_flow.do(c.ExpireUnlock(compartment_id=CID, unlock_id="u-1"))
    assert deposit_flow.state == "free"
    assert effects_of(expired) == [DestroyTemplate("tpl-alice")]

    retrieval = occupied(Driven())
    retrieval.do(verify())
    retrieval.do(confirm())
    expired = retrieval.do(c.ExpireUnlock(compartment_id=CID, unlock_id="u-2"))
    assert retrieval.state == "occupied"
    assert effects_of(expired) == []
    assert retrieval.compartment.template_ref == "tpl-alice"


def test_stale_unlock_timeout_changes_nothing() -> None:
    d = Driven()
    d.do(deposit())
    d.do(door(True))
    before = len(d.log)
    assert d.do(c.ExpireUnlock(compartment_id=CID, unlock_id="u-1")) == []
    assert d.do(c.ExpireUnlock(compartment_id=CID, unlock_id="u-0")) == []
    assert (d.state, len(d.log)) == ("open", before)


def test_a_reused_unlock_id_is_refused() -> None:
    d = occupied(Driven())
    d.do(verify())
    with pytest.raises(TransitionRejected, match="used before"):
        d.do(confirm(unlock_id="u-1"))


def test_door_left_open_raises_an_alarm() -> None:
    d = Driven()
    d.do(deposit())
    d.do(door(True))
    opening = d.compartment.opening_version
    events = d.do(c.ExpireDoorOpen(compartment_id=CID, opening_version=opening))
    assert isinstance(events[0], AlarmRaised) and events[0].reason == "door_left_open"
    assert d.state == "alarm"


def test_the_deposits_door_timer_does_not_fire_into_the_retrieval() -> None:
    d = occupied(Driven())
    deposit_opening = next(e.version for e in d.log if isinstance(e, DoorOpened))
    d.do(verify())
    d.do(confirm())
    d.do(door(True))
    assert d.do(c.ExpireDoorOpen(compartment_id=CID, opening_version=deposit_opening)) == []
    assert d.state == "open"
    assert d.names(door(False)) == ["DoorClosed", "ItemRetrieved"]


@pytest.mark.parametrize("setup", ["free", "occupied"])
def test_door_opened_without_unlock_is_forced(setup: str) -> None:
    d = Driven() if setup == "free" else occupied(Driven())
    events = d.do(door(True))
    assert isinstance(events[0], AlarmRaised) and events[0].reason == "forced_open"
    assert isinstance(events[1], DoorOpened)
    assert d.state == "alarm"


def test_repeated_failures_lock_out() -> None:
    d = occupied(Driven(Policy(max_failed_verifications=2)))
    d.do(verify())
    d.do(reject())
    d.do(verify())
    assert d.names(reject()) == ["IdentityRejected", "AlarmRaised"]
    assert d.state == "alarm"
    assert d.compartment.alarm_reason == "lockout"


@pytest.mark.parametrize(("outcome", "reason"), [("unknown", "unlock_outcome_unknown"), ("not_sent", "unlock_failed")])
def test_unlock_without_acknowledgement_is_an_alarm_not_a_retry(outcome: str, reason: str) -> None:
    d = Driven()
    d.do(deposit())
    events = d.do(sent(outcome=outcome))
    assert [e.reason for e in events if isinstance(e, AlarmRaised)] == [reason]
    assert effects_of(events) == []
    assert d.state == "alarm"


def test_board_fault_and_out_of_service_are_alarms_cleared_by_an_operator() -> None:
    d = occupied(Driven())
    d.do(c.ReportBoardFault(compartment_id=CID, detail="timeout"))
    assert d.state == "alarm"
    cleared = d.do(clear())
    assert d.state == "occupied"
    assert cleared[0].operator_id == "ops-1"  # type: ignore[attr-defined]
    d.do(c.TakeOutOfService(compartment_id=CID, operator_id="ops-2", note="broken hinge"))
    assert d.compartment.alarm_reason == "out_of_service"
    released = d.do(clear(release=True))
    assert d.state == "free"
    assert effects_of(released) == [DestroyTemplate("tpl-alice")]


def test_only_an_operator_leaves_alarm() -> None:
    d = Driven()
    d.do(door(True))
    for command in (deposit(), verify()):
        with pytest.raises(TransitionRejected):
            d.do(command)
    assert d.do(c.ExpireVerification(compartment_id=CID, attempt_version=0)) == []
    with pytest.raises(TransitionRejected, match="close the door"):
        d.do(clear())
    d.do(door(False))
    with pytest.raises(TransitionRejected, match="operator id"):
        d.do(c.ClearAlarm(compartment_id=CID, operator_id=""))
    assert d.state == "alarm"
    d.do(clear())
    assert d.state == "free"


def test_reconcile_flags_disagreement_and_unacknowledged_unlocks() -> None:
    d = occupied(Driven())
    assert d.do(c.Reconcile(compartment_id=CID, door_is_open=False)) == []
    events = d.do(c.Reconcile(compartment_id=CID, door_is_open=True))
    assert events[0].reason == "reconciliation_mismatch"  # type: ignore[attr-defined]
    assert "door is open but the log says closed" in events[0].detail  # type: ignore[attr-defined]

    pending = Driven()
    pending.do(deposit())
    events = pending.do(c.Reconcile(compartment_id=CID, door_is_open=False))
    assert events[0].reason == "unlock_outcome_unknown"  # type: ignore[attr-defined]


def test_identity_of_another_subject_is_never_confirmed() -> None:
    d = occupied(Driven())
    d.do(verify())
    with pytest.raises(TransitionRejected, match="does not own"):
        d.do(confirm(subject="mallory"))
    with pytest.raises(TransitionRejected, match="above"):
        d.do(confirm(distance=0.5))
    assert d.state == "verifying"


def test_invalid_trigger_and_foreign_event_are_rejected_clearly() -> None:
    d = Driven()
    with pytest.raises(TransitionRejected, match="only allowed in occupied"):
        d.do(verify())
    other = Driven()
    first = other.do(deposit())[0]
    with pytest.raises(TransitionRejected, match="expected version 2"):
        other.compartment.apply(first)
    stranger = Compartment("2")
    with pytest.raises(TransitionRejected, match="of 1"):
        stranger.apply(first)
    assert d.log == []


def test_repeated_door_readings_record_nothing() -> None:
    d = occupied(Driven())
    assert d.do(door(False)) == []
