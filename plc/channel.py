"""One Modbus connection (TCP or RTU): reconnection with backoff, and the one place pymodbus errors are mapped.

pymodbus fails in two ways: it raises ``ModbusException`` or it returns a reply whose ``isError()`` is
true. ``ModbusChannel._request`` turns both into ``plc.errors`` types. The pymodbus client is built with
``retries=0`` and no automatic reconnection: writes must never be repeated behind our back, and the
channel itself decides when to reconnect.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from plc.errors import PlcConnectionError, PlcDeviceError, PlcError, PlcTimeout
from plc.registers import RtuEndpoint, TcpEndpoint

Client = AsyncModbusTcpClient | AsyncModbusSerialClient
Call = Callable[[Client], Awaitable[ModbusPDU]]


def inter_frame_gap_s(endpoint: TcpEndpoint | RtuEndpoint) -> float:
    """Silence required between RTU frames: 3.5 characters, fixed at 1.75 ms above 19200 baud."""
    if isinstance(endpoint, TcpEndpoint):
        return 0.0
    return 0.00175 if endpoint.baudrate > 19200 else 3.5 * 11 / endpoint.baudrate


class ModbusChannel:
    """A lazily opened Modbus client that reconnects with exponential backoff."""

    def __init__(self, endpoint: TcpEndpoint | RtuEndpoint, *, timeout_s: float, reconnect_delay_s: float,
                 reconnect_delay_max_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint
        self._timeout_s = timeout_s
        self._delay_min = reconnect_delay_s
        self._delay_max = reconnect_delay_max_s
        self._delay = reconnect_delay_s
        self._next_attempt = 0.0
        self._clock = clock
        self._gap_s = inter_frame_gap_s(endpoint)
        self._quiet_since = 0.0
        self._client: Client | None = None

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._client is not None and self._client.connected

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        if self._client is not None:
            self._client.close()

    async def read_coils(self, address: int, count: int, device_id: int) -> list[bool]:
        """Read ``count`` coils."""
        reply = await self._request(f"read coils {address}..{address + count - 1} of device {device_id}",
                                    lambda c: c.read_coils(address, count=count, device_id=device_id))
        return [bool(b) for b in reply.bits[:count]]

    async def read_inputs(self, address: int, count: int, device_id: int) -> list[bool]:
        """Read ``count`` discrete inputs."""
        reply = await self._request(
            f"read inputs {address}..{address + count - 1} of device {device_id}",
            lambda c: c.read_discrete_inputs(address, count=count, device_id=device_id))
        return [bool(b) for b in reply.bits[:count]]

    async def write_coil(self, address: int, value: bool, device_id: int) -> None:
        """Write one coil."""
        await self._request(f"write coil {address}={int(value)} of device {device_id}",
                            lambda c: c.write_coil(address, value, device_id=device_id))

    async def write_coils(self, address: int, values: list[bool], device_id: int) -> None:
        """Write consecutive coils in one request."""
        await self._request(f"write coils {address}..{address + len(values) - 1} of device {device_id}",
                            lambda c: c.write_coils(address, values, device_id=device_id))

    async def write_register(self, address: int, value: int, device_id: int) -> None:
        """Write one holding register."""
        await self._request(f"write register {address}={value} of device {device_id}",
                            lambda c: c.write_register(address, value, device_id=device_id))

    async def _request(self, what: str, call: Call) -> Any:
        """The error-mapping boundary: every request goes through here."""
        client = await self._connected_client()
        await self._keep_inter_frame_gap()
        try:
            reply = await call(client)
        except ConnectionException as exc:
            raise PlcConnectionError(f"{self.endpoint}: {what}: not connected ({exc})") from exc
        except ModbusIOException as exc:
            _reraise_if_cancelled()
            self.close()  # a late reply must not be taken for the answer to the next request
            raise PlcTimeout(f"{self.endpoint}: {what}: no reply within {self._timeout_s:g} s") from exc
        except ModbusException as exc:
            self.close()
            raise PlcError(f"{self.endpoint}: {what}: {exc}") from exc
        finally:
            self._quiet_since = self._clock()
        if reply.isError():
            code = int(reply.exception_code)
            raise PlcDeviceError(f"{self.endpoint}: {what}: board replied with exception code {code}", code)
        return reply

    async def _keep_inter_frame_gap(self) -> None:
        wait = self._quiet_since + self._gap_s - self._clock()
        if self._gap_s and wait > 0:
            await asyncio.sleep(wait)

    async def _connected_client(self) -> Client:
        if self._client is not None and self._client.connected:
            return self._client
        wait = self._next_attempt - self._clock()
        if wait > 0:
            raise PlcConnectionError(f"{self.endpoint}: not connected (next reconnect attempt in {wait:.2f} s)")
        if self._client is None:
            self._client = self._make_client()
        if not await self._client.connect():
            self._next_attempt = self._clock() + self._delay
            self._delay = min(2 * self._delay, self._delay_max)
            raise PlcConnectionError(f"{self.endpoint}: cannot connect")
        self._delay = self._delay_min
        return self._client

    def _make_client(self) -> Client:
        common: dict[str, Any] = {"timeout": self._timeout_s, "retries": 0, "reconnect_delay": 0,
                                  "name": str(self.endpoint)}
        if isinstance(self.endpoint, TcpEndpoint):
            return AsyncModbusTcpClient(self.endpoint.host, port=self.endpoint.port, **common)
        ep = self.endpoint
        return AsyncModbusSerialClient(ep.port, framer=FramerType.RTU, baudrate=ep.baudrate, parity=ep.parity,
                                       stopbits=ep.stopbits, bytesize=ep.bytesize, **common)


def _reraise_if_cancelled() -> None:
    """Undo pymodbus turning a cancellation of the awaiting task into ModbusIOException."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
