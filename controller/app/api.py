"""The HTTP API, kept importable under its former name: the routers live in ``controller.app.http``."""

from __future__ import annotations

from controller.app.http import ApiContext, EventBroadcaster, create_app, sse_message

__all__ = ["ApiContext", "EventBroadcaster", "create_app", "sse_message"]
