"""Real ``lockers run --simulate`` banks: a fresh one per test, and one per module with named operator accounts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.bank import RunningBank, start_bank, stop_bank
from tests.support.cli import quiet_lockers

OPERATOR = ("alice", "alice-password-1")
AUDITOR = ("carol", "carol-password-1")


def add_operator(data_dir: Path, name: str, password: str, role: str) -> None:
    """``lockers operators add NAME --role ROLE --password-stdin``."""
    result = quiet_lockers("operators", "add", name, "--role", role, "--password-stdin", data_dir=data_dir,
                           stdin=password + "\n")
    assert result.returncode == 0, result.stderr


@dataclass
class Session:
    """A logged-in operator: the cookie (sent by hand: httpx keeps Secure cookies off plain HTTP) and CSRF token."""

    cookie: str
    csrf: str

    def headers(self, csrf: bool = True) -> dict[str, str]:
        """Headers for a call in this session."""
        headers = {"Cookie": f"lockers_session={self.cookie}"}
        return {**headers, "X-CSRF-Token": self.csrf} if csrf else headers


def log_in(client: httpx.Client, name: str, password: str) -> Session:
    """Log in through ``POST /operator/login``."""
    response = client.post("/operator/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie and "SameSite=strict" in set_cookie
    return Session(set_cookie.split(";", 1)[0].split("=", 1)[1], response.json()["csrf"])


@pytest.fixture
def bank(tmp_path: Path, assets: Path) -> Iterator[RunningBank]:
    """A fresh bank per test: no test sees another's compartments, and one may stop its bank."""
    running = start_bank(tmp_path, "--simulate")
    yield running
    stop_bank(running)


@pytest.fixture(scope="module")
def web_bank(tmp_path_factory: pytest.TempPathFactory, assets: Path) -> Iterator[RunningBank]:
    """A simulated bank with an operator (alice) and an auditor (carol)."""
    directory = tmp_path_factory.mktemp("web")
    add_operator(directory, *OPERATOR, "operator")
    add_operator(directory, *AUDITOR, "auditor")
    running = start_bank(directory, "--simulate")
    yield running
    stop_bank(running)


@contextmanager
def open_page(browser: Any, width: int = 1280, height: int = 860, **options: Any) -> Iterator[Any]:
    """A page in a fresh Chromium context of ``width`` x ``height``; closed, and free of script errors, at the end.

    ``options`` go to ``browser.new_context`` (``timezone_id``, ``permissions``, ``bypass_csp``: the latter only
    lets the test's own scripts, axe and evaluate, run; the page's CSP is tested elsewhere). Every request the
    page makes is logged in ``page.requests``.
    """
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    errors: list[str] = []
    page.requests = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: page.requests.append(request.url))
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors
