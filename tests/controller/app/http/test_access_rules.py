"""The access rules outside simulate mode (deposits from the kiosk only, metrics switch), on a real FastAPI app."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI

from controller.app.http.access import Access, AccessSettings
from controller.app.http.operators import OperatorDirectory, check_password, hash_password, token_digest
from controller.app.http.web.feed import KioskFeed
from controller.app.http.web.pages import KioskSettings, pages_router

KIOSK_TOKEN = "kiosk-secret-token"


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def app_for(tmp_path: Path, **settings: object) -> tuple[httpx.AsyncClient, Access]:
    directory = OperatorDirectory(tmp_path / "operators.db")
    directory.add("alice", "alice-password-1")
    access = Access(directory, AccessSettings(kiosk_token_sha256=token_digest(KIOSK_TOKEN), **settings))  # type: ignore[arg-type]
    app = FastAPI(docs_url=None, redoc_url=None)

    @app.post("/deposit", dependencies=[Depends(access.depositor)])
    def deposit() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", dependencies=[Depends(access.metrics_reader)])
    def metrics() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(pages_router(access, KioskFeed(), KioskSettings(), docs=True))
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="https://kiosk.local"), access


async def test_outside_simulate_mode_only_the_kiosk_or_an_operator_deposits(tmp_path: Path) -> None:
    client, access = app_for(tmp_path)
    assert (await client.post("/deposit")).status_code == 401
    assert (await client.post("/deposit", headers={"Authorization": f"Bearer {KIOSK_TOKEN}"})).status_code == 200
    token = access.directory.issue_token("alice")
    assert (await client.post("/deposit", headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_pairing_the_kiosk_browser_sets_its_cookie(tmp_path: Path) -> None:
    client, _ = app_for(tmp_path)
    assert (await client.get("/kiosk/setup")).status_code == 401
    assert (await client.get("/kiosk/feed")).status_code == 401
    assert (await client.get("/kiosk/pair", params={"token": "wrong"})).status_code == 401
    paired = await client.get("/kiosk/pair", params={"token": KIOSK_TOKEN}, follow_redirects=False)
    assert paired.status_code == 303 and "HttpOnly" in paired.headers["set-cookie"]
    assert (await client.post("/deposit")).status_code == 200  # the cookie is now the kiosk's credential
    assert (await client.get("/kiosk/setup")).json() == {"simulate": False, "samples": []}


async def test_metrics_are_private_unless_configured_public(tmp_path: Path) -> None:
    private, _ = app_for(tmp_path / "a")
    public, _ = app_for(tmp_path / "b", metrics_public=True)
    assert (await private.get("/metrics")).status_code == 401
    assert (await public.get("/metrics")).status_code == 200


async def test_sessions_expire(tmp_path: Path) -> None:
    client, access = app_for(tmp_path, session_ttl_s=0.05)
    session_id, _ = access.login("alice", "alice-password-1")
    client.cookies.set("lockers_session", session_id)
    assert access.sessions
    time.sleep(0.1)
    assert (await client.get("/metrics")).status_code == 401
    assert not access.sessions


async def test_the_offline_docs_page_when_enabled(tmp_path: Path) -> None:
    client, _ = app_for(tmp_path)
    assert '<ul id="paths"' in (await client.get("/docs")).text


def test_passwords_are_salted_scrypt_hashes() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$32768$8$1$") and first != second
    assert check_password("correct horse", first) and not check_password("correct horsf", first)
    assert not check_password("correct horse", "not-a-hash")


@pytest.mark.parametrize(
    ("name", "password", "role", "error"),
    [
        ("bad name", "long-enough-1", "operator", "no spaces"),
        ("bob", "short", "operator", "at least 10"),
        ("bob", "long-enough-1", "root", "role must be one of"),
        ("alice", "long-enough-1", "operator", "already exists"),
    ],
)
def test_bad_accounts_are_refused(tmp_path: Path, name: str, password: str, role: str, error: str) -> None:
    directory = OperatorDirectory(tmp_path / "operators.db")
    directory.add("alice", "alice-password-1")
    with pytest.raises(Exception, match=error):
        directory.add(name, password, role)
    assert directory.names() == [("alice", "operator")]
