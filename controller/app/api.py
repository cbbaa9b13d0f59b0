"""The HTTP API (FastAPI): compartments, deposits, live events (SSE), operator actions, health, metrics.

Access (``controller.app.access``): reading the log, the grid or the metrics needs an operator or
auditor (session cookie from ``/operator`` or ``Authorization: Bearer <token>``); acting needs an
operator, who is recorded as the one acting; deposits need the kiosk or an operator outside simulate
mode. Simulate mode adds ``/simulate/...`` inputs for frames and doors. The kiosk page, the console
and their endpoints come from ``controller.app.web``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from controller.app.metrics import Metrics
from controller.app.operators import Principal
from controller.app.web import WebOptions
from controller.app.web.console import console_router, operator_call
from controller.app.web.documents import stored_document
from controller.app.web.guard import GuardMiddleware
from controller.app.web.pages import pages_router
from controller.domain.errors import LockerError
from controller.ports import EventStore, StoredEvent
from controller.service import audit
from controller.service.bank import BankFull, DepositReceipt, LockerBank

SSE_QUEUE_SIZE = 1000


class EventBroadcaster:
    """Fans committed events out to every live ``/events`` client."""

    def __init__(self) -> None:
        self.clients: set[asyncio.Queue[StoredEvent | None]] = set()

    def on_committed(self, stored: Sequence[StoredEvent]) -> None:
        """Hand new events to every client; a client too slow to keep up is disconnected."""
        for queue in list(self.clients):
            try:
                for record in stored:
                    queue.put_nowait(record)
            except asyncio.QueueFull:
                # Drop what it has not read and tell it to reconnect with ?after=<last id>.
                self.clients.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)


@dataclass
class ApiContext:
    """What the API reads and drives."""

    bank: LockerBank
    store: EventStore
    metrics: Metrics
    broadcaster: EventBroadcaster
    deposit: Callable[[], Awaitable[DepositReceipt]]
    web: WebOptions
    health: Callable[[], dict[str, Any]]
    simulate_frame: Callable[[bytes], None] | None = None
    simulate_door: Callable[[int, str], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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


class DoorAction(BaseModel):
    """A simulated person at a door."""

    action: str = Field(pattern="^(open|close|force|jam|unjam)$")


def sse_message(record: StoredEvent) -> str:
    """One server-sent event: id = global position, event = type, data = the event as JSON."""
    data = json.dumps(stored_document(record), default=str)
    return f"id: {record.position}\nevent: {type(record.event).__name__}\ndata: {data}\n\n"


def create_app(ctx: ApiContext) -> FastAPI:
    """The FastAPI application over one running bank."""
    # The stock /docs pages load their scripts from a CDN: off; api.docs serves an offline page instead.
    app = FastAPI(
        title="LOCKERS",
        version="0.1.0",
        description="Face-recognition locker bank controller.",
        docs_url=None,
        redoc_url=None,
    )
    access = ctx.web.access
    app.add_middleware(GuardMiddleware, max_body_bytes=ctx.web.max_body_bytes)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return ctx.health()

    @app.get("/compartments", dependencies=[Depends(access.reader)])
    def compartments() -> dict[str, Any]:
        live = ctx.bank.service.compartments.values()
        ordered = sorted(live, key=lambda k: audit.sort_key(k.compartment_id))
        return {"compartments": [audit.compartment_summary(k) for k in ordered]}

    @app.post("/deposit", status_code=201, dependencies=[Depends(access.depositor)])
    async def deposit() -> dict[str, str]:
        try:
            receipt = await ctx.deposit()
        except BankFull as exc:
            raise HTTPException(409, str(exc)) from None
        except LockerError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"compartment_id": receipt.compartment_id, "correlation_id": receipt.correlation_id}

    @app.get("/events", dependencies=[Depends(access.reader)])
    async def events(request: Request, after: int = 0) -> StreamingResponse:
        return StreamingResponse(_stream(request, after), media_type="text/event-stream")

    async def _stream(request: Request, after: int) -> AsyncIterator[str]:
        queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue(SSE_QUEUE_SIZE)
        ctx.broadcaster.clients.add(queue)
        try:
            last = after
            for record in ctx.store.read_all(after=after):
                last = record.position
                yield sse_message(record)
            while not await request.is_disconnected():
                try:
                    live = await asyncio.wait_for(queue.get(), timeout=15.0)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if live is None:
                    return
                if live.position > last:
                    last = live.position
                    yield sse_message(live)
        finally:
            ctx.broadcaster.clients.discard(queue)

    @app.post("/operator/alarms/{compartment_id}/clear")
    async def clear_alarm(
        compartment_id: str, body: ClearAlarmRequest, who: Principal = Depends(access.actor)
    ) -> dict[str, Any]:
        note = body.recorded_note(who)
        await operator_call(lambda: ctx.bank.clear_alarm(compartment_id, who.name, note, body.release))
        return audit.compartment_summary(ctx.bank.service.get(compartment_id))

    @app.post("/operator/compartments/{compartment_id}/out-of-service")
    async def out_of_service(
        compartment_id: str, body: OperatorAction, who: Principal = Depends(access.actor)
    ) -> dict[str, Any]:
        note = body.recorded_note(who)
        await operator_call(lambda: ctx.bank.take_out_of_service(compartment_id, who.name, note))
        return audit.compartment_summary(ctx.bank.service.get(compartment_id))

    @app.get("/metrics", dependencies=[Depends(access.metrics_reader)])
    def metrics() -> Response:
        return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4")

    if ctx.simulate_frame is not None:
        push = ctx.simulate_frame
        decoding = asyncio.Semaphore(1)  # one frame decoded at a time, in a thread: the loop stays free

        @app.post("/simulate/frames", status_code=202)
        async def simulate_frame(request: Request) -> dict[str, str]:
            try:
                body = await request.body()
                async with decoding:
                    await asyncio.to_thread(push, body)
            except LockerError as exc:
                raise HTTPException(422, str(exc)) from None
            return {"status": "queued"}

    if ctx.simulate_door is not None:
        door = ctx.simulate_door

        @app.post("/simulate/doors/{compartment}")
        def simulate_door(compartment: int, body: DoorAction) -> dict[str, str]:
            try:
                door(compartment, body.action)
            except LockerError as exc:
                raise HTTPException(404, str(exc)) from None
            return {"status": "done"}

    app.include_router(console_router(access, ctx.bank, ctx.store))
    app.include_router(pages_router(access, ctx.web.feed, ctx.web.kiosk, ctx.web.docs))
    return app
