"""The simulator survives garbage and out-of-range requests, and refuses bad test-control values."""

from __future__ import annotations

import asyncio
import contextlib
import struct

import pytest

from plc.errors import PlcDeviceError
from plc.simulator import LockBoardSimulator
from tests.plc.conftest import rig, run

pytestmark = pytest.mark.timeout(30)


def mbap(transaction: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


async def exchange(port: int, frame: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(frame)
        await writer.drain()
        return await asyncio.wait_for(reader.read(256), 1.0)
    finally:
        writer.close()


def test_garbage_bytes_do_not_stop_the_server() -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            for junk in (b"\xff" * 64, b"GET / HTTP/1.1\r\n\r\n", bytes(range(256)), mbap(1, 1, b"\x63\x00")):
                with contextlib.suppress(TimeoutError, ConnectionError):  # silence or a hang-up is fine
                    await exchange(sim.port, junk)
            reply = await exchange(sim.port, mbap(7, 1, struct.pack(">BHH", 2, 0, 8)))
            assert reply[:2] == b"\x00\x07" and reply[7] == 2  # a proper read-inputs reply
    run(go())


@pytest.mark.parametrize(("description", "pdu"), [
    ("coils past the end", struct.pack(">BHH", 1, 6, 5)),
    ("inputs past the end", struct.pack(">BHH", 2, 100, 1)),
    ("unmapped holding register", struct.pack(">BHH", 3, 0, 1)),
    ("input registers", struct.pack(">BHH", 4, 0, 1)),
    ("coil write past the end", struct.pack(">BHH", 5, 8, 0xFF00)),
    ("register write outside the map", struct.pack(">BHH", 6, 600, 1)),
])
def test_out_of_range_requests_get_illegal_address(description: str, pdu: bytes) -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            reply = await exchange(sim.port, mbap(3, 1, pdu))
            assert reply[7] == pdu[0] | 0x80 and reply[8] == 2, description
            assert sim.board.relays == [False] * 8
    run(go())


def test_unknown_device_id_is_refused() -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            reply = await exchange(sim.port, mbap(3, 9, struct.pack(">BHH", 2, 0, 8)))
            assert reply[7] == 0x82
    run(go())


def test_invalid_control_value_is_an_illegal_value_reply() -> None:
    async def go() -> None:
        async with rig() as (sim, driver):
            with pytest.raises(PlcDeviceError) as caught:
                await driver.channel.write_register(1000, 9, device_id=1)
            assert caught.value.exception_code == 3
            assert len(await driver.read_doors()) == 8
    run(go())


def test_control_registers_read_back_what_was_written() -> None:
    async def go() -> None:
        async with LockBoardSimulator(compartments=8) as sim:
            await exchange(sim.port, mbap(1, 1, struct.pack(">BHH", 6, 1003, 3)))
            reply = await exchange(sim.port, mbap(2, 1, struct.pack(">BHH", 3, 1003, 1)))
            assert reply[7:] == b"\x03\x02\x00\x03"
            assert sim.board.jammed[3] is True
    run(go())
