"""The HTTP API's server (uvicorn) as the daemon runs it: bounded at shutdown, and saying when shutdown starts.

uvicorn takes SIGINT/SIGTERM while it serves and hands them to the daemon's own handlers only once it has
stopped, after waiting for requests in flight; a deposit waiting on the camera would hold that wait for up to
its whole enrolment. So the server tells the daemon at the signal itself (``on_exit``: end the enrolment now,
the deposit answers), and waits at most ``grace_s`` for requests before cancelling them.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn


class ApiServer(uvicorn.Server):
    """A uvicorn server that calls ``on_exit`` as soon as it is asked to stop."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop serving (uvicorn's own handling), after telling the daemon."""
        self.on_exit()
        super().handle_exit(sig, frame)


def api_server(app: Any, host: str, port: int, grace_s: float, on_exit: Callable[[], None]) -> ApiServer:
    """The API's server on ``host:port``; requests still running ``grace_s`` after a stop are cancelled."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        # The app reads X-Forwarded-For itself, from [api] trusted_proxies only (uvicorn trusts loopback).
        proxy_headers=False,
        timeout_graceful_shutdown=int(grace_s),
    )
    return ApiServer(config, on_exit)
