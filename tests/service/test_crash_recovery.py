"""Kill the controller with SIGKILL at random moments while it drives a real Modbus board; restart it each time.

The board (the simulator) outlives every controller process, as a real lock board would. Afterwards:
the log verifies, every pulse the board received was decided in the log first (effects after commit),
no decision was pulsed twice, and every acknowledged pulse really reached the board.
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
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.domain.events import DepositStarted, IdentityConfirmed, UnlockPulseSent
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

    decided = Counter(int(e.compartment_id) for e in events if isinstance(e, DepositStarted | IdentityConfirmed))
    acknowledged = Counter(int(e.compartment_id) for e in events if isinstance(e, UnlockPulseSent))
    # Every unlock is one write of the board-timed pulse register 512 + (k - 1).
    pulsed = Counter(
        r.address - 511 for r in board.received if r.function_code in (6, 16) and 512 <= r.address < 512 + COMPARTMENTS
    )
    for compartment in range(1, COMPARTMENTS + 1):
        # A pulse only ever follows a committed decision, at most once per decision...
        assert pulsed[compartment] <= decided[compartment], compartment
        # ...and every pulse the log calls acknowledged really reached the board.
        assert acknowledged[compartment] <= pulsed[compartment], compartment
    assert sum(decided.values()) > 20
