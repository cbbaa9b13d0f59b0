"""A controller killed at a named point (``LOCKERS_CRASH_AT``), then restarted: each point's promised outcome.

Unlike the random-moment kills of ``test_crash_recovery``, each point is reached on every run:
- ``after_commit_before_pulse``: the decision is in the log, the board was never written; the next boot
  raises ``unlock_outcome_unknown`` for that compartment and sends no pulse for that decision.
- ``after_pulse_before_ack``: the board took the pulse, the log never recorded it; the next boot raises
  ``unlock_outcome_unknown`` and does not pulse that decision a second time.
- ``after_pulse_recorded``: the log holds the pulse; the door sprang open while the controller was down. The
  next boot reads the log's pulse: the open door is that unlock's (``DoorOpened``), never a
  ``reconciliation_mismatch``, and no second pulse.
The controller is ``lockers sim history`` on a real Modbus board (the simulator, which outlives it).
The points of the audit trail (``mid_checkpoint``) and of the vault (``rotation_next_key_written``,
``rotation_switched``) are tested in ``test_crash_points_audit``.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.domain import events as ev
from controller.domain.effects import Unlock, effects_of
from controller.service.crash_points import (
    AFTER_COMMIT_BEFORE_PULSE,
    AFTER_PULSE_BEFORE_ACK,
    AFTER_PULSE_RECORDED,
    CRASH_ENV,
    POINTS,
)
from plc.simulator import LockBoardSimulator
from storage.event_store import SqlEventStore
from tests.support.cli import LOCKERS, lockers_env
from tests.support.plc import ThreadedSimulator
from tests.support.waiting import wait_until

COMPARTMENTS = 4
PULSE_REGISTER = 512  # the board-timed pulse register of compartment k is 512 + (k - 1)


@pytest.fixture
def board() -> Iterator[LockBoardSimulator]:
    """A lock board that outlives the controller, as a real one would."""
    with ThreadedSimulator(compartments=COMPARTMENTS) as simulator:
        yield simulator


def sim_history(db_url: str, port: int, steps: int, crash_at: str = "") -> subprocess.CompletedProcess[str]:
    env = lockers_env() | ({CRASH_ENV: crash_at} if crash_at else {})
    command = [*LOCKERS, "--log-level", "ERROR", "sim", "history", "--compartments", str(COMPARTMENTS),
               "--steps", str(steps), "--seed", "3", "--db", db_url, "--plc-port", str(port), "--plc-timeout-ms",
               "5000", "--json"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def pulses_to(board: LockBoardSimulator, compartment: str, since: int = 0) -> int:
    """Pulse writes the board received for ``compartment`` (from request number ``since`` on)."""
    register = PULSE_REGISTER + int(compartment) - 1
    return sum(1 for r in board.received[since:] if r.function_code in (6, 16) and r.address == register)


def logged(db_url: str) -> list[ev.Event]:
    store = SqlEventStore.from_url(db_url)
    try:
        return [stored.event for stored in store.read_all()]
    finally:
        store.close()


def last_unlock(events: list[ev.Event]) -> tuple[int, Unlock]:
    """The log position (index) and effect of the last decision that called for a pulse."""
    found = [(i, effect) for i, e in enumerate(events) for effect in effects_of([e]) if isinstance(effect, Unlock)]
    assert found, "the controller died before any unlock decision"
    return found[-1]


def unlocks_for(events: list[ev.Event], compartment: str) -> int:
    """How many of ``events`` decided an unlock of ``compartment``."""
    return sum(1 for e in events for x in effects_of([e]) if isinstance(x, Unlock) and x.compartment_id == compartment)


def test_every_point_is_documented_with_its_outcome() -> None:
    from tests.e2e import test_crash_points_audit

    documented = (__doc__ or "") + (test_crash_points_audit.__doc__ or "")
    assert {AFTER_COMMIT_BEFORE_PULSE, AFTER_PULSE_BEFORE_ACK} <= POINTS
    assert [point for point in sorted(POINTS) if f"``{point}``" not in documented] == []


@pytest.mark.parametrize("point", [AFTER_COMMIT_BEFORE_PULSE, AFTER_PULSE_BEFORE_ACK])
def test_a_kill_at_a_named_point_ends_in_an_alarm_never_a_second_pulse(
    point: str, tmp_path: Path, board: LockBoardSimulator
) -> None:
    db_url = f"sqlite:///{tmp_path / 'lockers.db'}"
    killed = sim_history(db_url, board.port, steps=500, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, f"not killed at {point}: {killed.returncode} {killed.stderr[-2000:]}"

    events = logged(db_url)
    index, unlock = last_unlock(events)
    assert not any(isinstance(e, ev.UnlockPulseSent) and e.unlock_id == unlock.unlock_id for e in events[index:])
    pulsed = pulses_to(board, unlock.compartment_id)
    decided = unlocks_for(events, unlock.compartment_id)
    # Every earlier decision for this compartment was pulsed once; the last one only if the kill came after the write.
    assert pulsed == decided - (1 if point == AFTER_COMMIT_BEFORE_PULSE else 0)

    before_restart = len(board.received)
    restarted = sim_history(db_url, board.port, steps=1)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    after = logged(db_url)[len(events):]
    alarm = next(e for e in after if isinstance(e, ev.AlarmRaised) and e.compartment_id == unlock.compartment_id)
    assert alarm.reason == ev.AlarmReason.UNLOCK_OUTCOME_UNKNOWN and unlock.unlock_id in alarm.detail
    # Each new decision for the compartment pulsed once; the killed one was not pulsed again.
    assert pulses_to(board, unlock.compartment_id, since=before_restart) == unlocks_for(after, unlock.compartment_id)


def test_a_kill_after_the_pulse_is_logged_finds_the_door_open_as_that_unlock_left_it(
    tmp_path: Path, board: LockBoardSimulator
) -> None:
    db_url = f"sqlite:///{tmp_path / 'lockers.db'}"
    killed = sim_history(db_url, board.port, steps=500, crash_at=AFTER_PULSE_RECORDED)
    assert killed.returncode == -signal.SIGKILL, f"not killed: {killed.returncode} {killed.stderr[-2000:]}"
    events = logged(db_url)
    index, unlock = last_unlock(events)
    assert any(isinstance(e, ev.UnlockPulseSent) and e.unlock_id == unlock.unlock_id for e in events[index:])
    cid = unlock.compartment_id
    wait_until(lambda: board.board.door_open(int(cid)), 30, f"door {cid} never sprang open")

    pulsed = pulses_to(board, cid)
    restarted = sim_history(db_url, board.port, steps=1)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    after = [e for e in logged(db_url)[len(events):] if e.compartment_id == cid]
    assert after and isinstance(after[0], ev.DoorOpened), after
    assert not any(isinstance(e, ev.AlarmRaised) for e in after), after
    assert pulses_to(board, cid) - pulsed == unlocks_for(after, cid)  # the logged pulse was not sent again
