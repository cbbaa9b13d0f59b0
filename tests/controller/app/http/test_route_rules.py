"""Every route the application serves, and who may call it: ONE rule table, checked against the app itself.

The app is built by the real factory (``create_app`` over ``web_options`` from a loaded configuration), once
as ``lockers run`` builds it and once as ``lockers run --simulate`` does. Its routes are read from
``app.routes``, never listed by hand: a route served without a rule here fails. Whether a caller is
admitted is decided by running the route's own dependencies with that caller's request (no handler runs,
so nothing is unlocked); a refusal is a 401 or 403 raised by one of them.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.requests import Request
from starlette.routing import Route

from controller.app.config.loader import load_config
from controller.app.http import ApiContext, EventBroadcaster, create_app
from controller.app.http.operators import OperatorDirectory, token_digest
from controller.app.http.web import web_options
from controller.app.http.web.feed import KioskFeed
from controller.app.run.metrics import Metrics

KIOSK_TOKEN = "kiosk-secret-token"
ANYONE = frozenset({"anonymous", "kiosk", "kiosk-cookie", "auditor", "operator"})
KIOSK = frozenset({"kiosk", "kiosk-cookie"})
# Who each rule admits: (outside simulate mode, in simulate mode).
ADMITS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "public": (ANYONE, ANYONE),  # no guard (a handler that checks for itself says so below)
    "reader": (frozenset({"auditor", "operator"}),) * 2,
    "operator": (frozenset({"operator"}),) * 2,
    "depositor": (KIOSK | {"operator"}, ANYONE),  # in simulate mode a newcomer plays the kiosk in a browser
    "kiosk-feed": (KIOSK | {"auditor", "operator"}, ANYONE),
}
RULES: dict[str, str] = {
    "GET /healthz": "public",
    "GET /openapi.json": "public",
    "GET /docs": "public",
    "GET /": "public",
    "GET /operator": "public",
    "GET /assets/{name:path}": "public",
    "GET /kiosk/pair": "public",  # checks the kiosk token it is given, and sets the kiosk cookie
    "POST /operator/login": "public",  # the password is the check (throttled per client)
    "GET /operator/session": "public",  # answers 401 itself without a session
    "POST /simulate/frames": "public",  # served in simulate mode only
    "POST /simulate/doors/{compartment}": "public",  # served in simulate mode only
    "GET /compartments": "reader",
    "GET /events": "reader",
    "GET /metrics": "reader",  # [api] metrics_public is off here
    "GET /operator/compartments/{compartment_id}/timeline": "reader",
    "GET /operator/export": "reader",
    "POST /operator/logout": "reader",
    "POST /operator/alarms/{compartment_id}/clear": "operator",
    "POST /operator/compartments/{compartment_id}/out-of-service": "operator",
    "POST /operator/compartments/{compartment_id}/in-service": "operator",
    "POST /operator/compartments/{compartment_id}/unlock": "operator",
    "POST /operator/compartments/{compartment_id}/erase-face": "operator",
    "POST /deposit": "depositor",
    "POST /retrieve/pin": "depositor",
    "POST /erasure/pin": "depositor",
    "GET /kiosk/setup": "kiosk-feed",
    "GET /kiosk/samples/{person}/{index}": "kiosk-feed",
    "GET /kiosk/feed": "kiosk-feed",
    "POST /kiosk/help": "depositor",
    "GET /kiosk/help/{help_id}": "kiosk-feed",
    "GET /operator/help": "reader",
    "POST /operator/help/{help_id}/answer": "operator",
}


class Unreachable:
    """The bank, its views and PIN desk: a guard that lets a refused caller through reaches them and fails."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a handler ran: {name} was reached")


async def _nothing(*_: object) -> None:
    raise AssertionError("a simulate handler ran")


def build_app(tmp_path: Path, simulate: bool) -> tuple[FastAPI, dict[str, dict[str, str]]]:
    """The real application over a configured data dir, and each caller's headers."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config_file = tmp_path / "lockers.toml"
    kiosk = token_digest(KIOSK_TOKEN)
    docs = "true" if simulate else "false"
    config_file.write_text(f'[bank]\ndata_dir = "{tmp_path}"\n[api]\nkiosk_token_sha256 = "{kiosk}"\ndocs = {docs}\n')
    config = load_config(config_file)
    directory = OperatorDirectory(config.data_dir / "operators.db")
    directory.add("alice", "alice-password-1", "operator")
    directory.add("carol", "carol-password-1", "auditor")
    unreachable: Any = Unreachable()
    ctx = ApiContext(bank=unreachable, views=unreachable, metrics=Metrics(), broadcaster=EventBroadcaster(),
                     web=web_options(config, simulate, KioskFeed()), health=lambda: {"status": "ok"},
                     simulate_frame=_nothing if simulate else None, simulate_door=_nothing if simulate else None,
                     pins=unreachable, help=unreachable)
    callers = {
        "anonymous": {},
        "kiosk": {"authorization": f"Bearer {KIOSK_TOKEN}"},
        "kiosk-cookie": {"cookie": f"lockers_kiosk={KIOSK_TOKEN}"},
        "auditor": {"authorization": f"Bearer {directory.issue_token('carol')}"},
        "operator": {"authorization": f"Bearer {directory.issue_token('alice')}"},
    }
    return create_app(ctx), callers


def served(app: FastAPI) -> Iterator[tuple[str, Dependant | None]]:
    """Every (``METHOD path``, its dependencies) the app answers, included routers flattened as FastAPI does."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute | Route):
            yield f"{type(route).__name__} {context.path}", None  # a mount or socket: no rule fits it yet
            continue
        # The effective route carries the dependencies of the routers it was included through, too.
        dependant = getattr(context._effective_route, "dependant", None) or getattr(route, "dependant", None)
        for method in sorted((context.methods or set()) - {"HEAD"}):
            yield f"{method} {context.path}", dependant


def guards(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency a route runs, depth first."""
    for sub in dependant.dependencies:
        yield from guards(sub)
        if sub.call is not None:
            yield sub.call


def admitted(key: str, dependant: Dependant | None, headers: dict[str, str]) -> bool:
    """True when none of the route's dependencies refuses this caller (401 or 403)."""
    if dependant is None:
        return True
    method, path = key.split(" ", 1)
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    request = Request({"type": "http", "method": method, "path": path, "headers": raw, "client": ("192.0.2.9", 1),
                       "query_string": b""})
    for call in guards(dependant):
        try:
            result = call(**_arguments(call, request))
            if inspect.isawaitable(result):
                asyncio.run(_awaited(result))
        except HTTPException as exc:
            if exc.status_code in (401, 403):
                return False
            raise
    return True


async def _awaited(result: Any) -> Any:
    return await result


def _arguments(call: Callable[..., Any], request: Request) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for name, parameter in inspect.signature(call).parameters.items():
        if parameter.annotation in (Request, "Request") or name == "request":
            arguments[name] = request
        elif parameter.default is inspect.Parameter.empty:
            raise AssertionError(f"cannot judge the dependency {call!r}: it needs {name!r}")
    return arguments


@pytest.fixture(scope="module", params=[False, True], ids=["real", "simulate"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    simulate: bool = request.param
    built, callers = build_app(tmp_path_factory.mktemp("simulate" if simulate else "real"), simulate)
    return built, callers, simulate


def test_every_served_route_has_a_rule_and_every_caller_gets_what_it_says(app: Any) -> None:
    built, callers, simulate = app
    wrong = []
    for key, dependant in served(built):
        assert key in RULES, f"{key} is served without a rule in RULES"
        expected = ADMITS[RULES[key]][simulate]
        for caller, headers in callers.items():
            if admitted(key, dependant, headers) != (caller in expected):
                wrong.append(f"{key}: {caller} {'admitted' if caller not in expected else 'refused'}")
    assert not wrong, "\n".join(wrong)


def test_every_rule_names_a_served_route(tmp_path: Path) -> None:
    keys = {key for simulate in (False, True) for key, _ in served(build_app(tmp_path / str(simulate), simulate)[0])}
    assert set(RULES) <= keys, f"rules for routes nobody serves: {sorted(set(RULES) - keys)}"


async def test_the_real_deposit_and_unlock_refuse_callers_without_a_credential(tmp_path: Path) -> None:
    built, callers = build_app(tmp_path, simulate=False)
    transport = httpx.ASGITransport(app=built, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://kiosk.local") as client:
        assert (await client.post("/deposit")).status_code == 401
        assert (await client.post("/deposit", headers=callers["auditor"])).status_code == 403
        unlock = "/operator/compartments/1/unlock"
        assert (await client.post(unlock, json={})).status_code == 401
        for kiosk in ("kiosk", "kiosk-cookie"):
            refused = await client.post(unlock, json={}, headers=callers[kiosk])
            assert refused.status_code == 403 and "kiosk" in refused.json()["detail"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


pytestmark = pytest.mark.anyio
