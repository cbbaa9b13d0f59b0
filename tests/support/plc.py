"""A lock-board simulator on a background thread, for code that runs its own event loop (the CLI, a child process)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from plc.simulator import LockBoardSimulator

T = TypeVar("T")


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
