"""The HTTP error boundary: one status per kind of error, and messages a person can read."""

from __future__ import annotations

import pytest

from controller.app.http.errors import error_body, plain_message, status_of
from controller.domain.errors import (
    BoardUnreachable,
    LockerError,
    Refusal,
    TransitionRejected,
    UnknownCompartment,
    UnlockOutcomeUnknown,
)
from controller.domain.states import CompartmentState
from controller.service.bank import BankFull
from storage.errors import CorruptRecord, DatabaseUnavailable, VersionConflict


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UnknownCompartment("9"), 404),
        (TransitionRejected("1", CompartmentState.FREE, "ClearAlarm", "only allowed in alarm"), 409),
        (BankFull("no compartment is free"), 409),
        (VersionConflict("1", 3, 4), 409),
        (DatabaseUnavailable("database file /x/lockers.db does not exist"), 503),
        (CorruptRecord(7, "bad json"), 503),
        (BoardUnreachable("no answer from board main"), 503),
        (UnlockOutcomeUnknown("no reply"), 503),
        (LockerError("not an image"), 422),
    ],
)
def test_each_error_has_its_status(error: LockerError, status: int) -> None:
    assert status_of(error) == status


def test_messages_carry_no_python_reprs() -> None:
    rejected = TransitionRejected("3", CompartmentState.OCCUPIED, "TakeOutOfService", "the door is open")
    assert "CompartmentState" in repr(CompartmentState.OCCUPIED)  # what a naive message would show
    message = plain_message(rejected)
    assert message == "compartment 3 is occupied, so it cannot take out of service now: the door is open"
    assert "CompartmentState" not in str(rejected)
    assert plain_message(DatabaseUnavailable("gone")) == "the event log is unavailable: gone"
    assert plain_message(BoardUnreachable("timeout")) == "the lock board is unavailable: timeout"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UnknownCompartment("9"), "unknown_compartment"),
        (TransitionRejected("1", CompartmentState.FREE, "ClearAlarm", "only allowed in alarm"), "not_allowed_now"),
        (TransitionRejected("1", CompartmentState.ALARM, "ClearAlarm", "close it", Refusal.DOOR_OPEN), "door_open"),
        (BankFull("no compartment is free"), "bank_full"),
        (VersionConflict("1", 3, 4), "busy"),
        (DatabaseUnavailable("gone"), "log_unavailable"),
        (BoardUnreachable("no answer from board main"), "lock_board_unavailable"),
        (LockerError("not an image"), None),  # the catch-all: no code, the body as it always was
    ],
)
def test_each_error_body_has_a_code_a_screen_can_translate(error: LockerError, code: str | None) -> None:
    body = error_body(error)
    assert body.get("code") == code and body["detail"] == plain_message(error)


def test_a_refused_transition_names_its_compartment_and_state() -> None:
    body = error_body(TransitionRejected("3", CompartmentState.OCCUPIED, "TakeOutOfService", "the door is open"))
    assert (body["compartment_id"], body["state"]) == ("3", "occupied")
