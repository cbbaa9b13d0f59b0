"""The HTTP API (FastAPI), one router per audience, behind one error boundary (``errors``).

``bank``: health, compartments, deposits, live events (SSE), metrics; ``operator``: alarm clearing and
out-of-service behind a bearer token; ``pins``: retrieval and erasure by one-time PIN; ``help``: the
kiosk's help button and the operator's answer; ``simulate``: frame uploads and simulated doors (simulate mode).
"""

from __future__ import annotations

from fastapi import FastAPI

from controller.app.http.bank import bank_router
from controller.app.http.context import ApiContext, EventBroadcaster, sse_message
from controller.app.http.errors import install_error_boundary
from controller.app.http.help import help_router
from controller.app.http.operator import operator_router
from controller.app.http.pins import pin_router
from controller.app.http.simulate import doors_router, frames_router
from controller.app.http.web.console import console_router
from controller.app.http.web.guard import GuardMiddleware
from controller.app.http.web.pages import pages_router

__all__ = ["ApiContext", "EventBroadcaster", "create_app", "sse_message"]


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
    app.add_middleware(GuardMiddleware, max_body_bytes=ctx.web.max_body_bytes)
    install_error_boundary(app)
    app.include_router(bank_router(ctx))
    app.include_router(operator_router(ctx))
    if ctx.pins is not None:
        app.include_router(pin_router(ctx, ctx.pins))
    if ctx.help is not None:
        app.include_router(help_router(ctx.web.access, ctx.help))
    if ctx.simulate_frame is not None:
        app.include_router(frames_router(ctx.simulate_frame))
    if ctx.simulate_door is not None:
        app.include_router(doors_router(ctx.simulate_door))
    app.include_router(console_router(ctx.web.access, ctx.bank, ctx.views))
    app.include_router(pages_router(ctx.web.access, ctx.web.feed, ctx.web.kiosk, ctx.web.docs))
    return app
