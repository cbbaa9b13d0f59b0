"""Operator routes: clearing alarms and taking compartments out of service, behind a bearer token.

Only the token's SHA-256 is configured (``api.operator_token_sha256``); without it the routes answer 503.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field

from controller.app.http.context import ApiContext
from controller.service import audit


class OperatorAction(BaseModel):
    """Who does it and why."""

    operator_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=500)


class ClearAlarmRequest(OperatorAction):
    """Clearing an alarm; ``release`` when the operator emptied the compartment."""

    release: bool = False


def operator_router(ctx: ApiContext) -> APIRouter:
    """``/operator/...`` routes; refusals and unknown compartments go through the error boundary."""

    def operator(authorization: Annotated[str | None, Header()] = None) -> None:
        if not ctx.operator_token_sha256:
            raise HTTPException(503, "operator actions are disabled: no api.operator_token_sha256 configured")
        token = (authorization or "").removeprefix("Bearer ").strip()
        digest = hashlib.sha256(token.encode()).hexdigest()
        if not token or not hmac.compare_digest(digest, ctx.operator_token_sha256):
            raise HTTPException(401, "a valid operator token is required", headers={"WWW-Authenticate": "Bearer"})

    router = APIRouter(prefix="/operator", dependencies=[Depends(operator)])

    @router.post("/alarms/{compartment_id}/clear")
    async def clear_alarm(compartment_id: str, body: ClearAlarmRequest) -> dict[str, Any]:
        await ctx.bank.clear_alarm(compartment_id, body.operator_id, body.note, body.release)
        return audit.compartment_summary(ctx.bank.service.get(compartment_id))

    @router.post("/compartments/{compartment_id}/out-of-service")
    async def out_of_service(compartment_id: str, body: OperatorAction) -> dict[str, Any]:
        await ctx.bank.take_out_of_service(compartment_id, body.operator_id, body.note)
        return audit.compartment_summary(ctx.bank.service.get(compartment_id))

    @router.post("/compartments/{compartment_id}/unlock")
    async def maintenance_unlock(compartment_id: str, body: OperatorAction) -> dict[str, Any]:
        await ctx.bank.maintenance_unlock(compartment_id, body.operator_id, body.note)
        return audit.compartment_summary(ctx.bank.service.get(compartment_id))

    return router
