"""A lock-board simulator: a real pymodbus server (TCP, or RTU framing over TCP) serving ``SimulatedBoard``s.

Layers as in pymodbus' own examples: board state -> ``ModbusBaseDeviceContext`` -> ``ModbusServerContext``
-> server. ``Faults`` injects failures for tests (and through ``lockers plc-sim`` flags): stop answering,
lose replies, delay replies, exception replies, drop connections.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.datastore.context import ModbusBaseDeviceContext
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler

from plc.sim_board import DoorBehaviour, SimulatedBoard

# Modbus function code -> table: coils, discrete inputs, holding registers (input registers: none)
_TABLES = {1: "c", 5: "c", 15: "c", 2: "d", 3: "h", 6: "h", 16: "h", 22: "h", 23: "h"}


@dataclass
class Faults:
    """Failures to inject; change the fields at any time."""

    silent: bool = False  # requests are swallowed: not executed, never answered
    lose_replies: bool = False  # requests are executed but the reply is lost
    delay_s: float = 0.0  # every reply is held back this long
    exception_code: int | None = None  # every request is refused with this Modbus exception code
    drop_connections: bool = False  # every request closes its connection instead of being served


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """A request as it reached the simulator (before any fault was applied)."""

    device_id: int
    function_code: int
    address: int


class _BoardContext(ModbusBaseDeviceContext):
    """Maps Modbus tables onto one ``SimulatedBoard``; addresses outside the map get ILLEGAL_ADDRESS."""

    def __init__(self, board: SimulatedBoard) -> None:
        self.board = board

    def getValues(self, func_code: int, address: int, count: int = 1) -> list[int] | list[bool] | ExcCodes:  # noqa: N802
        """Read coils (relays), discrete inputs (doors) or holding registers."""
        table = _TABLES.get(func_code, "")
        if table == "h":
            values = self.board.read_registers(address, count)
            return ExcCodes.ILLEGAL_ADDRESS if values is None else values
        bits = {"c": self.board.relays, "d": self.board.input_bits()}.get(table)
        if bits is None or address < 0 or count < 1 or address + count > len(bits):
            return ExcCodes.ILLEGAL_ADDRESS
        return list(bits[address:address + count])

    def setValues(self, func_code: int, address: int, values: list[int] | list[bool]) -> None | ExcCodes:  # noqa: N802
        """Write coils (relays) or holding registers (pulse and test control)."""
        table = _TABLES.get(func_code, "")
        if table == "c":
            code = self.board.write_relays(address, [bool(v) for v in values])
        elif table == "h":
            code = self.board.write_registers(address, [int(v) for v in values])
        else:
            code = ExcCodes.ILLEGAL_ADDRESS
        return None if code is None else ExcCodes(code)


class _FaultyRequestHandler(ServerRequestHandler):
    """pymodbus' per-connection handler with the simulator's faults applied."""

    server: _SimulatorServer

    async def handle_request(self) -> None:
        pdu: ModbusPDU | None = self.last_pdu
        if pdu is None:
            return
        faults = self.server.faults
        self.server.received.append(ReceivedRequest(pdu.dev_id, pdu.function_code, getattr(pdu, "address", -1)))
        if faults.drop_connections:
            self.close()
            return
        if faults.silent:
            return
        if faults.delay_s:
            await asyncio.sleep(faults.delay_s)
        if faults.exception_code is not None:
            self._refuse(pdu, faults.exception_code)
            return
        self.last_pdu = pdu
        await super().handle_request()  # type: ignore[no-untyped-call]

    def _refuse(self, pdu: ModbusPDU, code: int) -> None:
        response = ExceptionResponse(pdu.function_code, code)
        response.transaction_id, response.dev_id = pdu.transaction_id, pdu.dev_id
        self.pdu_send(response, self.last_addr)

    def server_send(self, pdu: ModbusPDU | None, addr: Any) -> None:
        """Send a reply unless replies are being lost."""
        if not self.server.faults.lose_replies:
            super().server_send(pdu, addr)  # type: ignore[no-untyped-call]


class _SimulatorServer(ModbusTcpServer):
    def __init__(self, context: ModbusServerContext, address: tuple[str, int], framer: FramerType,
                 faults: Faults) -> None:
        super().__init__(context, address=address, framer=framer)
        self.faults = faults
        self.received: list[ReceivedRequest] = []

    def callback_new_connection(self) -> _FaultyRequestHandler:
        return _FaultyRequestHandler(  # type: ignore[no-untyped-call]
            self, self.trace_packet, self.trace_pdu, self.trace_connect)


@dataclass
class LockBoardSimulator:
    """Simulated lock boards on one Modbus TCP port (``port=0`` picks a free one); use ``async with``."""

    compartments: int = 16
    host: str = "127.0.0.1"
    port: int = 0
    device_ids: tuple[int, ...] = (1,)
    behaviour: DoorBehaviour = DoorBehaviour.POP
    pop_delay_s: float = 0.2
    inputs_inverted: bool = False
    rtu_framing: bool = False
    faults: Faults = field(default_factory=Faults)
    boards: dict[int, SimulatedBoard] = field(init=False)
    _server: _SimulatorServer | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.boards = {d: SimulatedBoard(self.compartments, self.behaviour, self.pop_delay_s, self.inputs_inverted)
                       for d in self.device_ids}

    @property
    def board(self) -> SimulatedBoard:
        """The first board (the only one in the default map)."""
        return self.boards[self.device_ids[0]]

    @property
    def received(self) -> list[ReceivedRequest]:
        """Every request that reached the server, in order."""
        return self._server.received if self._server else []

    async def start(self) -> None:
        """Listen; afterwards ``port`` holds the bound port."""
        devices = {d: _BoardContext(b) for d, b in self.boards.items()}
        framer = FramerType.RTU if self.rtu_framing else FramerType.SOCKET
        context = ModbusServerContext(devices=devices, single=False)  # type: ignore[no-untyped-call]
        server = _SimulatorServer(context, (self.host, self.port), framer, self.faults)
        await server.serve_forever(background=True)
        self.port = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._server = server

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    def drop_all_connections(self) -> None:
        """Close every client connection now (the server keeps listening)."""
        if self._server is not None:
            for connection in list(self._server.active_connections.values()):
                connection.close()

    async def serve_forever(self) -> None:
        """Run until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> LockBoardSimulator:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
