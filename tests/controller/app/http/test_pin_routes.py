"""Who may type a PIN outside simulate mode, and how the desk's refusals read over HTTP."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from controller.app.http.access import Access, AccessSettings
from controller.app.http.operators import OperatorDirectory, token_digest
from controller.app.http.pins import pin_router
from controller.app.run.metrics import Metrics
from controller.service.pins import PinCoolingDown, PinNeedsOperator, PinRefused

KIOSK = {"Authorization": "Bearer kiosk-secret-token"}
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class ScriptedDesk:
    """Answers each PIN with the refusal it names (the real desk is tested in tests/controller/service)."""

    async def enter(self, pin: str, kiosk: str) -> Any:
        raise {"1": PinRefused("PIN not accepted"), "2": PinCoolingDown(12.2)}.get(
            pin[0], PinNeedsOperator("this deposit needs the operator: please contact them")
        )

    erase = enter


def client(tmp_path: Path, simulate: bool, metrics: Metrics | None = None) -> httpx.AsyncClient:
    access = Access(
        OperatorDirectory(tmp_path / "operators.db"),
        AccessSettings(kiosk_token_sha256=token_digest("kiosk-secret-token"), simulate=simulate),
    )
    app = FastAPI()
    ctx = SimpleNamespace(web=SimpleNamespace(access=access), metrics=metrics or Metrics())
    app.include_router(pin_router(ctx, ScriptedDesk()))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://kiosk.local")


@pytest.mark.parametrize("path", ["/retrieve/pin", "/erasure/pin"])
async def test_outside_simulate_mode_only_the_kiosk_types_a_pin(tmp_path: Path, path: str) -> None:
    async with client(tmp_path, simulate=False) as http:
        assert (await http.post(path, json={"pin": "11111111"})).status_code == 401
        assert (await http.post(path, json={"pin": "11111111"}, headers=KIOSK)).status_code == 403
    async with client(tmp_path, simulate=True) as http:
        assert (await http.post(path, json={"pin": "11111111"})).status_code == 403


async def test_refusals_read_the_same_and_cool_downs_say_when(tmp_path: Path) -> None:
    metrics = Metrics()
    async with client(tmp_path, simulate=True, metrics=metrics) as http:
        wrong = await http.post("/retrieve/pin", json={"pin": "11111111"})
        assert (wrong.status_code, wrong.json()) == (403, {"detail": "PIN not accepted"})
        cooling = await http.post("/retrieve/pin", json={"pin": "22222222"})
        assert (cooling.status_code, cooling.headers["Retry-After"]) == (429, "13")
        alarmed = await http.post("/retrieve/pin", json={"pin": "33333333"})
        assert alarmed.status_code == 409 and "operator" in alarmed.json()["detail"]
        assert (await http.post("/retrieve/pin", json={"pin": 12345678})).status_code == 422  # not a string
        assert (await http.post("/retrieve/pin", json={"pin": "1" * 65})).status_code == 422
    # An operator sees wrong PINs on /metrics long before any alarm.
    counted = {sample.labels["outcome"]: sample.value for metric in metrics.registry.collect()
               if metric.name == "lockers_pin_entries" for sample in metric.samples if sample.name.endswith("_total")}
    assert counted == {"refused": 1, "cooling_down": 1, "needs_operator": 1}
