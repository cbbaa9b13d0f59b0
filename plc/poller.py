"""Sensor polling: door inputs read at a fixed interval, debounced, turned into observations.

Emits ``controller.ports.DoorChanged`` for every debounced change, ``BoardFaulted`` when a board stops
answering (after the driver's read retries) and ``BoardRecovered`` when it answers again. Whether an
opening was expected or forced is for the core to judge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from controller.domain.errors import BoardUnreachable
from controller.ports import BoardFaulted, BoardRecovered, DoorChanged, SensorObservation
from plc.registers import BoardMap

Emit = Callable[[SensorObservation], Awaitable[None]]


class BoardReader(Protocol):
    """What polling needs from a driver: the boards and a per-board read (``ModbusLockDriver``, fakes)."""

    @property
    def boards(self) -> tuple[BoardMap, ...]:
        """The boards to poll."""
        ...

    async def read_board(self, board: BoardMap) -> dict[int, bool]:
        """Doors of one board (True = open); raises ``BoardUnreachable``."""
        ...


class Debouncer:
    """Accepts a door's new state only after it was read ``polls`` times in a row."""

    def __init__(self, polls: int, stable: Mapping[int, bool] | None = None) -> None:
        if polls < 1:
            raise ValueError(f"debounce needs at least 1 poll, got {polls}")
        self.polls = polls
        self.stable: dict[int, bool] = dict(stable or {})
        self._streaks: dict[int, int] = {}

    def feed(self, sample: Mapping[int, bool]) -> list[DoorChanged]:
        """Take one reading; return the changes that are now confirmed. A first reading is the baseline."""
        changes = []
        for compartment, is_open in sample.items():
            if self.stable.setdefault(compartment, is_open) == is_open:
                self._streaks.pop(compartment, None)
                continue
            streak = self._streaks.get(compartment, 0) + 1
            if streak >= self.polls:
                self.stable[compartment] = is_open
                self._streaks.pop(compartment, None)
                changes.append(DoorChanged(compartment=compartment, is_open=is_open))
            else:
                self._streaks[compartment] = streak
        return changes

    def forget_streaks(self, compartments: range) -> None:
        """Drop half-confirmed changes (a board fault interrupts the run of readings)."""
        for compartment in compartments:
            self._streaks.pop(compartment, None)


class DoorPoller:
    """Polls every board of a ``BoardReader`` and emits observations to an async callback."""

    def __init__(self, reader: BoardReader, emit: Emit, *, interval_s: float = 0.1, debounce_polls: int = 2,
                 initial: Mapping[int, bool] | None = None) -> None:
        if interval_s <= 0:
            raise ValueError(f"poll interval must be positive, got {interval_s}")
        self.reader = reader
        self.emit = emit
        self.interval_s = interval_s
        self.debouncer = Debouncer(debounce_polls, initial)
        self.faulted: set[str] = set()

    @property
    def doors(self) -> dict[int, bool]:
        """The debounced door states (True = open)."""
        return dict(self.debouncer.stable)

    async def run(self) -> None:
        """Poll at a fixed rate until cancelled; a slow poll delays the next one instead of bunching up."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            await self.poll_once()
            next_at = max(next_at + self.interval_s, loop.time())
            await asyncio.sleep(next_at - loop.time())

    async def poll_once(self) -> None:
        """Read every board once and emit what changed."""
        for board in self.reader.boards:
            try:
                sample = await self.reader.read_board(board)
            except BoardUnreachable as exc:
                await self._faulted(board, str(exc))
                continue
            if board.name in self.faulted:
                self.faulted.discard(board.name)
                await self.emit(BoardRecovered(board=board.name, compartments=tuple(board.compartments)))
            for change in self.debouncer.feed(sample):
                await self.emit(change)

    async def _faulted(self, board: BoardMap, detail: str) -> None:
        self.debouncer.forget_streaks(board.compartments)
        if board.name not in self.faulted:
            self.faulted.add(board.name)
            await self.emit(BoardFaulted(board=board.name, compartments=tuple(board.compartments), detail=detail))
