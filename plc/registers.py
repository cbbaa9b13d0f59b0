"""The register map: which coil, input and register belongs to which compartment, from the ``[plc]`` section.

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

from dataclasses import dataclass

from plc.settings import (
    DEFAULT_COMPARTMENTS,
    DEFAULT_PULSE_REGISTER_BASE,
    MAX_BITS_PER_READ,
    PlcBoardSettings,
    PlcSettings,
)

__all__ = ["DEFAULT_COMPARTMENTS", "MAX_BITS_PER_READ", "BoardMap", "PlcConfig", "default_plc_config", "plc_config_of"]


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
    settings = PlcSettings(host=host, port=port, compartments=compartments, timeout_ms=round(timeout_s * 1000))
    return plc_config_of(settings)


def plc_config_of(settings: PlcSettings, compartments: int = DEFAULT_COMPARTMENTS) -> PlcConfig:
    """The register map of a validated ``[plc]`` section (``compartments``: one board's count when it maps none)."""
    return PlcConfig(
        endpoint=_endpoint(settings),
        boards=tuple(_board_map(board) for board in settings.resolved_boards(compartments)),
        timeout_s=settings.timeout_ms / 1000,
        read_retries=settings.read_retries,
        reconnect_delay_s=settings.reconnect_delay_ms / 1000,
        reconnect_delay_max_s=settings.reconnect_delay_max_ms / 1000,
        poll_interval_s=settings.poll_interval_ms / 1000,
        debounce_polls=settings.debounce_polls,
    )


def _endpoint(settings: PlcSettings) -> TcpEndpoint | RtuEndpoint:
    if settings.transport == "tcp" or settings.serial_port is None:  # the section refuses RTU without a port
        return TcpEndpoint(host=settings.host, port=settings.port)
    return RtuEndpoint(
        port=settings.serial_port,
        baudrate=settings.baudrate,
        parity=settings.parity,
        stopbits=settings.stopbits,
        bytesize=settings.bytesize,
    )


def _board_map(board: PlcBoardSettings) -> BoardMap:
    """A resolved board (``PlcSettings.resolved_boards``) as its addresses."""
    return BoardMap(
        name=board.name or "",
        device_id=board.device_id or 1,
        first_compartment=board.first_compartment or 1,
        count=board.compartments,
        coil_base=board.coil_base,
        input_base=board.input_base,
        pulse_register_base=board.pulse_register_base if board.board_timed_pulse else None,
        inputs_inverted=board.inputs_inverted,
    )
