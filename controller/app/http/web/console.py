"""The operator console's API: login and logout (session cookie + CSRF), timeline, export, back in service."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from controller.app.http.access import SESSION_COOKIE, Access, Session
from controller.app.http.operators import Principal
from controller.app.http.web.documents import event_document
from controller.service.bank import LockerBank
from controller.service.views import BankViews


class Login(BaseModel):
    """A login form."""

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Note(BaseModel):
    """Why the operator acts."""

    note: str = Field(default="", max_length=500)


def session_document(session: Session) -> dict[str, str]:
    """What the console page needs: who is logged in, their role, the CSRF token to echo."""
    return {"name": session.principal.name, "role": session.principal.role, "csrf": session.csrf}


def session_router(access: Access) -> APIRouter:
    """``/operator/login``, ``/logout`` and ``/session``: the console pages' sign-in (a bank's and the centre's)."""
    router = APIRouter(prefix="/operator")

    @router.post("/login")
    async def login(body: Login, request: Request, response: Response) -> dict[str, str]:
        client = access.client(request)
        session_id, session = await asyncio.to_thread(access.login, body.name, body.password, client)
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=int(access.settings.session_ttl_s),
            httponly=True,
            secure=access.settings.cookie_secure,
            samesite="strict",
        )
        return session_document(session)

    @router.post("/logout", dependencies=[Depends(access.reader)])
    def logout(request: Request, response: Response) -> dict[str, str]:
        access.logout(request.cookies.get(SESSION_COOKIE, ""))
        response.delete_cookie(SESSION_COOKIE)
        return {"status": "logged out"}

    @router.get("/session")
    def session(request: Request) -> dict[str, str]:
        current = access.session(request)
        if current is None:
            raise HTTPException(401, "not logged in")
        return session_document(current)

    return router


def console_router(access: Access, bank: LockerBank, views: BankViews) -> APIRouter:
    """Routes under ``/operator`` used by the console page (and by scripts with a token)."""
    router = session_router(access)  # under /operator too: sign-in first, then the bank's own routes

    @router.get("/compartments/{compartment_id}/timeline", dependencies=[Depends(access.reader)])
    def timeline(compartment_id: str) -> dict[str, Any]:
        if compartment_id not in views.compartment_ids():
            raise HTTPException(404, f"no compartment {compartment_id!r}")
        events = [event_document(event) for event in views.timeline(compartment_id)]
        return {"compartment_id": compartment_id, "events": events}

    @router.get("/export", dependencies=[Depends(access.reader)])
    def export() -> StreamingResponse:
        def rows() -> Iterator[str]:
            for record in views.raw_log():
                yield json.dumps(dataclasses.asdict(record), default=str) + "\n"

        disposition = {"Content-Disposition": 'attachment; filename="lockers-log.jsonl"'}
        return StreamingResponse(rows(), media_type="application/x-ndjson", headers=disposition)

    @router.post("/compartments/{compartment_id}/in-service")
    async def in_service(compartment_id: str, body: Note, who: Principal = Depends(access.actor)) -> dict[str, Any]:
        await bank.clear_alarm(compartment_id, who.name, body.note or "back in service")
        return views.compartment(compartment_id)

    return router
