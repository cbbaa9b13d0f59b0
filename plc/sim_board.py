"""The behaviour of one simulated lock board (default register map), free of any Modbus code.

A relay energised while the door is closed releases the latch; with ``DoorBehaviour.POP`` the door
springs open ``pop_delay_s`` later, with ``STAY_CLOSED`` it stays shut until pulled, with ``JAM`` (or a
door jammed through its control register) the latch never releases. The test-control holding register
``1000 + (k-1)`` takes ``Control`` codes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

PULSE_REGISTER_BASE = 512
CONTROL_REGISTER_BASE = 1000
PULSE_UNIT_S = 0.1
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03


class DoorBehaviour(StrEnum):
    """What a door does when its latch is released."""

    POP = "pop"
    STAY_CLOSED = "stay-closed"
    JAM = "jam"


class Control(IntEnum):
    """Codes for the test-control registers."""

    NORMAL = 0
    CLOSE = 1
    PULL = 2
    JAM = 3


@dataclass
class SimulatedBoard:
    """Relays, doors and registers of one board; compartment ``k`` is index ``k-1``."""

    compartments: int
    behaviour: DoorBehaviour = DoorBehaviour.POP
    pop_delay_s: float = 0.2
    inputs_inverted: bool = False
    relays: list[bool] = field(init=False)
    closed: list[bool] = field(init=False)
    jammed: list[bool] = field(init=False)
    registers: dict[int, int] = field(init=False)
    pulses: list[int] = field(default_factory=list)
    forced_openings: list[int] = field(default_factory=list)
    _timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.compartments
        self.relays, self.closed, self.jammed = [False] * n, [True] * n, [False] * n
        self.registers = {a: 0 for base in (PULSE_REGISTER_BASE, CONTROL_REGISTER_BASE) for a in range(base, base + n)}

    def door_open(self, compartment: int) -> bool:
        """True when the door of ``compartment`` is open."""
        return not self.closed[compartment - 1]

    def input_bits(self) -> list[bool]:
        """The discrete inputs as the board reports them."""
        return [c != self.inputs_inverted for c in self.closed]

    def set_relay(self, index: int, on: bool) -> None:
        """Energise or de-energise one relay; energising a closed, latched door releases it."""
        if on and not self.relays[index]:
            self.pulses.append(index + 1)
            if self.closed[index] and self._releases(index):
                asyncio.get_running_loop().call_later(self.pop_delay_s, self._pop, index)
        self.relays[index] = on

    def write_relays(self, address: int, values: list[bool]) -> int | None:
        """A coil write; returns a Modbus exception code or None."""
        if address < 0 or address + len(values) > self.compartments:
            return ILLEGAL_ADDRESS
        for offset, value in enumerate(values):
            self.set_relay(address + offset, bool(value))
        return None

    def read_registers(self, address: int, count: int) -> list[int] | None:
        """Holding registers, or None when the range is not mapped."""
        wanted = range(address, address + count)
        if count < 1 or any(a not in self.registers for a in wanted):
            return None
        return [self.registers[a] for a in wanted]

    def write_registers(self, address: int, values: list[int]) -> int | None:
        """A holding-register write; returns a Modbus exception code or None."""
        if not values or any(a not in self.registers for a in range(address, address + len(values))):
            return ILLEGAL_ADDRESS
        if any(not self._valid(address + i, v) for i, v in enumerate(values)):
            return ILLEGAL_VALUE
        for offset, value in enumerate(values):
            self._write_register(address + offset, value)
        return None

    def _valid(self, address: int, value: int) -> bool:
        return address < CONTROL_REGISTER_BASE or value in set(Control)

    def _write_register(self, address: int, value: int) -> None:
        self.registers[address] = value
        if address >= CONTROL_REGISTER_BASE:
            self.control(address - CONTROL_REGISTER_BASE, Control(value))
        else:
            self._timed_pulse(address - PULSE_REGISTER_BASE, value)

    def _timed_pulse(self, index: int, units: int) -> None:
        timer = self._timers.pop(index, None)
        if timer is not None:
            timer.cancel()
        self.set_relay(index, units > 0)
        if units > 0:
            self._timers[index] = asyncio.get_running_loop().call_later(units * PULSE_UNIT_S,
                                                                        self._end_pulse, index)

    def _end_pulse(self, index: int) -> None:
        self._timers.pop(index, None)
        self.registers[PULSE_REGISTER_BASE + index] = 0
        self.set_relay(index, False)

    def control(self, index: int, code: Control | int) -> None:
        """What a person (or a test) does to door ``index + 1``."""
        code = Control(code)
        if code is Control.CLOSE:
            self.closed[index] = True
        elif code is Control.PULL:
            self._pull(index)
        else:
            self.jammed[index] = code is Control.JAM

    def _pull(self, index: int) -> None:
        if not self.closed[index]:
            return
        if not self.relays[index] or not self._releases(index):
            self.forced_openings.append(index + 1)  # latched: a forced opening, which the simulator allows
        self.closed[index] = False

    def _releases(self, index: int) -> bool:
        return self.behaviour is not DoorBehaviour.JAM and not self.jammed[index]

    def _pop(self, index: int) -> None:
        if self.behaviour is DoorBehaviour.POP and self._releases(index):
            self.closed[index] = False
