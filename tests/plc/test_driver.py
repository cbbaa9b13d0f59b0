"""ModbusLockDriver against the simulator as a real server on loopback."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from plc.driver import ModbusLockDriver
from plc.errors import (
    PlcBoardUnreachable,
    PlcConnectionError,
    PlcDeviceError,
    PlcTimeout,
    PlcUnlockNotSent,
    PlcUnlockOutcomeUnknown,
)
from plc.registers import plc_config_of
from plc.settings import PlcSettings
from plc.sim_board import Control, DoorBehaviour
from plc.simulator import LockBoardSimulator
from tests.plc.conftest import fast_config, rig, run, wait_door

pytestmark = pytest.mark.timeout(30)
WRITE_REGISTER, WRITE_COIL, READ_INPUTS = 6, 5, 2


def writes(sim: LockBoardSimulator) -> list[tuple[int, int]]:
    return [(r.function_code, r.address) for r in sim.received if r.function_code in (5, 6, 15, 16)]


def test_board_timed_unlock_is_one_register_write_and_the_door_pops() -> None:
    async def go() -> None:
        async with rig() as (sim, driver):
            await driver.unlock(4, 250)
            assert writes(sim) == [(WRITE_REGISTER, 512 + 3)]
            assert sim.board.registers[515] == 3  # 250 ms rounds up to 3 units of 100 ms
            assert (await driver.read_relays())[4] is True
            await wait_door(driver, 4, True)
            await asyncio.sleep(0.2)
            assert (await driver.read_relays())[4] is False
            sim.board.control(3, Control.CLOSE)
            await wait_door(driver, 4, False)
            assert sim.board.forced_openings == []
    run(go())


def test_driver_timed_pulse_switches_the_relay_on_then_off() -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            config = plc_config_of(PlcSettings.model_validate({"port": sim.port, "boards": [{"compartments": 8,
                                                                                    "board_timed_pulse": False}]}))
            async with ModbusLockDriver(config) as driver:
                await driver.read_doors()  # connected, so the pulse starts at once
                pulse = asyncio.create_task(driver.unlock(2, 150))
                await asyncio.sleep(0.07)
                assert sim.board.relays[1] is True
                await pulse
                assert sim.board.relays[1] is False
                assert writes(sim) == [(WRITE_COIL, 1), (WRITE_COIL, 1)]
    run(go())


def test_relay_goes_off_even_when_the_unlock_is_cancelled() -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            config = plc_config_of(PlcSettings.model_validate({"port": sim.port, "boards": [{"compartments": 8,
                                                                                    "board_timed_pulse": False}]}))
            async with ModbusLockDriver(config) as driver:
                await driver.read_doors()
                pulse = asyncio.create_task(driver.unlock(6, 5000))
                await asyncio.sleep(0.1)
                assert sim.board.relays[5] is True
                pulse.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await pulse
                assert sim.board.relays[5] is False
    run(go())


def test_forced_opening_is_seen_as_an_open_door_without_a_pulse() -> None:
    async def go() -> None:
        async with rig() as (sim, driver):
            await driver.channel.write_register(1000 + 6, int(Control.PULL), device_id=1)
            assert (await driver.read_doors())[7] is True
            assert sim.board.forced_openings == [7] and sim.board.pulses == []
    run(go())


@pytest.mark.parametrize("jam", ["board behaviour", "control register"])
def test_jammed_door_never_opens_although_the_pulse_was_sent(jam: str) -> None:
    async def go() -> None:
        behaviour = DoorBehaviour.JAM if jam == "board behaviour" else DoorBehaviour.POP
        async with rig(behaviour=behaviour, pop_delay_s=0.05) as (sim, driver):
            if jam == "control register":
                await driver.channel.write_register(1000, int(Control.JAM), device_id=1)
            await driver.unlock(1, 100)
            await asyncio.sleep(0.3)
            assert (await driver.read_doors())[1] is False
            assert sim.board.pulses == [1]
    run(go())


def test_stay_closed_door_opens_only_when_pulled_during_the_pulse() -> None:
    async def go() -> None:
        async with rig(behaviour=DoorBehaviour.STAY_CLOSED) as (sim, driver):
            await driver.unlock(2, 300)
            await asyncio.sleep(0.25)
            assert (await driver.read_doors())[2] is False
            sim.board.control(1, Control.PULL)
            assert (await driver.read_doors())[2] is True
            assert sim.board.forced_openings == []
    run(go())


def test_board_that_stops_answering_mid_unlock_gets_no_second_pulse() -> None:
    async def go() -> None:
        async with rig() as (sim, driver):
            await driver.read_doors()
            sim.faults.silent = True
            with pytest.raises(PlcUnlockOutcomeUnknown) as caught:
                await driver.unlock(3, 500)
            assert isinstance(caught.value.cause, PlcTimeout)
            await asyncio.sleep(0.3)
            assert writes(sim) == [(WRITE_REGISTER, 514)]
    run(go())


def test_lost_reply_means_unknown_outcome_although_the_door_opened() -> None:
    async def go() -> None:
        async with rig(pop_delay_s=0.05) as (sim, driver):
            sim.faults.lose_replies = True
            with pytest.raises(PlcUnlockOutcomeUnknown):
                await driver.unlock(8, 200)
            sim.faults.lose_replies = False
            await wait_door(driver, 8, True)
            assert writes(sim) == [(WRITE_REGISTER, 519)] and sim.board.pulses == [8]
    run(go())


@pytest.mark.parametrize(("code", "outcome"), [(2, PlcUnlockNotSent), (6, PlcUnlockNotSent),
                                               (4, PlcUnlockOutcomeUnknown), (11, PlcUnlockOutcomeUnknown)])
def test_exception_replies_are_mapped_by_code(code: int, outcome: type[Exception]) -> None:
    async def go() -> None:
        async with rig() as (sim, driver):
            sim.faults.exception_code = code
            with pytest.raises(outcome) as caught:
                await driver.unlock(1, 500)
            cause = caught.value.cause  # type: ignore[attr-defined]
            assert isinstance(cause, PlcDeviceError) and cause.exception_code == code
            assert sim.board.pulses == []
    run(go())


def test_reads_are_retried_a_bounded_number_of_times() -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            config = fast_config(sim.port, read_retries=2)
            async with ModbusLockDriver(config) as driver:
                sim.faults.silent = True
                with pytest.raises(PlcBoardUnreachable) as caught:
                    await driver.read_doors()
                assert caught.value.board == "board1"
                assert [r.function_code for r in sim.received] == [READ_INPUTS] * 3
    run(go())


def test_busy_board_read_succeeds_on_retry() -> None:
    async def go() -> None:
        async with rig(read_retries=1) as (sim, driver):
            sim.faults.exception_code = 6
            asyncio.get_running_loop().call_later(0.01, setattr, sim.faults, "exception_code", None)
            assert await driver.read_doors() == dict.fromkeys(range(1, 9), False)
    run(go())


def test_reconnects_after_the_server_restarts() -> None:
    async def go() -> None:
        sim = LockBoardSimulator(compartments=8)
        await sim.start()
        port = sim.port
        async with ModbusLockDriver(fast_config(port)) as driver:
            await driver.read_doors()
            await sim.stop()
            with pytest.raises(PlcBoardUnreachable):
                await driver.read_doors()
            restarted = LockBoardSimulator(compartments=8, port=port)
            async with restarted:
                restarted.board.control(0, Control.PULL)
                await asyncio.sleep(0.25)  # longer than the reconnect backoff
                assert (await driver.read_doors())[1] is True
                await driver.unlock(2, 100)
                assert restarted.board.pulses == [2]
    run(go())


def test_reconnect_attempts_back_off() -> None:
    async def go() -> None:
        sim = LockBoardSimulator(compartments=8)
        await sim.start()
        port = sim.port
        await sim.stop()
        async with ModbusLockDriver(fast_config(port)) as driver:
            with pytest.raises(PlcBoardUnreachable) as first:
                await driver.read_doors()
            assert "cannot connect" in str(first.value)
            with pytest.raises(PlcBoardUnreachable) as second:
                await driver.read_doors()
            assert isinstance(second.value.cause, PlcConnectionError)
            assert "next reconnect attempt" in str(second.value)
    run(go())


def test_dropped_connection_is_reopened_by_the_next_request() -> None:
    async def go() -> None:
        async with rig() as (sim, driver):
            await driver.read_doors()
            sim.drop_all_connections()
            await asyncio.sleep(0.05)
            assert not driver.channel.connected
            assert len(await driver.read_doors()) == 8
    run(go())


def test_server_that_drops_every_connection_makes_reads_fail() -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            sim.faults.drop_connections = True
            async with ModbusLockDriver(fast_config(sim.port, read_retries=0)) as driver:
                with pytest.raises(PlcBoardUnreachable):
                    await driver.read_doors()
                with pytest.raises(PlcUnlockOutcomeUnknown):  # the request left before the drop
                    await driver.unlock(1, 100)
                assert sim.board.pulses == []
    run(go())


def test_delayed_replies_within_the_timeout_are_fine_beyond_it_they_time_out() -> None:
    async def go() -> None:
        async with rig(read_retries=0) as (sim, driver):
            sim.faults.delay_s = 0.05
            assert len(await driver.read_doors()) == 8
            sim.faults.delay_s = 0.4
            with pytest.raises(PlcBoardUnreachable) as caught:
                await driver.read_doors()
            assert isinstance(caught.value.cause, PlcTimeout)
            sim.faults.delay_s = 0
            await asyncio.sleep(0.3)  # the late reply must not be taken for the next answer
            assert len(await driver.read_doors()) == 8
    run(go())


def test_boot_switches_stale_relays_off_and_reports_doors_as_they_are() -> None:
    """What the core's boot reconciliation gets: relays off first, then the true door states."""
    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            sim.board.relays[2] = sim.board.relays[6] = True
            sim.board.closed[4] = False
            async with ModbusLockDriver(fast_config(sim.port)) as driver:
                await driver.all_relays_off()
                doors = await driver.read_doors()
                assert sim.board.relays == [False] * 8
                assert [k for k, is_open in doors.items() if is_open] == [5]
                assert writes(sim) == [(15, 0)]
    run(go())


def test_several_boards_with_other_addresses_and_inverted_inputs() -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=4, device_ids=(1, 2)) as sim:
            sim.boards[2].inputs_inverted = True
            config = plc_config_of(PlcSettings.model_validate({"port": sim.port, "boards": [
                {"compartments": 4},
                {"device_id": 2, "compartments": 2, "input_base": 2, "coil_base": 2, "pulse_register_base": 514,
                 "inputs_inverted": True}]}))
            sim.boards[2].closed[3] = False
            async with ModbusLockDriver(config) as driver:
                doors = await driver.read_doors()
                assert doors == {1: False, 2: False, 3: False, 4: False, 5: False, 6: True}
                await driver.unlock(5, 100)
                assert sim.boards[2].pulses == [3] and sim.boards[1].pulses == []
                await driver.all_relays_off()
    run(go())


def test_timeout_is_configurable() -> None:
    # A driver that ignored timeout_s (say, kept the fixture's 0.2 s) would wait as long for both.
    async def waited(sim: LockBoardSimulator, timeout_s: float) -> float:
        config = dataclasses.replace(fast_config(sim.port, read_retries=0), timeout_s=timeout_s)
        async with ModbusLockDriver(config) as driver:
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(PlcBoardUnreachable, match=f"no reply within {timeout_s:g} s"):
                await driver.read_doors()
            return loop.time() - started

    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            sim.faults.silent = True
            short, long = await waited(sim, 0.02), await waited(sim, 0.6)
            # pymodbus adds a steady ~0.1 s to either; the difference is the configured one.
            assert short >= 0.02 and long >= 0.6
            assert long - short >= 0.4, (short, long)
    run(go())
