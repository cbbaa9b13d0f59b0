"""``ModbusLockDriver``: the ``controller.ports.LockDriver`` for Modbus lock boards (TCP or RTU).

Unlocks are never retried: a failure before the request left becomes ``PlcUnlockNotSent``, anything
after it may have arrived becomes ``PlcUnlockOutcomeUnknown``. Reads are retried a bounded number of
times and then raise ``PlcBoardUnreachable``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

from plc.channel import ModbusChannel
from plc.errors import (
    PlcBoardUnreachable,
    PlcDeviceError,
    PlcError,
    PlcTimeout,
    PlcUnlockNotSent,
    PlcUnlockOutcomeUnknown,
)
from plc.registers import BoardMap, PlcConfig

T = TypeVar("T")
PULSE_UNIT_MS = 100
READ_RETRY_PAUSE_S = 0.02


class ModbusLockDriver:
    """Lock boards behind one Modbus connection, addressed through a ``PlcConfig`` register map."""

    def __init__(self, config: PlcConfig) -> None:
        self.config = config
        self.channel = ModbusChannel(config.endpoint, timeout_s=config.timeout_s,
                                     reconnect_delay_s=config.reconnect_delay_s,
                                     reconnect_delay_max_s=config.reconnect_delay_max_s)

    @property
    def boards(self) -> tuple[BoardMap, ...]:
        """The boards this driver serves."""
        return self.config.boards

    async def __aenter__(self) -> ModbusLockDriver:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.channel.close()

    async def unlock(self, compartment: int, pulse_ms: int) -> None:
        """Send one unlock pulse: board-timed when the map has a pulse register, else relay on, wait, off."""
        board = self._board_for_unlock(compartment, pulse_ms)
        register = board.pulse_register(compartment)
        if register is not None:
            units = min(max(1, math.ceil(pulse_ms / PULSE_UNIT_MS)), 0xFFFF)
            await self._send_pulse(compartment, self.channel.write_register(register, units, board.device_id))
            return
        coil = board.coil(compartment)
        await self._send_pulse(compartment, self.channel.write_coil(coil, True, board.device_id))
        try:
            await asyncio.sleep(pulse_ms / 1000)
        finally:
            # shield: the relay must go off even when the caller is cancelled during the pulse
            await asyncio.shield(self._relay_off(compartment, board, coil))

    async def read_doors(self) -> dict[int, bool]:
        """Every compartment's door (True = open), one bulk read per board."""
        doors: dict[int, bool] = {}
        for board in self.boards:
            doors.update(await self.read_board(board))
        return doors

    async def read_board(self, board: BoardMap) -> dict[int, bool]:
        """The doors of one board (True = open); raises ``PlcBoardUnreachable``."""
        bits = await self._read(board, lambda: self.channel.read_inputs(board.input_base, board.count,
                                                                       board.device_id))
        return board.doors_from_inputs(bits)

    async def read_relays(self) -> dict[int, bool]:
        """Every compartment's relay (True = energised), for maintenance."""
        relays: dict[int, bool] = {}
        for board in self.boards:
            relays.update(zip(board.compartments, await self._read_coils(board), strict=True))
        return relays

    async def _read_coils(self, board: BoardMap) -> list[bool]:
        return await self._read(board, lambda: self.channel.read_coils(board.coil_base, board.count,
                                                                      board.device_id))

    async def all_relays_off(self) -> None:
        """De-energise every relay, one write per board; raises ``PlcError`` naming the failed board."""
        for board in self.boards:
            try:
                await self.channel.write_coils(board.coil_base, [False] * board.count, board.device_id)
            except PlcError as exc:
                raise PlcBoardUnreachable(f"switching the relays of {board.name} off failed", exc,
                                          board.name) from exc

    def _board_for_unlock(self, compartment: int, pulse_ms: int) -> BoardMap:
        board = self.config.board_of(compartment)
        if board is None:
            known = self.config.compartments
            raise PlcUnlockNotSent(f"compartment {compartment} is not in the register map "
                                   f"({known[0]}..{known[-1]})")
        if pulse_ms <= 0:
            raise PlcUnlockNotSent(f"pulse length must be positive, got {pulse_ms} ms")
        return board

    async def _send_pulse(self, compartment: int, request: Awaitable[None]) -> None:
        try:
            await request
        except PlcError as exc:
            message = f"unlock of compartment {compartment}"
            if exc.may_have_arrived:
                raise PlcUnlockOutcomeUnknown(message + " may have reached the board", exc) from exc
            raise PlcUnlockNotSent(message + " was not sent", exc) from exc

    async def _relay_off(self, compartment: int, board: BoardMap, coil: int) -> None:
        try:
            await self.channel.write_coil(coil, False, board.device_id)
        except PlcError as exc:
            raise PlcUnlockOutcomeUnknown(f"compartment {compartment}: pulse sent but switching the relay "
                                          "off failed; it may still be energised", exc) from exc

    async def _read(self, board: BoardMap, read: Callable[[], Awaitable[T]]) -> T:
        """Run a read with bounded retries; only reads are ever retried."""
        attempt = 0
        while True:
            try:
                return await read()
            except PlcError as exc:
                if attempt >= self.config.read_retries or not _worth_retrying(exc):
                    raise PlcBoardUnreachable(f"{board.name} (device {board.device_id}) does not answer",
                                              exc, board.name) from exc
            attempt += 1
            await asyncio.sleep(READ_RETRY_PAUSE_S)


def _worth_retrying(exc: PlcError) -> bool:
    """Timeouts and a busy board may pass; a refused connection waits for the reconnect backoff."""
    if isinstance(exc, PlcDeviceError):
        return exc.exception_code == 0x06
    return isinstance(exc, PlcTimeout)
