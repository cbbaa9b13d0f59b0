"""Helpers for the PLC tests: every test runs a real simulator on a free loopback port."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

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
