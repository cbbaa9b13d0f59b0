"""The ``[plc]`` and ``[simulator]`` sections of the configuration file: their models, defaults and rules.

The site schema (``controller.app.config.schema``) composes these models; ``plc.registers.plc_config_of`` turns
a validated ``PlcSettings`` into the register map the driver and the poller use. ``plc.registers`` documents
the default map and an example section.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from plc.sim_board import DoorBehaviour

DEFAULT_COMPARTMENTS = 16
"""One board's compartments when neither ``[plc]`` nor the bank says how many (``lockers plc`` alone)."""
DEFAULT_PULSE_REGISTER_BASE = 512
MAX_BITS_PER_READ = 2000  # Modbus limit for one read of coils or discrete inputs
ADDRESSES = 65_536
Port = Annotated[int, Field(ge=1, le=65_535)]
Address = Annotated[int, Field(ge=0, lt=ADDRESSES)]


class Section(BaseModel):
    """A table of the configuration file: unknown keys, wrong types, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class PlcBoardSettings(Section):
    """One ``[[plc.boards]]`` table; ``name``, ``device_id`` and ``first_compartment`` default by position."""

    name: str | None = Field(None, min_length=1)  # default board<n>
    device_id: int | None = Field(None, ge=1, le=247)  # default 1 for the first board; required for the others
    first_compartment: int | None = Field(None, ge=1, le=1_000_000)  # default: on from the previous board
    compartments: int = Field(ge=1, le=MAX_BITS_PER_READ)
    coil_base: Address = 0
    input_base: Address = 0
    pulse_register_base: Address = DEFAULT_PULSE_REGISTER_BASE
    board_timed_pulse: bool = True  # false: the driver times the pulse
    inputs_inverted: bool = False

    @model_validator(mode="after")
    def _addresses_fit(self) -> PlcBoardSettings:
        for key in ("coil_base", "input_base", "pulse_register_base"):
            if getattr(self, key) + self.compartments > ADDRESSES:
                raise ValueError(f"{key} + compartments must not exceed {ADDRESSES}")
        return self


class PlcSettings(Section):
    """``[plc]``: where the lock boards are, how they are timed and mapped."""

    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = Field("127.0.0.1", min_length=1)
    port: Port = 502
    serial_port: str | None = Field(None, min_length=1)  # RTU: a device, or a pyserial URL (socket://host:port)
    baudrate: int = Field(19_200, ge=300, le=4_000_000)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = Field(1, ge=1, le=2)
    bytesize: int = Field(8, ge=7, le=8)
    timeout_ms: int = Field(500, ge=1, le=60_000)
    read_retries: int = Field(2, ge=0, le=10)
    reconnect_delay_ms: int = Field(100, ge=1, le=60_000)
    reconnect_delay_max_ms: int = Field(5000, ge=1, le=600_000)
    poll_interval_ms: int = Field(100, ge=5, le=60_000)
    debounce_polls: int = Field(2, ge=1, le=100)
    compartments: int | None = Field(None, ge=1, le=MAX_BITS_PER_READ)  # one board; else [[plc.boards]]
    boards: list[PlcBoardSettings] = []

    @property
    def maps_compartments(self) -> bool:
        """Whether the section itself says how many compartments the boards serve."""
        return bool(self.boards) or self.compartments is not None

    def resolved_boards(self, compartments: int = DEFAULT_COMPARTMENTS) -> list[PlcBoardSettings]:
        """Every board with its name, device id and first compartment filled in.

        ``compartments`` is the one board's count when the section maps none (the bank's, in the service).
        """
        if not self.boards:
            count = self.compartments or compartments
            return [PlcBoardSettings(name="board1", device_id=1, first_compartment=1, compartments=count)]
        resolved: list[PlcBoardSettings] = []
        next_first = 1
        for index, board in enumerate(self.boards):
            first = board.first_compartment or next_first
            resolved.append(board.model_copy(update={
                "name": board.name or f"board{index + 1}",
                "device_id": board.device_id or (1 if index == 0 else None),
                "first_compartment": first,
            }))
            next_first = first + board.compartments
        return resolved

    @model_validator(mode="after")
    def _boards_are_distinct(self) -> PlcSettings:
        if self.transport == "rtu" and self.serial_port is None:
            raise ValueError('serial_port is required with transport = "rtu"')
        if self.boards and self.compartments is not None:
            raise ValueError("give the count per board in [[plc.boards]], not both boards and compartments")
        boards = self.resolved_boards()
        for index, board in enumerate(boards):
            if board.device_id is None:
                raise ValueError(f"boards[{index}].device_id is required (only the first board defaults to 1)")
        _check_distinct(boards)
        return self


def _check_distinct(boards: list[PlcBoardSettings]) -> None:
    """No two boards share a name, a device id or a compartment."""
    names: set[str | None] = set()
    devices: dict[int | None, str | None] = {}
    owner: dict[int, str | None] = {}
    for board in boards:
        if board.name in names:
            raise ValueError(f"two boards are named {board.name!r}")
        if board.device_id in devices:
            shared = board.device_id
            raise ValueError(f"boards {devices[shared]!r} and {board.name!r} share device_id {shared}")
        names.add(board.name)
        devices[board.device_id] = board.name
        first = board.first_compartment or 1
        for k in range(first, first + board.compartments):
            if k in owner:
                raise ValueError(f"compartment {k} is on both {owner[k]!r} and {board.name!r}")
            owner[k] = board.name


class SimulatorSettings(Section):
    """``[simulator]``: the in-process lock board of ``lockers run --simulate``."""

    behaviour: Annotated[DoorBehaviour, Field(strict=False)] = DoorBehaviour.POP
