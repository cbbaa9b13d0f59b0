"""Simulate-mode inputs: camera frames uploaded over HTTP and a person at a simulated door."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field


class DoorAction(BaseModel):
    """A simulated person at a door."""

    action: str = Field(pattern="^(open|close|force|jam|unjam)$")


def frames_router(push: Callable[[bytes], Awaitable[None]]) -> APIRouter:
    """``POST /simulate/frames``: one image as the request body; answers once recognition has seen it.

    Answering after the frame is analysed (not when it is queued) lets a script's next step rely on it:
    no frame overtakes another or is dropped by the camera's newest-frame-wins buffer.
    """
    router = APIRouter()

    @router.post("/simulate/frames", status_code=202)
    async def simulate_frame(request: Request) -> dict[str, str]:
        await push(await request.body())
        return {"status": "queued"}

    return router


def doors_router(door: Callable[[int, str], Awaitable[None]]) -> APIRouter:
    """``POST /simulate/doors/{compartment}``: open, close, force, jam or unjam a simulated door.

    ``close`` acts as a person would: on a door about to spring open (just unlocked) it waits until the
    controller has seen it open, and it answers once the controller has seen it closed.
    """
    router = APIRouter()

    @router.post("/simulate/doors/{compartment}")
    async def simulate_door(compartment: int, body: DoorAction) -> dict[str, str]:
        await door(compartment, body.action)
        return {"status": "done"}

    return router
