"""Simulate-mode inputs: camera frames uploaded over HTTP and a person at a simulated door."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field


class DoorAction(BaseModel):
    """A simulated person at a door."""

    action: str = Field(pattern="^(open|close|force|jam|unjam)$")


def frames_router(push: Callable[[bytes], None]) -> APIRouter:
    """``POST /simulate/frames``: one image as the request body, queued for recognition."""
    router = APIRouter()

    @router.post("/simulate/frames", status_code=202)
    async def simulate_frame(request: Request) -> dict[str, str]:
        push(await request.body())
        return {"status": "queued"}

    return router


def doors_router(door: Callable[[int, str], None]) -> APIRouter:
    """``POST /simulate/doors/{compartment}``: open, close, force, jam or unjam a simulated door."""
    router = APIRouter()

    @router.post("/simulate/doors/{compartment}")
    async def simulate_door(compartment: int, body: DoorAction) -> dict[str, str]:
        door(compartment, body.action)
        return {"status": "done"}

    return router
