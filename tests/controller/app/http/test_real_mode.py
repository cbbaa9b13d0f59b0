"""A real ``lockers run`` outside simulate mode (lock board simulator, a camera folder): the front door refuses."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bank import RunningBank, start_bank, stop_bank
from tests.support.cli import LOCKERS, lockers_env


@pytest.fixture(scope="module")
def real_bank(tmp_path_factory: pytest.TempPathFactory, assets: Path) -> Iterator[RunningBank]:
    """``lockers run`` without ``--simulate``: a Modbus board (``lockers plc-sim``) and a one-image camera folder."""
    import cv2
    import numpy as np

    directory = tmp_path_factory.mktemp("real")
    frames = directory / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "blank.png"), np.zeros((120, 160, 3), np.uint8))
    key = subprocess.run([*LOCKERS, "keys", "master"], env=lockers_env(), capture_output=True, text=True, check=True)
    board = subprocess.Popen([*LOCKERS, "plc-sim", "--port", "0", "--compartments", "4"], env=lockers_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert board.stdout is not None
        port = board.stdout.readline().split(":")[2].split()[0]
        extra = (f'[templates]\nmaster_key = "{key.stdout.split()[-1]}"\n'
                 f'[plc]\nport = {port}\n[camera]\nsource = "{frames}"\n')
        running = start_bank(directory, extra=extra)
        yield running
        stop_bank(running)
    finally:
        board.terminate()
        board.wait(timeout=30)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/deposit"),
        ("POST", "/retrieve/pin"),
        ("POST", "/erasure/pin"),
        ("GET", "/kiosk/setup"),
        ("POST", "/operator/compartments/1/unlock"),
    ],
)
def test_without_a_credential_the_real_front_door_refuses(real_bank: RunningBank, method: str, path: str) -> None:
    with real_bank.client() as client:
        response = client.request(method, path, json={"pin": "12345678"} if method == "POST" else None)
    assert response.status_code == 401, response.text


def test_the_real_app_serves_no_simulate_routes(real_bank: RunningBank) -> None:
    with real_bank.client() as client:
        assert client.post("/simulate/frames", content=b"x").status_code in (404, 405)
        assert client.post("/simulate/doors/1", json={"action": "open"}).status_code in (404, 405)


def test_logins_and_refusals_are_logged_without_the_password(real_bank: RunningBank) -> None:
    with real_bank.client() as client:
        assert client.post("/operator/login", json={"name": "mallory", "password": "secret-guess-1"}).status_code == 401
        client.post("/deposit", headers={"X-Forwarded-For": "203.0.113.9"})
    log = real_bank.log()
    assert '"login refused"' in log and '"operator": "mallory"' in log and '"client": "127.0.0.1"' in log
    assert '"access refused"' in log and "secret-guess-1" not in log and "203.0.113.9" not in log
