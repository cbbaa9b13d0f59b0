"""RTU framing end to end: the driver's serial client reaches the simulator through pyserial's socket://."""

from __future__ import annotations

import pytest

from plc.channel import inter_frame_gap_s
from plc.driver import ModbusLockDriver
from plc.errors import PlcUnlockOutcomeUnknown
from plc.registers import RtuEndpoint, TcpEndpoint, plc_config_of
from plc.settings import PlcSettings
from plc.simulator import LockBoardSimulator
from tests.plc.conftest import run, wait_door

pytestmark = pytest.mark.timeout(30)


def rtu_config(port: int) -> object:
    return plc_config_of(PlcSettings(transport="rtu", serial_port=f"socket://127.0.0.1:{port}", baudrate=9600,
                                     compartments=8, timeout_ms=300, read_retries=0))


def test_rtu_unlock_read_and_silence() -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=8, rtu_framing=True, pop_delay_s=0.05) as sim:
            config = rtu_config(sim.port)
            async with ModbusLockDriver(config) as driver:  # type: ignore[arg-type]
                assert await driver.read_doors() == dict.fromkeys(range(1, 9), False)
                await driver.unlock(2, 100)
                await wait_door(driver, 2, True)
                await driver.all_relays_off()
                sim.faults.silent = True
                with pytest.raises(PlcUnlockOutcomeUnknown):
                    await driver.unlock(3, 100)
                assert sim.board.pulses == [2]
    run(go())


def test_rtu_client_cannot_talk_to_a_tcp_framed_board() -> None:
    """Proves the RTU test above really used RTU frames: the same client fails on MBAP framing."""
    async def go() -> None:
        async with LockBoardSimulator(compartments=8, rtu_framing=False) as sim:
            driver = ModbusLockDriver(rtu_config(sim.port))  # type: ignore[arg-type]
            with pytest.raises(PlcUnlockOutcomeUnknown):
                await driver.unlock(1, 100)
            driver.close()
    run(go())


def test_inter_frame_gap() -> None:
    assert inter_frame_gap_s(TcpEndpoint("h")) == 0
    assert inter_frame_gap_s(RtuEndpoint("p", 9600)) == pytest.approx(3.5 * 11 / 9600)
    assert inter_frame_gap_s(RtuEndpoint("p", 115200)) == 0.00175
