"""Kill the controller with SIGKILL at random moments while it drives a real Modbus board; restart it each time.

The board (the simulator) outlives every controller process, as a real lock board would. Afterwards:
the log verifies, the board's pulses pair one to one, in order, with decisions in the log (effects after
commit, never a second pulse; only a request that timed out may reach the board late, out of order),
every acknowledged decision was pulsed, every decision a kill left
unacknowledged became an ``unlock_outcome_unknown`` alarm at the next boot, and unlock ids stay unique
across the restarted processes.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.domain.events import AlarmRaised, DepositStarted, Event, IdentityConfirmed, UnlockPulseSent
from controller.domain.evidence import Evidence
from controller.service import audit
from plc.simulator import LockBoardSimulator
from storage.event_store import SqlEventStore
from storage.serialization import EventSerializer
from tests.support.cli import LOCKERS, lockers_env
from tests.support.plc import ThreadedSimulator
from tests.support.waiting import wait_until

COMPARTMENTS = 6
Decision = DepositStarted | IdentityConfirmed
# Generous, so that a busy CI machine stalling the board's thread rarely turns a pulse into "outcome unknown".
PLC_TIMEOUT_MS = 5000


@pytest.fixture
def board() -> Iterator[LockBoardSimulator]:
    """A lock board that outlives every controller process, as a real one would."""
    with ThreadedSimulator(compartments=COMPARTMENTS) as simulator:
        yield simulator


def controller(db_url: str, port: int, seed: int, steps: int) -> subprocess.Popen[bytes]:
    command = [*LOCKERS, "--log-level", "ERROR", "sim", "history", "--compartments",
               str(COMPARTMENTS), "--steps", str(steps), "--seed", str(seed), "--db", db_url, "--plc-port", str(port),
               "--plc-timeout-ms", str(PLC_TIMEOUT_MS), "--json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=lockers_env())


def test_sigkill_at_random_moments_never_pulses_twice(tmp_path: Path, board: LockBoardSimulator) -> None:
    db_path = tmp_path / "lockers.db"
    db_url = f"sqlite:///{db_path}"
    rng = random.Random(7)
    for round_number in range(12):
        before = events_in(db_path)
        child = controller(db_url, board.port, seed=round_number, steps=100_000)
        wait_for_progress(db_path, before, child)  # a loaded machine may take seconds to start Python
        time.sleep(rng.uniform(0.0, 1.5))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finisher = controller(db_url, board.port, seed=99, steps=50)
    out, err = finisher.communicate(timeout=120)
    assert finisher.returncode == 0, err.decode()
    assert json.loads(out)["events_in_log"] > 100

    store = SqlEventStore.from_url(db_url)
    try:
        report = audit.verify(store.read_raw(), EventSerializer().decode)
        events = [stored.event for stored in store.read_all()]
    finally:
        store.close()
    assert report.ok, report.problems[:5]

    decisions: list[Decision] = [e for e in events if isinstance(e, DepositStarted | IdentityConfirmed)]
    unlock_ids = [e.unlock_id for e in decisions]
    assert len(set(unlock_ids)) == len(unlock_ids), "an unlock id was reused across restarts"
    # Every unlock is one write of the board-timed pulse register 512 + (k - 1), in the order sent.
    pulses = [
        str(r.address - 511)
        for r in board.received
        if r.function_code in (6, 16) and 512 <= r.address < 512 + COMPARTMENTS
    ]
    acknowledged = {e.unlock_id for e in events if isinstance(e, UnlockPulseSent)}
    # Whether a kill fell between a decision and its acknowledgement is up to timing; each one that did is checked.
    timed_out = outcome_of_each_decision(events, acknowledged)
    if timed_out:
        # A request that timed out may still reach the board later, after later pulses: order is not promised.
        count_pulses_per_compartment(pulses, decisions, acknowledged)
    else:
        match_pulses_to_decisions(pulses, decisions, acknowledged)
    assert len(decisions) > 20


def events_in(db_path: Path) -> int:
    """Rows in the log (0 before the first controller created it), read beside the running writer."""
    if not db_path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as db:
        try:
            return int(db.execute("SELECT count(*) FROM events").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0  # the first controller is still creating the schema
            raise


def wait_for_progress(db_path: Path, before: int, child: subprocess.Popen[bytes]) -> None:
    """Until the controller has appended to the log (it has booted and runs its history)."""

    def appended() -> bool:
        if events_in(db_path) > before:
            return True
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else "controller exited"
        return False

    wait_until(appended, 120, "the controller appended nothing within 120 s", interval=0.05)


def match_pulses_to_decisions(pulses: list[str], decisions: list[Decision], acknowledged: set[str]) -> None:
    """Pair each pulse with one decision, in order (effects run after commit, one command at a time).

    A decision may lack a pulse only if it was never acknowledged (killed before or during the pulse);
    a pulse that finds no later decision of its compartment is a second pulse or one nobody decided.
    """
    failure = _match_from(pulses, decisions, acknowledged, 0, 0, set())
    assert failure is None, failure


def _match_from(pulses: list[str], decisions: list[Decision], acknowledged: set[str], pulse: int, decision: int,
                dead_ends: set[tuple[int, int]]) -> str | None:
    """Match ``pulses[pulse:]`` to ``decisions[decision:]``; None when they pair up, else why not.

    An unacknowledged decision may or may not have been pulsed before the kill, and the next process's first
    pulse may go to the same compartment: both readings are tried (there are as many as kills).
    """
    while pulse < len(pulses):
        compartment = pulses[pulse]
        while decision < len(decisions) and decisions[decision].compartment_id != compartment:
            if decisions[decision].unlock_id in acknowledged:
                return f"{decisions[decision].unlock_id} acknowledged but never pulsed"
            decision += 1
        if decision == len(decisions):
            return f"pulse {pulse} to compartment {compartment} matches no decision"
        if decisions[decision].unlock_id not in acknowledged and (pulse, decision + 1) not in dead_ends:
            if _match_from(pulses, decisions, acknowledged, pulse, decision + 1, dead_ends) is None:
                return None  # the kill came before this decision's pulse; the pulse is a later decision's
            dead_ends.add((pulse, decision + 1))
        pulse, decision = pulse + 1, decision + 1
    left = [d.unlock_id for d in decisions[decision:] if d.unlock_id in acknowledged]
    return f"acknowledged but never pulsed: {left[:5]}" if left else None


def count_pulses_per_compartment(pulses: list[str], decisions: list[Decision], acknowledged: set[str]) -> None:
    """Per compartment: at most one pulse per decision, and at least one per acknowledged decision."""
    for compartment in {d.compartment_id for d in decisions} | set(pulses):
        mine = [d for d in decisions if d.compartment_id == compartment]
        confirmed = sum(1 for d in mine if d.unlock_id in acknowledged)
        assert confirmed <= pulses.count(compartment) <= len(mine), (compartment, confirmed, len(mine))


def outcome_of_each_decision(events: list[Event], acknowledged: set[str]) -> list[str]:
    """Each decision's next event in its stream is its acknowledgement or an alarm.

    Returns the decisions whose pulse timed out while the controller ran (not those a kill left unknown).
    """
    following: dict[str, Event] = {}
    waiting: dict[str, Event] = {}
    for event in events:
        if event.compartment_id in waiting:
            following[waiting.pop(event.compartment_id).unlock_id] = event  # type: ignore[attr-defined]
        if isinstance(event, DepositStarted | IdentityConfirmed):
            waiting[event.compartment_id] = event
    assert not waiting, f"decisions with nothing after them: {list(waiting)}"
    timed_out = []
    for unlock_id, event in following.items():
        if unlock_id in acknowledged:
            assert isinstance(event, UnlockPulseSent) and event.unlock_id == unlock_id, (unlock_id, event)
        else:
            # Killed between the decision and the acknowledgement: the next boot's reconciliation says so,
            # or the board did not answer in time and the controller said so at once.
            assert isinstance(event, AlarmRaised) and event.reason == "unlock_outcome_unknown", (unlock_id, event)
            if "no reply within" in event.detail:
                timed_out.append(unlock_id)
    return timed_out


def test_the_pulse_matcher_takes_either_reading_of_a_kill_but_no_second_or_missing_pulse() -> None:
    def decision(compartment: str, unlock_id: str) -> Decision:
        evidence = Evidence(subject_id="s", distance=0.1, threshold=1.0, model_version="m")
        return IdentityConfirmed(compartment_id=compartment, version=1, unlock_id=unlock_id, pulse_ms=500,
                                 occurred_at=datetime(2026, 1, 1, tzinfo=UTC), evidence=evidence)

    # u2 was killed unacknowledged; the next process's first pulse went to the same compartment.
    decisions = [decision("1", "u1"), decision("4", "u2"), decision("4", "u3"), decision("1", "u4")]
    acknowledged = {"u1", "u3", "u4"}
    match_pulses_to_decisions(["1", "4", "1"], decisions, acknowledged)  # u2 never pulsed
    match_pulses_to_decisions(["1", "4", "4", "1"], decisions, acknowledged)  # u2 pulsed before the kill
    for wrong in (["1", "4", "4", "4", "1"], ["1", "1"], ["1", "4", "1", "1"], ["4", "1", "4", "1"]):
        with pytest.raises(AssertionError):
            match_pulses_to_decisions(wrong, decisions, acknowledged)
