"""Simulate mode's inputs from outside (HTTP): camera frames and a person at a door, ordered as in life.

A script drives these one request after another, so each answers only once the bank has taken it in:
a frame once recognition has analysed it, a door closed once the controller has seen it closed. A
person cannot close a door before it springs open, so ``close`` on a door that was just unlocked
first waits until the controller has seen it open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.app.stack import Stack, simulated_door

if TYPE_CHECKING:
    from recognition.runtime.worker import RecognitionWorker

FRAME_WAIT_S = 30.0
"""The longest a frame upload waits for its analysis (the first frames also warm the models up)."""

DOOR_WAIT_S = 10.0
"""The longest a door action waits for the controller to see the door as the person left it."""

POLL_S = 0.02


async def until(check: Callable[[], bool], timeout_s: float) -> bool:
    """Wait (asynchronously) until ``check`` holds; False when ``timeout_s`` passed first."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


@dataclass
class SimulatedInputs:
    """The handlers behind ``/simulate/frames`` and ``/simulate/doors/{compartment}``."""

    stack: Stack
    worker: RecognitionWorker
    push: Callable[[bytes], int] | None
    decoding: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def frame(self, data: bytes) -> None:
        """Queue one uploaded image and return once the recognition worker has analysed it."""
        assert self.push is not None, "this bank has a camera: frames are not uploaded"
        async with self.decoding:  # one frame decoded at a time, in a thread: the event loop stays free
            index = await asyncio.to_thread(self.push, data)
        worker = self.worker
        await until(lambda: worker.processed_index >= index or worker.error is not None, FRAME_WAIT_S)

    async def door(self, compartment: int, action: str) -> None:
        """Act on a simulated door; ``close`` is ordered after the door's opening, and seen before returning."""
        simulator = self.stack.simulator
        assert simulator is not None, "doors are simulated only in simulate mode"
        if action != "close":
            simulated_door(simulator, compartment, action)
            return
        if not seen_open(self.stack, compartment):  # an unknown compartment is refused here
            await until(lambda: seen_open(self.stack, compartment), DOOR_WAIT_S)
        simulated_door(simulator, compartment, action)
        await until(lambda: not seen_open(self.stack, compartment), DOOR_WAIT_S)


def seen_open(stack: Stack, compartment: int) -> bool:
    """Whether the controller's folded state has this compartment's door open."""
    return stack.views.door_open(str(compartment))
