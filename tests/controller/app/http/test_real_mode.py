"""A real ``lockers run`` outside simulate mode (lock board simulator, a camera folder): the front door refuses.

Its kiosk credential is made by ``lockers keys kiosk`` (the real command line), and the kiosk pairs with what
the command printed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bank import RunningBank, start_bank, stop_bank
from tests.support.cli import LOCKERS, lockers_env, quiet_lockers

SITE_PORT = 8123  # the port the site's file names: the printed pairing address must use it

KioskKey = dict[str, str]
"""What ``lockers keys kiosk --json`` printed for the site's configuration file."""


@pytest.fixture(scope="module")
def kiosk_key(tmp_path_factory: pytest.TempPathFactory) -> KioskKey:
    """``lockers keys kiosk --config FILE --json`` over a site's file that already has a kiosk credential."""
    site = tmp_path_factory.mktemp("site") / "site.toml"
    site.write_text(f'[api]\nhost = "0.0.0.0"\nport = {SITE_PORT}\nkiosk_token_sha256 = "{"0" * 64}"\n')
    result = quiet_lockers("keys", "kiosk", "--config", str(site), "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.fixture(scope="module")
def real_bank(tmp_path_factory: pytest.TempPathFactory, assets: Path, kiosk_key: KioskKey) -> Iterator[RunningBank]:
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
        digest = kiosk_key["kiosk_token_sha256"]
        running = start_bank(directory, extra=extra, api=f'kiosk_token_sha256 = "{digest}"')
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


def test_keys_kiosk_prints_the_credential_and_how_to_pair(kiosk_key: KioskKey) -> None:
    key = kiosk_key
    assert key["pair_url"] == f"http://127.0.0.1:{SITE_PORT}/kiosk/pair?token={key['token']}"  # 0.0.0.0: loopback
    assert key["header"] == f"Authorization: Bearer {key['token']}" and len(key["token"]) >= 40
    assert key["replaces_configured"] and len(key["kiosk_token_sha256"]) == 64
    text = quiet_lockers("keys", "kiosk")
    assert text.returncode == 0 and "/kiosk/pair?token=" in text.stdout and "kiosk_token_sha256 = " in text.stdout


def test_the_printed_credential_pairs_the_kiosk_with_the_real_bank(real_bank: RunningBank, kiosk_key: KioskKey) -> None:
    key = kiosk_key
    header_name, header_value = key["header"].split(": ", 1)
    pair = real_bank.url + key["pair_url"].split(f":{SITE_PORT}", 1)[1]
    with real_bank.client() as client:
        setup = client.get("/kiosk/setup", headers={header_name: header_value})
        assert setup.json() == {"simulate": False, "samples": []}
        paired = client.get(pair, follow_redirects=False)
        assert paired.status_code == 303, paired.text
        cookie = paired.headers["set-cookie"].split(";", 1)[0]
        assert cookie == f"lockers_kiosk={key['token']}"
        assert client.get("/kiosk/setup", headers={"cookie": cookie}).status_code == 200
        assert client.get("/kiosk/setup", headers={header_name: "Bearer another-token"}).status_code == 401
