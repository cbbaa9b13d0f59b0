"""Operator routes: clearing alarms and taking compartments out of service, by an operator (``access``).

The operator recorded in the log is the caller (a session or a per-operator token), never a name from
the body; the deprecated shared token (``api.operator_token_sha256``) is recorded as ``shared-token``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from controller.app.http.context import ApiContext
from controller.app.http.operators import Principal


class OperatorAction(BaseModel):
    """Why the operator acts; ``operator_id`` is deprecated and never recorded as the actor."""

    operator_id: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=500)

    def recorded_note(self, who: Principal) -> str:
        """The note; a name claimed beside the shared token is kept in it as an unverified claim."""
        if who.via == "shared-token" and self.operator_id:
            return f"{self.note} [operator_id claimed with the shared token: {self.operator_id}]".strip()
        return self.note


class ClearAlarmRequest(OperatorAction):
    """Clearing an alarm; ``release`` when the operator emptied the compartment."""

    release: bool = False


def operator_router(ctx: ApiContext) -> APIRouter:
    """``/operator/...`` routes; refusals and unknown compartments go through the error boundary."""
    access = ctx.web.access
    router = APIRouter(prefix="/operator")

    @router.post("/alarms/{compartment_id}/clear")
    async def clear_alarm(
        compartment_id: str, body: ClearAlarmRequest, who: Principal = Depends(access.actor)
    ) -> dict[str, Any]:
        await ctx.bank.clear_alarm(compartment_id, who.name, body.recorded_note(who), body.release)
        return ctx.views.compartment(compartment_id)

    @router.post("/compartments/{compartment_id}/out-of-service")
    async def out_of_service(
        compartment_id: str, body: OperatorAction, who: Principal = Depends(access.actor)
    ) -> dict[str, Any]:
        await ctx.bank.take_out_of_service(compartment_id, who.name, body.recorded_note(who))
        return ctx.views.compartment(compartment_id)

    @router.post("/compartments/{compartment_id}/unlock")
    async def maintenance_unlock(
        compartment_id: str, body: OperatorAction, who: Principal = Depends(access.actor)
    ) -> dict[str, Any]:
        await ctx.bank.maintenance_unlock(compartment_id, who.name, body.recorded_note(who))
        return ctx.views.compartment(compartment_id)

    return router
