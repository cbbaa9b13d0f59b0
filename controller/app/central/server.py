"""``lockers central run``: the centre's HTTP API (sync, heartbeats, fleet API) over its PostgreSQL store.

Routes: ``POST /sync`` and ``POST /heartbeat`` (signed by a bank: ``controller.app.central.envelope``);
``POST /commands/pull`` and ``/commands/outcome`` (signed by a bank too); ``GET /fleet/banks``,
``GET /fleet/banks/{id}/compartments``, ``GET /fleet/banks/{id}/timeline``, ``GET /fleet/alarms`` (open ones,
and those cleared last with who, when and the note), ``GET /fleet/alarms/{id}``,
``GET /fleet/banks/{id}/commands`` (operators and auditors, token or session as at a bank);
``POST /fleet/alarms/{id}/clear`` and ``POST /fleet/banks/{id}/commands`` (operators); ``GET /healthz``. An
operator limited to some banks sees and acts on those only (``controller.app.central.scope``); the fleet
console's page and routes are ``controller.app.central.console``.
A refused request answers 403 (``bad_signature``, unknown bank) or 409 (gap, fork, chain, hash, checkpoint,
replay) with ``{"reason", "detail"}``. A monitor raises an ``offline`` fleet alarm for a bank not heard from
within two of its heartbeat intervals.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from controller.app.central.commands import BankCommands, command_router
from controller.app.central.console import fleet_console_router
from controller.app.central.envelope import BANK_HEADER, SIGNATURE_HEADER
from controller.app.central.keys import centre_signer
from controller.app.central.scope import BankScope
from controller.app.central.sync import SyncDesk
from controller.app.central.views import FleetViews, fleet_alarm_document, is_online
from controller.app.config.loader import Config
from controller.app.http.access import Access
from controller.app.http.errors import install_error_boundary
from controller.app.http.operators import Principal
from controller.app.http.web import access_for
from controller.app.http.web.console import Note
from controller.app.http.web.guard import GuardMiddleware
from controller.domain.errors import ConfigError, LockerError
from fleet.commands import CommandQueue
from fleet.details import detail
from fleet.errors import SyncRefused, UnknownBank
from fleet.store import CentralStore

log = structlog.get_logger("lockers.central")
MONITOR_S = 2.0


def refusal(error: SyncRefused | UnknownBank) -> JSONResponse:
    """A refused signed request: 403 when it cannot be trusted, 409 when it disagrees with the copy."""
    what = error.what
    status = 403 if what.kind in {"bad_signature", "unknown_bank"} else 409
    if isinstance(error, SyncRefused):
        log.warning("request refused", reason=what.kind, detail=what.text)
    return JSONResponse({"reason": what.kind, "detail": what.text, "detail_code": what.code,
                         "detail_args": dict(what.args)}, status_code=status)


def sync_router(desk: SyncDesk, bank_commands: BankCommands) -> APIRouter:
    """``POST /sync``, ``/heartbeat``, ``/commands/pull`` and ``/commands/outcome``: a bank's signed requests."""
    router = APIRouter()

    async def signed(request: Request, handle: Any) -> Any:
        bank_id = request.headers.get(BANK_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        body = await request.body()
        try:
            return await run_in_threadpool(handle, bank_id, body, signature)
        except (SyncRefused, UnknownBank) as error:
            return refusal(error)

    @router.post("/sync", response_model=None)
    async def sync(request: Request) -> Any:
        result = await signed(request, desk.batch)
        if isinstance(result, JSONResponse):
            return result
        return {"acknowledged": result.acknowledged, "stored": result.stored, "duplicates": result.duplicates}

    @router.post("/heartbeat", response_model=None)
    async def heartbeat(request: Request) -> Any:
        result = await signed(request, desk.heartbeat)
        return result if isinstance(result, JSONResponse) else {"acknowledged": result}

    @router.post("/commands/pull", response_model=None)
    async def pull(request: Request) -> Any:
        return await signed(request, bank_commands.pull)

    @router.post("/commands/outcome", response_model=None)
    async def outcome(request: Request) -> Any:
        return await signed(request, bank_commands.outcome)

    return router


def fleet_router(views: FleetViews, access: Access, scope: BankScope) -> APIRouter:
    """``/fleet/...``: the fleet API for operators (readers see, operators act; each only on its banks)."""
    router = APIRouter(prefix="/fleet", dependencies=[Depends(scope.guard)])

    @router.get("/banks")
    def banks(who: Principal = Depends(access.reader)) -> dict[str, Any]:
        return {"banks": scope.only(who, views.banks()["banks"], key="id")}

    @router.get("/banks/{bank_id}/compartments")
    def compartments(bank_id: str, _who: Principal = Depends(access.reader)) -> dict[str, Any]:
        try:
            return views.compartments(bank_id)
        except UnknownBank as error:
            raise HTTPException(404, str(error)) from None

    @router.get("/banks/{bank_id}/timeline")
    def timeline(
        bank_id: str, after: int = Query(0, ge=0), limit: int = Query(1000, ge=1, le=10_000),
        _who: Principal = Depends(access.reader),
    ) -> dict[str, Any]:
        try:
            return views.timeline(bank_id, after, limit)
        except UnknownBank as error:
            raise HTTPException(404, str(error)) from None

    @router.get("/alarms")
    def alarms(who: Principal = Depends(access.reader)) -> dict[str, Any]:
        found = views.alarms()
        return {"alarms": scope.only(who, found["alarms"]), "cleared": scope.only(who, found["cleared"])}

    @router.get("/alarms/{alarm_id}")
    def alarm(alarm_id: int, _who: Principal = Depends(access.reader)) -> dict[str, Any]:
        found = views.store.alarm(alarm_id)
        if found is None:
            raise HTTPException(404, f"no fleet alarm {alarm_id}")
        return fleet_alarm_document(found)

    @router.post("/alarms/{alarm_id}/clear")
    def clear(alarm_id: int, body: Note | None = None, who: Principal = Depends(access.actor)) -> dict[str, Any]:
        note = body.note if body else ""
        if not views.store.clear_alarm(alarm_id, who.name, note):
            raise HTTPException(404, f"no open fleet alarm {alarm_id}")
        log.info("fleet alarm cleared", alarm=alarm_id, operator=who.name, note=note)
        return {"id": alarm_id, "cleared_by": who.name}

    return router


def create_central_app(store: CentralStore, config: Config) -> FastAPI:
    """The centre's FastAPI application (its command-signing key is made in its data directory on first use)."""
    app = FastAPI(title="LOCKERS centre", version="0.1.0", docs_url=None, redoc_url=None)
    app.add_middleware(GuardMiddleware, max_body_bytes=config.api.max_body_bytes)
    install_error_boundary(app)
    desk, queue = SyncDesk(store), CommandQueue(store)
    signer, public = centre_signer(config)
    log.info("commands are signed by the centre's key: banks pin it as [fleet] central_public_key", key=str(public))
    access = access_for(config)
    scope = BankScope(access, store)
    app.include_router(sync_router(desk, BankCommands(desk, queue)))
    app.include_router(fleet_router(FleetViews(store), access, scope))
    app.include_router(command_router(queue, signer, access), dependencies=[Depends(scope.guard)])
    app.include_router(fleet_console_router(store, access, scope))

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "banks": len(store.banks())}

    return app


def raise_offline_alarms(store: CentralStore, now: datetime | None = None) -> list[str]:
    """An ``offline`` fleet alarm for each bank heard from once and silent for two intervals since."""
    now = now or datetime.now(UTC)
    silent = [bank for bank in store.banks() if bank.last_seen and not is_online(bank, now)]
    for bank in silent:
        store.raise_alarm(bank.bank_id, "offline", detail("offline.silent", last_seen_at=str(bank.last_seen)))
    return [bank.bank_id for bank in silent]


async def monitor(store: CentralStore, desk: SyncDesk) -> None:
    """Every few seconds: offline banks become alarms; nonces too old to matter are dropped."""
    while True:
        await asyncio.sleep(MONITOR_S)
        try:
            await run_in_threadpool(raise_offline_alarms, store)
            await run_in_threadpool(desk.forget_old_nonces)
        except LockerError as exc:  # the database is away: the API answers 503 meanwhile; try again
            log.error("fleet monitor failed", error=str(exc))


def run_central(config: Config, host: str | None = None, port: int | None = None) -> None:
    """Serve the centre until SIGINT/SIGTERM."""
    import uvicorn

    section = config.site.central
    if section is None:
        raise ConfigError("no [central] section: a centre needs database_url (PostgreSQL), host, port, data_dir")
    store = CentralStore.open(section.database_url)
    app = create_central_app(store, config)
    server = uvicorn.Server(uvicorn.Config(app, host=host or section.host, port=port or section.port,
                                           log_config=None, access_log=False, lifespan="off"))

    async def serve() -> None:
        watcher = asyncio.create_task(monitor(store, SyncDesk(store)), name="fleet-monitor")
        log.info("centre running", url=f"http://{host or section.host}:{port or section.port}",
                 banks=len(store.banks()))
        try:
            await server.serve()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    finally:
        store.close()
