"""One-time PINs through the HTTP API of a real ``lockers run --simulate`` process, with real faces."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.controller.app.http.test_api import AUTH, compartment, powell, push_frames
from tests.support.bank import RunningBank, start_bank, stop_bank
from tests.support.waiting import wait_until


def deposit(client: httpx.Client, assets: Path) -> dict[str, str]:
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.post, "/deposit")
        push_frames(client, [powell(assets, n) for n in (1, 2, 3, 4, 5, 6)], pending.done)
        response = pending.result(timeout=30)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    wait_until(lambda: compartment(client, body["compartment_id"])["door"] == "open", 20)  # the simulator pops it
    client.post(f"/simulate/doors/{body['compartment_id']}", json={"action": "close"})
    wait_until(lambda: compartment(client, body["compartment_id"])["state"] == "occupied", 20)
    return body


def wrong(pin: str) -> str:
    return "00000000" if pin != "00000000" else "11111111"


def test_the_pin_from_the_deposit_opens_its_compartment_after_wrong_ones_and_a_restart(
    tmp_path: Path, assets: Path
) -> None:
    bank = start_bank(tmp_path, "--simulate")
    try:
        with bank.client() as client:
            receipt = deposit(client, assets)
            pin, cid = receipt["pin"], receipt["compartment_id"]
            assert len(pin) == 8 and pin.isdigit() and cid == "1"
            refused = client.post("/retrieve/pin", json={"pin": wrong(pin)})
            assert (refused.status_code, refused.json()) == (403, {"detail": "PIN not accepted"})
            malformed = client.post("/retrieve/pin", json={"pin": "12ab"})
            assert (malformed.status_code, malformed.json()) == (422, {"detail": "a PIN is 8 digits"})
            assert compartment(client, cid)["state"] == "occupied"
    finally:
        stop_bank(bank)
    bank = start_bank(tmp_path, "--simulate")
    try:
        with bank.client() as client:
            opened = client.post("/retrieve/pin", json={"pin": pin})
            assert opened.status_code == 200, opened.text
            assert (opened.json()["compartment_id"], opened.json()["unlocked"]) == (cid, True)
            wait_until(lambda: compartment(client, cid)["door"] == "open", 20)
            client.post(f"/simulate/doors/{cid}", json={"action": "close"})
            wait_until(lambda: compartment(client, cid)["state"] == "free", 20)
            assert client.post("/retrieve/pin", json={"pin": pin}).status_code == 403  # used up with the item
            events = client.get("/compartments", headers=AUTH).text
    finally:
        stop_bank(bank)
    assert_pin_nowhere(bank, pin, events)


def assert_pin_nowhere(bank: RunningBank, pin: str, *texts: str) -> None:
    """Not in the structured logs, not in the event log file, not in the vault file, not in the answers."""
    assert "PinConfirmed" in bank.log() and "wrong pin" in bank.log()
    assert pin not in bank.log()
    for name in ("lockers.db", "templates.db"):
        assert pin.encode() not in (bank.data_dir / name).read_bytes(), name
    assert all(pin not in text for text in texts)


def test_a_kiosk_cools_down_after_three_wrong_pins(tmp_path: Path, assets: Path) -> None:
    bank = start_bank(tmp_path, "--simulate", extra="[policy]\npin_cooldown_s = 3.0\n")
    try:
        with bank.client() as client:
            pin = deposit(client, assets)["pin"]
            answers = [client.post("/retrieve/pin", json={"pin": wrong(pin)}).status_code for _ in range(3)]
            assert answers == [403, 403, 403]
            started = time.monotonic()
            cooling = client.post("/retrieve/pin", json={"pin": pin})
            assert cooling.status_code == 429 and "try again" in cooling.json()["detail"]
            assert 0 < int(cooling.headers["Retry-After"]) <= 3
            assert compartment(client, "1")["state"] == "occupied"
            time.sleep(max(0.0, 3.5 - (time.monotonic() - started)))
            assert client.post("/retrieve/pin", json={"pin": pin}).status_code == 200
            metrics = client.get("/metrics", headers=AUTH).text
            for outcome, count in (("refused", 3), ("cooling_down", 1), ("accepted", 1)):
                assert f'lockers_pin_entries_total{{outcome="{outcome}"}} {count}.0' in metrics, outcome
    finally:
        stop_bank(bank)


def test_erasure_by_pin_then_retrieval_by_pin_and_the_operators_erasure(tmp_path: Path, assets: Path) -> None:
    bank = start_bank(tmp_path, "--simulate")
    try:
        with bank.client() as client:
            pin = deposit(client, assets)["pin"]
            assert client.post("/erasure/pin", json={"pin": wrong(pin)}).status_code == 403
            assert compartment(client, "1")["face_erased"] is False
            erased = client.post("/erasure/pin", json={"pin": pin})
            assert erased.status_code == 200 and erased.json() == {"compartment_id": "1", "face_erased": True}
            assert compartment(client, "1")["state"] == "occupied" and compartment(client, "1")["face_erased"]
            assert client.post("/operator/compartments/1/erase-face").status_code == 401
            again = client.post("/operator/compartments/1/erase-face", headers=AUTH)
            assert again.status_code == 409 and "no face template to erase" in again.json()["detail"]
            # The owner's face opens nothing now; their PIN still does.
            push_frames(client, [powell(assets, n) for n in range(10, 16)], lambda: False)
            assert compartment(client, "1")["state"] == "occupied"
            assert client.post("/retrieve/pin", json={"pin": pin}).status_code == 200
            wait_until(lambda: compartment(client, "1")["door"] == "open", 20)
    finally:
        stop_bank(bank)
    assert "FaceErased" in bank.log() and pin not in bank.log()
