"""Kiosk PIN routes: retrieval and erasure by the deposit's one-time PIN, and erasure by an operator.

``POST /retrieve/pin`` opens the compartment the PIN belongs to, ``POST /erasure/pin`` erases its
owner's face template (the item stays), ``/operator/compartments/{id}/erase-face`` does so on an
owner's request made to an operator.

A wrong PIN is always ``403 PIN not accepted``; a kiosk cooling down after wrong PINs is ``429`` with
``Retry-After``; a site that opens by face only answers ``403`` and checks nothing; the right PIN of a
compartment waiting for an operator (an overstay, a lockout) is ``409``. A wrong PIN counts against the
caller's credential (``Access.pin_key``: the kiosk's token or cookie, an operator's name), and against the
caller's address only when it brings none (``--simulate``), never against a forwarded header a client wrote.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from prometheus_client import Counter
from pydantic import BaseModel, Field

from controller.app.http.context import ApiContext
from controller.app.http.operators import Principal
from controller.service import pins as pin_service


class PinBody(BaseModel):
    """A PIN typed at the kiosk (its format is checked by the desk, which names no digit)."""

    pin: str = Field(max_length=64)


def pin_router(ctx: ApiContext, desk: pin_service.PinDesk) -> APIRouter:
    """The PIN routes over one bank's PIN desk."""
    access = ctx.web.access
    router = APIRouter()

    counted = ctx.metrics.pin_entries  # wrong PINs show on /metrics long before any alarm

    @router.post("/retrieve/pin", dependencies=[Depends(access.depositor)])
    async def retrieve_by_pin(body: PinBody, request: Request) -> dict[str, Any]:
        with _pin_errors(counted):
            entry = await desk.enter(body.pin, access.pin_key(request))
        return {
            "compartment_id": entry.compartment_id,
            "correlation_id": entry.correlation_id,
            "unlocked": entry.unlocked,  # true only once the lock board acknowledged the pulse
            "pulse": entry.pulse or None,
            "state": ctx.views.state(entry.compartment_id),
        }

    @router.post("/erasure/pin", dependencies=[Depends(access.depositor)])
    async def erase_by_pin(body: PinBody, request: Request) -> dict[str, Any]:
        with _pin_errors(counted):
            cid = await desk.erase(body.pin, access.pin_key(request))
        return {"compartment_id": cid, "face_erased": True}

    @router.post("/operator/compartments/{compartment_id}/erase-face")
    async def erase_by_operator(compartment_id: str, who: Principal = Depends(access.actor)) -> dict[str, Any]:
        await ctx.bank.erase_face(compartment_id, who.name)
        return ctx.views.compartment(compartment_id)

    return router


@contextmanager
def _pin_errors(counted: Counter) -> Iterator[None]:
    """Map the desk's refusals to their statuses (the rest go through the error boundary); count each answer."""
    try:
        yield
    except pin_service.PinCoolingDown as exc:
        counted.labels("cooling_down").inc()
        raise HTTPException(429, str(exc), headers={"Retry-After": str(math.ceil(exc.retry_after_s))}) from None
    except pin_service.PinRefused as exc:
        counted.labels("refused").inc()
        raise HTTPException(403, str(exc)) from None
    except pin_service.PinNotOffered as exc:
        counted.labels("not_offered").inc()
        raise HTTPException(403, str(exc)) from None
    except pin_service.PinNeedsOperator as exc:
        counted.labels("needs_operator").inc()
        raise HTTPException(409, str(exc)) from None
    except pin_service.PinFormatError:
        counted.labels("malformed").inc()
        raise
    counted.labels("accepted").inc()
