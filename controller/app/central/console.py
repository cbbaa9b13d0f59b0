"""The fleet console at the centre: its page (``/``, ``/fleet``, ``/operator``), assets, sign-in and a bank's timeline.

The page is ``static/fleet.html`` with the bank console's shared scripts, catalogues and stylesheet, behind
the same guard (CSP without inline script). Sign-in is the bank console's (``/operator/login``, session
cookie and CSRF), against the centre's own accounts. ``GET /fleet/banks/{id}/events`` reads the bank's recent
events from the centre's copy, as documents of the bank's own timeline.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from controller.app.bootstrap import event_decoder
from controller.app.central.scope import BankScope
from controller.app.http.access import Access
from controller.app.http.web.console import session_router
from controller.app.http.web.documents import stored_document
from controller.app.http.web.pages import asset, page
from controller.ports import StoredEvent
from fleet.errors import UnknownBank
from fleet.store import CentralStore
from fleet.timeline import recent_rows

MAX_EVENTS = 500


def fleet_console_router(store: CentralStore, access: Access, scope: BankScope) -> APIRouter:
    """The page, its assets, the sign-in routes and ``GET /fleet/banks/{id}/events`` (readers of that bank)."""
    router = APIRouter()
    decode = event_decoder()

    @router.get("/", include_in_schema=False)
    @router.get("/fleet", include_in_schema=False)
    @router.get("/operator", include_in_schema=False)  # where `lockers operators first` sends an operator
    def fleet_page(request: Request) -> HTMLResponse:
        return page("fleet.html", request)

    router.add_api_route("/assets/{name:path}", asset, methods=["GET"], include_in_schema=False)
    router.include_router(session_router(access))

    @router.get("/fleet/banks/{bank_id}/events", dependencies=[Depends(access.reader), Depends(scope.guard)])
    async def events(
        bank_id: str, limit: int = Query(50, ge=1, le=MAX_EVENTS), compartment_id: str | None = None
    ) -> dict[str, Any]:
        try:
            await run_in_threadpool(store.bank, bank_id)
        except UnknownBank as error:
            raise HTTPException(404, str(error)) from None
        rows = await run_in_threadpool(recent_rows, store, bank_id, limit, compartment_id)
        stored = [StoredEvent(row.position, decode(row), row.event_hash, row.previous_hash) for row in rows]
        return {"bank_id": bank_id, "events": [stored_document(record) for record in stored]}

    return router
