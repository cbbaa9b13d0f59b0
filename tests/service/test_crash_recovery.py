"""Kill the controller with SIGKILL at random moments while it drives a real Modbus board; restart it each time.

The board (the simulator) outlives every controller process, as a real lock board would. Afterwards:
the log verifies, the board's pulses pair one to one, in order, with decisions in the log (effects after
commit, never a second pulse), every acknowledged decision was pulsed, every decision a kill left
unacknowledged became an ``unlock_outcome_unknown`` alarm at the next boot, and unlock ids stay unique
across the restarted processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.domain.events import AlarmRaised, DepositStarted, Event, IdentityConfirmed, UnlockPulseSent
from controller.service import audit
from plc.simulator import LockBoardSimulator
from storage.event_store import SqlEventStore
from storage.serialization import EventSerializer

COMPARTMENTS = 6


@pytest.fixture
def board() -> Iterator[LockBoardSimulator]:
    loop = asyncio.new_event_loop()
    simulator = LockBoardSimulator(compartments=COMPARTMENTS)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(simulator.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield simulator
    asyncio.run_coroutine_threadsafe(simulator.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def controller(db_url: str, port: int, seed: int, steps: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "controller", "--log-level", "ERROR", "sim", "history", "--compartments",
               str(COMPARTMENTS), "--steps", str(steps), "--seed", str(seed), "--db", db_url, "--plc-port", str(port),
               "--json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))


def test_sigkill_at_random_moments_never_pulses_twice(tmp_path: Path, board: LockBoardSimulator) -> None:
    db_url = f"sqlite:///{tmp_path / 'lockers.db'}"
    rng = random.Random(7)
    for round_number in range(12):
        child = controller(db_url, board.port, seed=round_number, steps=100_000)
        time.sleep(rng.uniform(1.5, 3.0))
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

    decisions = [e for e in events if isinstance(e, DepositStarted | IdentityConfirmed)]
    unlock_ids = [e.unlock_id for e in decisions]
    assert len(set(unlock_ids)) == len(unlock_ids), "an unlock id was reused across restarts"
    # Every unlock is one write of the board-timed pulse register 512 + (k - 1), in the order sent.
    pulses = [
        str(r.address - 511)
        for r in board.received
        if r.function_code in (6, 16) and 512 <= r.address < 512 + COMPARTMENTS
    ]
    acknowledged = {e.unlock_id for e in events if isinstance(e, UnlockPulseSent)}
    match_pulses_to_decisions(pulses, decisions, acknowledged)
    # Whether a kill fell between a decision and its acknowledgement is up to timing; each one that did is checked.
    outcome_of_each_decision(events, acknowledged)
    assert len(decisions) > 20


def match_pulses_to_decisions(pulses: list[str], decisions: list[Event], acknowledged: set[str]) -> None:
    """Pair each pulse with one decision, in order (effects run after commit, one command at a time).

    A decision may lack a pulse only if it was never acknowledged (killed before or during the pulse);
    a pulse that finds no later decision of its compartment is a second pulse or one nobody decided.
    """
    pending = iter(decisions)
    for number, compartment in enumerate(pulses):
        for decision in pending:
            if decision.compartment_id == compartment:
                break
            assert decision.unlock_id not in acknowledged, f"{decision.unlock_id} acknowledged but never pulsed"
        else:
            raise AssertionError(f"pulse {number} to compartment {compartment} matches no decision")
    left = [d.unlock_id for d in pending if d.unlock_id in acknowledged]
    assert not left, f"acknowledged but never pulsed: {left[:5]}"


def outcome_of_each_decision(events: list[Event], acknowledged: set[str]) -> list[str]:
    """Each decision's next event in its stream is its acknowledgement or an alarm; returns the unknown ones."""
    following: dict[str, Event] = {}
    waiting: dict[str, Event] = {}
    for event in events:
        if event.compartment_id in waiting:
            following[waiting.pop(event.compartment_id).unlock_id] = event  # type: ignore[attr-defined]
        if isinstance(event, DepositStarted | IdentityConfirmed):
            waiting[event.compartment_id] = event
    assert not waiting, f"decisions with nothing after them: {list(waiting)}"
    unknown = []
    for unlock_id, event in following.items():
        if unlock_id in acknowledged:
            assert isinstance(event, UnlockPulseSent) and event.unlock_id == unlock_id, (unlock_id, event)
        else:
            # Killed between the decision and the acknowledgement: the next boot's reconciliation says so.
            assert isinstance(event, AlarmRaised) and event.reason == "unlock_outcome_unknown", (unlock_id, event)
            unknown.append(unlock_id)
    return unknown
