"""A real ``lockers run --simulate`` with named operator accounts, for the access and browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import RunningBank, start_bank

OPERATOR = ("alice", "alice-password-1")
AUDITOR = ("carol", "carol-password-1")


def lockers(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The ``lockers`` command line as a user runs it, on this bank's data dir."""
    return subprocess.run(
        [sys.executable, "-m", "controller", "--log-level", "ERROR", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "LOCKERS_DATA_DIR": str(data_dir)},
        check=False,
        timeout=120,
    )


def add_operator(data_dir: Path, name: str, password: str, role: str) -> None:
    """``lockers operators add NAME --role ROLE --password-stdin``."""
    result = lockers(data_dir, "operators", "add", name, "--role", role, "--password-stdin", stdin=password + "\n")
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


@pytest.fixture(scope="module")
def web_bank(tmp_path_factory: pytest.TempPathFactory, assets: Path) -> Iterator[RunningBank]:
    """A simulated bank with an operator (alice) and an auditor (carol)."""
    directory = tmp_path_factory.mktemp("web")
    add_operator(directory, *OPERATOR, "operator")
    add_operator(directory, *AUDITOR, "auditor")
    running = start_bank(directory, "--simulate")
    yield running
    if running.process.poll() is None:
        running.process.terminate()
        running.process.wait(timeout=30)
