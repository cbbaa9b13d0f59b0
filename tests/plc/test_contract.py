"""One contract, two implementations: ModbusLockDriver against the simulator, and FakeLockDriver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import pytest

from controller.domain.errors import BoardUnreachable, UnlockNotSent, UnlockOutcomeUnknown
from controller.ports import LockDriver
from plc.driver import ModbusLockDriver
from plc.fake import FakeLockDriver
from plc.sim_board import Control
from plc.simulator import LockBoardSimulator
from tests.plc.conftest import fast_config, run, wait_door

pytestmark = pytest.mark.timeout(30)


class Board(Protocol):
    """What a contract test can do to the board behind a driver."""

    driver: Any

    async def pull(self, compartment: int) -> None: ...
    async def close(self, compartment: int) -> None: ...
    async def go_offline(self) -> None: ...
    async def go_silent(self) -> None: ...
    def energise(self, compartment: int) -> None: ...
    def relays_on(self) -> list[int]: ...
    def pulses(self) -> list[int]: ...


class SimulatedModbusBoard(Board):
    def __init__(self, sim: LockBoardSimulator) -> None:
        self.sim = sim
        self.driver = ModbusLockDriver(fast_config(sim.port, compartments=8))

    async def pull(self, compartment: int) -> None:
        self.sim.board.control(compartment - 1, Control.PULL)

    async def close(self, compartment: int) -> None:
        self.sim.board.control(compartment - 1, Control.CLOSE)

    async def go_offline(self) -> None:
        await self.sim.stop()

    async def go_silent(self) -> None:
        self.sim.faults.silent = True

    def energise(self, compartment: int) -> None:
        self.sim.board.relays[compartment - 1] = True  # left on, as by a controller that died mid-pulse

    def relays_on(self) -> list[int]:
        return [index + 1 for index, on in enumerate(self.sim.board.relays) if on]

    def pulses(self) -> list[int]:
        return self.sim.board.pulses


class FakeBoard(Board):
    def __init__(self) -> None:
        self.driver = FakeLockDriver(8)

    async def pull(self, compartment: int) -> None:
        self.driver.open_door(compartment)

    async def close(self, compartment: int) -> None:
        self.driver.close_door(compartment)

    async def go_offline(self) -> None:
        self.driver.offline = True

    async def go_silent(self) -> None:
        self.driver.silent = True

    def energise(self, compartment: int) -> None:
        self.driver.relays[compartment] = True

    def relays_on(self) -> list[int]:
        return [compartment for compartment, on in self.driver.relays.items() if on]

    def pulses(self) -> list[int]:
        return list(self.driver.pulses)


class LockDriverContract:
    """Subclass once per implementation and provide ``board()``."""

    def board(self) -> Any:  # an async context manager yielding a Board
        raise NotImplementedError

    def scenario(self, test: Any) -> None:
        async def go() -> None:
            async with self.board() as board:
                driver: LockDriver = board.driver
                assert driver is not None
                await test(board)
        run(go())

    def test_every_door_starts_closed(self) -> None:
        async def test(board: Board) -> None:
            assert await board.driver.read_doors() == dict.fromkeys(range(1, 9), False)
        self.scenario(test)

    def test_unlock_pops_the_door_and_closing_shows_closed(self) -> None:
        async def test(board: Board) -> None:
            await board.driver.unlock(3, 200)
            await wait_door(board.driver, 3, True)
            assert board.pulses() == [3]
            await board.close(3)
            await wait_door(board.driver, 3, False)
        self.scenario(test)

    def test_a_pulled_door_reads_open(self) -> None:
        async def test(board: Board) -> None:
            await board.pull(5)
            assert (await board.driver.read_doors())[5] is True
            assert board.pulses() == []
        self.scenario(test)

    def test_unknown_compartment_is_not_sent(self) -> None:
        async def test(board: Board) -> None:
            for compartment, pulse in ((9, 500), (0, 500), (1, 0)):
                with pytest.raises(UnlockNotSent):
                    await board.driver.unlock(compartment, pulse)
            assert board.pulses() == []
        self.scenario(test)

    def test_offline_board(self) -> None:
        async def test(board: Board) -> None:
            await board.go_offline()
            with pytest.raises(BoardUnreachable):
                await board.driver.read_doors()
            with pytest.raises(UnlockNotSent):
                await board.driver.unlock(1, 200)
            with pytest.raises(BoardUnreachable):
                await board.driver.all_relays_off()
        self.scenario(test)

    def test_silent_board_leaves_the_unlock_outcome_unknown(self) -> None:
        async def test(board: Board) -> None:
            await board.go_silent()
            with pytest.raises(UnlockOutcomeUnknown):
                await board.driver.unlock(2, 200)
            with pytest.raises(BoardUnreachable):
                await board.driver.read_doors()
        self.scenario(test)

    def test_all_relays_off_switches_every_energised_relay_off(self) -> None:
        async def test(board: Board) -> None:
            for compartment in (1, 4, 8):
                board.energise(compartment)
            assert board.relays_on() == [1, 4, 8]
            await board.driver.all_relays_off()
            assert board.relays_on() == []
            assert board.pulses() == []
        self.scenario(test)


class TestModbusLockDriver(LockDriverContract):
    @asynccontextmanager
    async def board(self) -> AsyncIterator[Board]:
        async with LockBoardSimulator(compartments=8, pop_delay_s=0.05) as sim:
            board = SimulatedModbusBoard(sim)
            try:
                yield board
            finally:
                board.driver.close()


class TestFakeLockDriver(LockDriverContract):
    @asynccontextmanager
    async def board(self) -> AsyncIterator[Board]:
        await asyncio.sleep(0)
        yield FakeBoard()


def test_fake_records_calls_and_scripted_failures() -> None:
    fake = FakeLockDriver(4)

    async def go() -> None:
        fake.fail_next_unlock(UnlockOutcomeUnknown("scripted"))
        with pytest.raises(UnlockOutcomeUnknown, match="scripted"):
            await fake.unlock(1, 500)
        await fake.unlock(1, 500)
        await fake.all_relays_off()
        assert await fake.read_doors() == {1: True, 2: False, 3: False, 4: False}

    run(go())
    assert [(c.name, c.compartment) for c in fake.calls] == [
        ("unlock", 1), ("unlock", 1), ("all_relays_off", None), ("read_doors", None)]
    assert fake.pulses == [1]
