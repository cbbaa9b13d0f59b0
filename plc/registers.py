"""The register map: which coil, input and register belongs to which compartment, from TOML config.

Default map (one board, device id 1), for compartment ``k`` (1-based):

* coil ``k-1``: lock relay (1 = energised = unlatched);
* discrete input ``k-1``: door sensor (1 = closed, 0 = open; ``inputs_inverted`` flips it);
* holding register ``512 + (k-1)``: board-timed pulse length in units of 100 ms.

Example ``[plc]`` section (every key optional)::

    [plc]
    transport = "tcp"            # or "rtu"
    host = "192.168.1.50"
    port = 502
    timeout_ms = 500
    read_retries = 2
    poll_interval_ms = 100
    debounce_polls = 2

    [[plc.boards]]
    device_id = 1
    compartments = 24
    pulse_register_base = 512    # board_timed_pulse = false lets the driver time the pulse

    [[plc.boards]]
    device_id = 2
    compartments = 24            # numbered on from the previous board: 25..48
    inputs_inverted = true
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from controller.domain.errors import ConfigError
from plc.config_reader import SectionReader

DEFAULT_COMPARTMENTS = 16
DEFAULT_PULSE_REGISTER_BASE = 512
MAX_BITS_PER_READ = 2000  # Modbus limit for one read of coils or discrete inputs


@dataclass(frozen=True, slots=True)
class BoardMap:
    """One lock board: a contiguous run of compartments and the addresses that serve them."""

    name: str
    device_id: int
    first_compartment: int
    count: int
    coil_base: int = 0
    input_base: int = 0
    pulse_register_base: int | None = DEFAULT_PULSE_REGISTER_BASE
    inputs_inverted: bool = False

    @property
    def compartments(self) -> range:
        """The compartment numbers this board serves."""
        return range(self.first_compartment, self.first_compartment + self.count)

    def offset(self, compartment: int) -> int:
        """Zero-based position of ``compartment`` on this board."""
        return compartment - self.first_compartment

    def coil(self, compartment: int) -> int:
        """Address of the compartment's lock relay."""
        return self.coil_base + self.offset(compartment)

    def pulse_register(self, compartment: int) -> int | None:
        """Address of the board-timed pulse register, or None when the driver times the pulse."""
        if self.pulse_register_base is None:
            return None
        return self.pulse_register_base + self.offset(compartment)

    def doors_from_inputs(self, bits: list[bool]) -> dict[int, bool]:
        """Door states (True = open) from the raw discrete inputs read at ``input_base``."""
        return {k: bool(bits[i]) == self.inputs_inverted for i, k in enumerate(self.compartments)}


@dataclass(frozen=True, slots=True)
class TcpEndpoint:
    """Modbus TCP: a board or a gateway on the network."""

    host: str
    port: int = 502

    def __str__(self) -> str:
        return f"tcp://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RtuEndpoint:
    """Modbus RTU on RS-485; ``port`` may also be a pyserial URL such as ``socket://host:port``."""

    port: str
    baudrate: int = 19200
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8

    def __str__(self) -> str:
        return f"rtu:{self.port}@{self.baudrate}"


@dataclass(frozen=True, slots=True)
class PlcConfig:
    """Everything the driver and the poller need: where the boards are and how they are mapped."""

    endpoint: TcpEndpoint | RtuEndpoint
    boards: tuple[BoardMap, ...]
    timeout_s: float = 0.5
    read_retries: int = 2
    reconnect_delay_s: float = 0.1
    reconnect_delay_max_s: float = 5.0
    poll_interval_s: float = 0.1
    debounce_polls: int = 2

    @property
    def compartments(self) -> list[int]:
        """Every compartment number, in board order."""
        return [k for board in self.boards for k in board.compartments]

    def board_of(self, compartment: int) -> BoardMap | None:
        """The board that serves ``compartment``, or None when no board does."""
        return next((b for b in self.boards if compartment in b.compartments), None)


def default_plc_config(compartments: int = DEFAULT_COMPARTMENTS, host: str = "127.0.0.1", port: int = 502,
                       timeout_s: float = 0.5) -> PlcConfig:
    """The default map on Modbus TCP (what ``lockers plc status --host/--port`` and the simulator use)."""
    return parse_plc_config({"host": host, "port": port, "compartments": compartments,
                             "timeout_ms": round(timeout_s * 1000)})


def load_plc_config(path: Path) -> PlcConfig:
    """Read the ``[plc]`` section of a TOML config file."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    section = document.get("plc", {})
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [plc] must be a table")
    return parse_plc_config(section)


def parse_plc_config(section: Mapping[str, object]) -> PlcConfig:
    """Validate a ``[plc]`` section (as parsed from TOML) into a ``PlcConfig``; raise ``ConfigError``."""
    reader = SectionReader(section, "plc")
    endpoint = _endpoint(reader)
    timing = {
        "timeout_s": reader.integer("timeout_ms", 500, 1, 60_000) / 1000,
        "read_retries": reader.integer("read_retries", 2, 0, 10),
        "reconnect_delay_s": reader.integer("reconnect_delay_ms", 100, 1, 60_000) / 1000,
        "reconnect_delay_max_s": reader.integer("reconnect_delay_max_ms", 5000, 1, 600_000) / 1000,
        "poll_interval_s": reader.integer("poll_interval_ms", 100, 5, 60_000) / 1000,
        "debounce_polls": reader.integer("debounce_polls", 2, 1, 100),
    }
    boards = _boards(reader)
    reader.finish()
    return PlcConfig(endpoint=endpoint, boards=boards, **timing)  # type: ignore[arg-type]


def _endpoint(reader: SectionReader) -> TcpEndpoint | RtuEndpoint:
    transport = reader.choice("transport", "tcp", ("tcp", "rtu"))
    if transport == "tcp":
        return TcpEndpoint(host=reader.text("host", "127.0.0.1"), port=reader.integer("port", 502, 1, 65535))
    return RtuEndpoint(
        port=reader.text("serial_port", None),
        baudrate=reader.integer("baudrate", 19200, 300, 4_000_000),
        parity=reader.choice("parity", "N", ("N", "E", "O")),
        stopbits=reader.integer("stopbits", 1, 1, 2),
        bytesize=reader.integer("bytesize", 8, 7, 8),
    )


def _boards(reader: SectionReader) -> tuple[BoardMap, ...]:
    tables = reader.tables("boards")
    if not tables:
        count = reader.integer("compartments", DEFAULT_COMPARTMENTS, 1, MAX_BITS_PER_READ)
        return (BoardMap(name="board1", device_id=1, first_compartment=1, count=count),)
    if "compartments" in reader:
        raise ConfigError("plc.compartments: give the count per board in [[plc.boards]], not both")
    boards: list[BoardMap] = []
    for index, table in enumerate(tables):
        next_first = boards[-1].compartments.stop if boards else 1
        boards.append(_board(table, index, next_first))
    _check_unique(boards)
    return tuple(boards)


def _board(reader: SectionReader, index: int, next_first: int) -> BoardMap:
    count = reader.integer("compartments", None, 1, MAX_BITS_PER_READ)
    timed = reader.boolean("board_timed_pulse", True)
    pulse_base = reader.integer("pulse_register_base", DEFAULT_PULSE_REGISTER_BASE, 0, 65536 - count)
    board = BoardMap(
        name=reader.text("name", f"board{index + 1}"),
        device_id=reader.integer("device_id", 1 if index == 0 else None, 1, 247),
        first_compartment=reader.integer("first_compartment", next_first, 1, 1_000_000),
        count=count,
        coil_base=reader.integer("coil_base", 0, 0, 65536 - count),
        input_base=reader.integer("input_base", 0, 0, 65536 - count),
        pulse_register_base=pulse_base if timed else None,
        inputs_inverted=reader.boolean("inputs_inverted", False),
    )
    reader.finish()
    return board


def _check_unique(boards: list[BoardMap]) -> None:
    seen: dict[int, str] = {}
    for board in boards:
        for other in boards:
            if other is not board and board.name == other.name:
                raise ConfigError(f"plc.boards: two boards are named {board.name!r}")
            if other is not board and board.device_id == other.device_id:
                raise ConfigError(f"plc.boards: boards {other.name!r} and {board.name!r} share "
                                  f"device_id {board.device_id}")
        for k in board.compartments:
            if k in seen:
                raise ConfigError(f"plc.boards: compartment {k} is on both {seen[k]!r} and {board.name!r}")
            seen[k] = board.name
