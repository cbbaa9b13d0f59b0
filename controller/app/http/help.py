"""Help routes: the kiosk's help button (``POST /kiosk/help``), its state, and the operator's answer.

The kiosk asks with its credential (as it deposits), and polls its request's state; readers list the
open requests; only an operator answers, recorded under the caller's own name (``HelpAnswered``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from controller.app.http.access import Access
from controller.app.http.operators import Principal
from controller.domain.help import MAX_SCREEN_LENGTH, REQUESTED, HelpRequest
from controller.service.help import HelpDesks


class HelpCall(BaseModel):
    """Which kiosk screen the help button was pressed on."""

    screen: str = Field(default="", max_length=MAX_SCREEN_LENGTH, pattern=r"^[a-z0-9_-]*$")


def help_router(access: Access, desks: HelpDesks) -> APIRouter:
    """``POST /kiosk/help``, ``GET /kiosk/help/{id}``, ``GET /operator/help``, ``POST /operator/help/{id}/answer``."""
    router = APIRouter()

    @router.post("/kiosk/help", status_code=202)
    async def ask(body: HelpCall, who: Principal | None = Depends(access.depositor)) -> dict[str, str]:
        # In simulate mode anyone plays the kiosk: the request is the kiosk's all the same.
        request = await desks.request(who.name if who else "kiosk", body.screen)
        return _state(request)

    @router.get("/kiosk/help/{help_id}", dependencies=[Depends(access.kiosk_reader)])
    def state(help_id: str) -> dict[str, str]:
        return _state(_known(desks, help_id))

    @router.get("/operator/help", dependencies=[Depends(access.reader)])
    def open_requests() -> dict[str, Any]:
        return {"requests": [r.document() for r in desks.open_requests()]}

    @router.post("/operator/help/{help_id}/answer")
    async def answer(help_id: str, who: Principal = Depends(access.actor)) -> dict[str, str]:
        request = _known(desks, help_id)
        if request.state != REQUESTED:
            raise HTTPException(409, f"help request {help_id} was already answered by {request.answered_by}")
        return (await desks.answer(help_id, who.name)).document()

    return router


def _known(desks: HelpDesks, help_id: str) -> HelpRequest:
    request = desks.get(help_id)
    if request is None:
        raise HTTPException(404, f"no help request {help_id!r}")
    return request


def _state(request: HelpRequest) -> dict[str, str]:
    return {"help_id": request.help_id, "state": request.state}
