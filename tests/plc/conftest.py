"""Helpers for the PLC tests: every test runs a real simulator on a free loopback port."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from plc.driver import ModbusLockDriver
from plc.registers import PlcConfig, default_plc_config
from plc.simulator import LockBoardSimulator

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one async scenario (no pytest-asyncio needed)."""
    return asyncio.run(coro)


def fast_config(port: int, compartments: int = 8, **changes: Any) -> PlcConfig:
    """The default map with short timeouts, so failure tests stay quick."""
    config = default_plc_config(compartments, "127.0.0.1", port, timeout_s=0.2)
    return dataclasses.replace(config, reconnect_delay_s=0.05, reconnect_delay_max_s=0.2, **changes)


async def wait_door(driver: Any, compartment: int, is_open: bool, timeout: float = 2.0) -> None:
    """Poll ``read_doors`` until the door reaches the state, or fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await driver.read_doors())[compartment] != is_open:
        if loop.time() > deadline:
            raise AssertionError(f"door {compartment} did not become {'open' if is_open else 'closed'}")
        await asyncio.sleep(0.02)


class ThreadedSimulator:
    """A simulator on its own event loop in a thread, for code that runs ``asyncio.run`` itself (the CLI)."""

    def __init__(self, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.sim = LockBoardSimulator(**options)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> LockBoardSimulator:
        self._thread.start()
        self.call(self.sim.start())
        return self.sim

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the simulator's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.call(self.sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


@pytest.fixture
def threaded_sim() -> Iterator[ThreadedSimulator]:
    """An 8-compartment simulator served from a background thread."""
    harness = ThreadedSimulator(compartments=8)
    with harness:
        yield harness


@asynccontextmanager
async def rig(read_retries: int = 2, **sim_options: Any) -> AsyncIterator[tuple[LockBoardSimulator, ModbusLockDriver]]:
    """A simulator (default 8 compartments) and a connected-on-demand driver with the fast config."""
    sim_options.setdefault("compartments", 8)
    async with LockBoardSimulator(**sim_options) as sim:
        driver = ModbusLockDriver(fast_config(sim.port, read_retries=read_retries))
        try:
            yield sim, driver
        finally:
            driver.close()
