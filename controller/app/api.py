"""The HTTP API (FastAPI): compartments, deposits, live events (SSE), operator actions, health, metrics.

Operator actions need ``Authorization: Bearer <token>``; only the token's SHA-256 is configured
(``api.operator_token_sha256``). Simulate mode adds ``/simulate/...`` inputs for frames and doors.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from controller.app.feedback import Feedback, sse_feedback
from controller.app.metrics import Metrics
from controller.domain.errors import LockerError, TransitionRejected
from controller.ports import EventStore, StoredEvent
from controller.service import audit
from controller.service.bank import BankFull, DepositReceipt, LockerBank

SSE_QUEUE_SIZE = 1000


class EventBroadcaster:
    """Fans committed events, and attempt feedback, out to every live ``/events`` client."""

    def __init__(self) -> None:
        self.clients: set[asyncio.Queue[StoredEvent | Feedback | None]] = set()

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

    def on_feedback(self, feedback: Feedback) -> None:
        """Hand an attempt's feedback to every client that has room (feedback is never worth a disconnect)."""
        for queue in list(self.clients):
            if not queue.full():
                queue.put_nowait(feedback)


@dataclass
class ApiContext:
    """What the API reads and drives."""

    bank: LockerBank
    store: EventStore
    metrics: Metrics
    broadcaster: EventBroadcaster
    deposit: Callable[[], Awaitable[DepositReceipt]]
    operator_token_sha256: str
    health: Callable[[], dict[str, Any]]
    simulate_frame: Callable[[bytes], None] | None = None
    simulate_door: Callable[[int, str], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class OperatorAction(BaseModel):
    """Who does it and why."""

    operator_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=500)


class ClearAlarmRequest(OperatorAction):
    """Clearing an alarm; ``release`` when the operator emptied the compartment."""

    release: bool = False


class DoorAction(BaseModel):
    """A simulated person at a door."""

    action: str = Field(pattern="^(open|close|force|jam|unjam)$")


def sse_message(record: StoredEvent) -> str:
    """One server-sent event: id = global position, event = type, data = the event as JSON."""
    event = record.event
    data = {
        "position": record.position,
        "compartment_id": event.compartment_id,
        "version": event.version,
        "occurred_at": event.occurred_at.isoformat(),
        "correlation_id": event.correlation_id,
        "type": type(event).__name__,
        "payload": event.payload(),
    }
    return f"id: {record.position}\nevent: {type(event).__name__}\ndata: {json.dumps(data, default=str)}\n\n"


def create_app(ctx: ApiContext) -> FastAPI:
    """The FastAPI application over one running bank."""
    app = FastAPI(title="LOCKERS", version="0.1.0", description="Face-recognition locker bank controller.")

    def operator(authorization: Annotated[str | None, Header()] = None) -> None:
        if not ctx.operator_token_sha256:
            raise HTTPException(503, "operator actions are disabled: no api.operator_token_sha256 configured")
        token = (authorization or "").removeprefix("Bearer ").strip()
        digest = hashlib.sha256(token.encode()).hexdigest()
        if not token or not hmac.compare_digest(digest, ctx.operator_token_sha256):
            raise HTTPException(401, "a valid operator token is required", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return ctx.health()

    @app.get("/compartments")
    def compartments() -> dict[str, Any]:
        live = ctx.bank.service.compartments.values()
        ordered = sorted(live, key=lambda k: audit.sort_key(k.compartment_id))
        return {"compartments": [audit.compartment_summary(k) for k in ordered]}

    @app.post("/deposit", status_code=201)
    async def deposit() -> dict[str, str]:
        try:
            receipt = await ctx.deposit()
        except BankFull as exc:
            raise HTTPException(409, str(exc)) from None
        except LockerError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"compartment_id": receipt.compartment_id, "correlation_id": receipt.correlation_id}

    @app.get("/events")
    async def events(request: Request, after: int = 0) -> StreamingResponse:
        return StreamingResponse(_stream(request, after), media_type="text/event-stream")

    async def _stream(request: Request, after: int) -> AsyncIterator[str]:
        queue: asyncio.Queue[StoredEvent | Feedback | None] = asyncio.Queue(SSE_QUEUE_SIZE)
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
                if isinstance(live, Feedback):
                    yield sse_feedback(live)
                elif live.position > last:
                    last = live.position
                    yield sse_message(live)
        finally:
            ctx.broadcaster.clients.discard(queue)

    @app.post("/operator/alarms/{compartment_id}/clear", dependencies=[Depends(operator)])
    async def clear_alarm(compartment_id: str, body: ClearAlarmRequest) -> dict[str, Any]:
        await _operator_call(ctx.bank.clear_alarm(compartment_id, body.operator_id, body.note, body.release))
        return audit.compartment_summary(ctx.bank.service.get(compartment_id))

    @app.post("/operator/compartments/{compartment_id}/out-of-service", dependencies=[Depends(operator)])
    async def out_of_service(compartment_id: str, body: OperatorAction) -> dict[str, Any]:
        await _operator_call(ctx.bank.take_out_of_service(compartment_id, body.operator_id, body.note))
        return audit.compartment_summary(ctx.bank.service.get(compartment_id))

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4")

    if ctx.simulate_frame is not None:
        push = ctx.simulate_frame

        @app.post("/simulate/frames", status_code=202)
        async def simulate_frame(request: Request) -> dict[str, str]:
            try:
                push(await request.body())
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

    return app


async def _operator_call(call: Awaitable[None]) -> None:
    try:
        await call
    except TransitionRejected as exc:
        raise HTTPException(409, str(exc)) from None
    except LockerError as exc:
        raise HTTPException(404, str(exc)) from None
