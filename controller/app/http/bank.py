"""The bank's routes: health (anyone), compartments, deposits, live events and metrics (see ``access``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from controller.app.http.context import SSE_QUEUE_SIZE, ApiContext, sse_message
from controller.app.http.feedback import Feedback, sse_feedback
from controller.ports import StoredEvent

REPLAY_PAGE = 1000


MAX_POSITION = 2**63 - 1
"""The largest log position a database integer holds: a larger ``after`` is a bad request, not a server error."""


def bank_router(ctx: ApiContext) -> APIRouter:
    """Health, compartments, ``POST /deposit`` (with its one-time PIN), ``GET /events`` (SSE) and ``/metrics``."""
    router = APIRouter()
    access = ctx.web.access

    @router.get("/healthz")
    def healthz() -> dict[str, Any]:
        return ctx.health()

    @router.get("/compartments", dependencies=[Depends(access.reader)])
    def compartments() -> dict[str, Any]:
        return ctx.views.status()

    @router.post("/deposit", status_code=201, dependencies=[Depends(access.depositor)])
    async def deposit() -> dict[str, str | None]:
        receipt = await ctx.bank.enrol_and_deposit()
        # The one-time PIN is shown this once (null where the site opens by face only); only its hash is kept.
        pin = receipt.pin or None
        return {"compartment_id": receipt.compartment_id, "correlation_id": receipt.correlation_id, "pin": pin,
                "pulse": receipt.pulse or None}  # "sent" only once the lock board acknowledged the unlock

    @router.get("/events", dependencies=[Depends(access.reader)])
    async def events(
        request: Request,
        after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
        replay: bool = True,
        last_event_id: Annotated[int | None, Header(ge=0, le=MAX_POSITION)] = None,
    ) -> StreamingResponse:
        # A reconnecting EventSource sends Last-Event-ID: it resumes there, whatever its URL asked for first.
        start = max(after, last_event_id) if last_event_id is not None else (after if replay else None)
        return StreamingResponse(_stream(ctx, request, start), media_type="text/event-stream")

    @router.get("/metrics", dependencies=[Depends(access.metrics_reader)])
    def metrics() -> Response:
        return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4")

    return router


async def _stream(ctx: ApiContext, request: Request, after: int | None) -> AsyncIterator[str]:
    """The log from ``after`` on (None: only what is committed from now), then live events and feedback."""
    queue: asyncio.Queue[StoredEvent | Feedback | None] = asyncio.Queue(SSE_QUEUE_SIZE)
    ctx.broadcaster.clients.add(queue)
    try:
        last = 0
        if after is not None:
            last = after
            async for record in _replay(ctx, after):
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


async def _replay(ctx: ApiContext, after: int) -> AsyncIterator[StoredEvent]:
    """The log after ``after``, read a page at a time off the event loop (a long log must not stall the API)."""
    def read_page(start: int) -> list[StoredEvent]:
        return ctx.views.events(after=start, limit=REPLAY_PAGE)

    while True:
        page = await asyncio.to_thread(read_page, after)
        for record in page:
            yield record
        if len(page) < REPLAY_PAGE:
            return
        after = page[-1].position
