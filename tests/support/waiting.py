"""Waiting for something that happens in another thread or process: one loop, one way to fail."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    message: str | Callable[[], str] = "condition not reached in time",
    interval: float = 0.1,
) -> T:
    """Call ``predicate`` until it returns something true and return that; AssertionError(message) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval)
    return result


async def wait_until_async(
    predicate: Callable[[], T], timeout: float, message: str = "condition not reached in time", interval: float = 0.01
) -> T:
    """``wait_until`` for a coroutine: the event loop runs on while it waits."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(message)
        await asyncio.sleep(interval)
    return result


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Callable[[], str], seconds: float) -> None:
    """Until ``lockers run`` answers ``/healthz``; its log in the error if it exits or never does (then killed)."""

    def serving() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"lockers run exited early:\n{log()}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(serving, seconds, lambda: f"lockers run did not come up:\n{log()}", interval=0.3)
    except AssertionError:
        process.kill()  # a no-op on one that exited by itself
        raise
