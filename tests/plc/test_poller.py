"""Door polling: debounce, forced openings, board faults and recoveries, against the simulator."""

from __future__ import annotations

import asyncio
import time

import pytest

from controller.ports import BoardFaulted, BoardRecovered, DoorChanged, SensorObservation
from plc.driver import ModbusLockDriver
from plc.poller import Debouncer, DoorPoller
from plc.sim_board import Control
from tests.plc.conftest import fast_config, rig, run
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.timeout(30)


def test_debouncer_needs_consecutive_readings() -> None:
    debouncer = Debouncer(3)
    assert debouncer.feed({1: False, 2: False}) == []  # baseline
    assert debouncer.feed({1: True, 2: False}) == []
    assert debouncer.feed({1: False, 2: False}) == []  # flicker resets the streak
    assert debouncer.feed({1: True, 2: False}) == []
    assert debouncer.feed({1: True, 2: False}) == []
    assert debouncer.feed({1: True, 2: False}) == [DoorChanged(compartment=1, is_open=True)]
    assert debouncer.stable == {1: True, 2: False}


def test_debouncer_rejects_zero_polls() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Debouncer(0)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[SensorObservation] = []

    async def __call__(self, observation: SensorObservation) -> None:
        self.seen.append(observation)


def test_flickering_input_is_not_reported_but_a_steady_change_is() -> None:
    async def go() -> None:
        async with rig() as (sim, driver):
            emitted = Recorder()
            poller = DoorPoller(driver, emitted, debounce_polls=2)
            await poller.poll_once()
            for _ in range(3):
                sim.board.control(2, Control.PULL)
                await poller.poll_once()
                sim.board.control(2, Control.CLOSE)
                await poller.poll_once()
            assert emitted.seen == []
            sim.board.control(2, Control.PULL)
            await poller.poll_once()
            await poller.poll_once()
            assert emitted.seen == [DoorChanged(compartment=3, is_open=True)]
            assert sim.board.forced_openings == [3, 3, 3, 3]  # the core judges these as forced
    run(go())


def test_initial_snapshot_makes_an_early_change_visible() -> None:
    async def go() -> None:
        async with rig() as (sim, driver):
            snapshot = await driver.read_doors()
            sim.board.control(0, Control.PULL)
            emitted = Recorder()
            poller = DoorPoller(driver, emitted, debounce_polls=1, initial=snapshot)
            await poller.poll_once()
            assert emitted.seen == [DoorChanged(compartment=1, is_open=True)]
    run(go())


def test_board_that_stops_answering_is_faulted_once_and_recovers() -> None:
    async def go() -> None:
        async with rig(read_retries=0) as (sim, driver):
            emitted = Recorder()
            poller = DoorPoller(driver, emitted, debounce_polls=1)
            await poller.poll_once()
            sim.faults.silent = True
            await poller.poll_once()
            await poller.poll_once()
            sim.faults.silent = False
            sim.board.control(4, Control.PULL)
            await asyncio.sleep(0.1)
            await poller.poll_once()
            compartments = tuple(range(1, 9))
            assert [type(o) for o in emitted.seen] == [BoardFaulted, BoardRecovered, DoorChanged]
            faulted = emitted.seen[0]
            assert isinstance(faulted, BoardFaulted) and faulted.board == "board1"
            assert faulted.compartments == compartments and "does not answer" in faulted.detail
            assert emitted.seen[1:] == [BoardRecovered(board="board1", compartments=compartments),
                                        DoorChanged(compartment=5, is_open=True)]
    run(go())


def test_run_polls_at_the_interval_and_reports_an_unlocked_door() -> None:
    async def go() -> None:
        async with rig(pop_delay_s=0.05) as (sim, driver):
            emitted = Recorder()
            poller = DoorPoller(driver, emitted, interval_s=0.02, debounce_polls=2)
            task = asyncio.create_task(poller.run())
            await wait_until_async(lambda: len(sim.received) >= 3, 30, "the poller does not poll")
            reads_before, started = len(sim.received), time.monotonic()
            await driver.unlock(6, 100)
            await wait_until_async(lambda: emitted.seen, 30, "the unlocked door was never reported")
            elapsed = time.monotonic() - started
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert emitted.seen == [DoorChanged(compartment=6, is_open=True)]
            # Never faster than the interval (a busy machine only polls less often); two polls to debounce.
            assert 2 <= len(sim.received) - reads_before <= elapsed / 0.02 + 4
    run(go())


def test_poller_rejects_a_non_positive_interval() -> None:
    with pytest.raises(ValueError, match="positive"):
        DoorPoller(ModbusLockDriver(fast_config(1)), Recorder(), interval_s=0)
