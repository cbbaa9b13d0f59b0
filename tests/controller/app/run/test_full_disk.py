"""A full data directory: a real ``lockers run --simulate`` on a 16 MiB tmpfs that the test fills and frees.

While the disk is full, the owner's face and a forced door are seen; the deposit answers 503. When space
returns after the face's time to live, the face is recorded as seen too late and acted on never (no
verification, no identity confirmed, no pulse), and the forced door is logged at the time it happened
and the time it was recorded. A second fill-and-free keeps the daemon alive and loses no door event.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from controller.app.run.recorder import FACE_TTL_S
from controller.service.bridge import BridgeSettings
from storage.event_store import SqlEventStore
from tests.support.bank import OPERATOR_TOKEN, RunningBank, start_bank
from tests.support.full_disk import FullDisk, small_tmpfs
from tests.support.waiting import wait_until

READ = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs as the bank's data directory, unmounted afterwards."""
    with small_tmpfs(tmp_path / "data") as data:
        yield data


def storage_status(client: httpx.Client) -> str:
    return str(client.get("/healthz").json()["components"]["storage"]["status"])


def compartment(client: httpx.Client, cid: str) -> dict[str, object]:
    rows = client.get("/compartments", headers=READ).json()["compartments"]
    return next(row for row in rows if row["id"] == cid)


def powell(assets: Path, number: int) -> bytes:
    return (assets / f"data/lfw-dev/images/Colin_Powell/Colin_Powell_{number:04d}.jpg").read_bytes()


def push(client: httpx.Client, frames: list[bytes], pause: float = 0.4) -> None:
    for frame in frames:
        assert client.post("/simulate/frames", content=frame).status_code == 202
        time.sleep(pause)


def deposit_into_one(client: httpx.Client, assets: Path) -> None:
    with ThreadPoolExecutor(1) as pool:
        deposit = pool.submit(client.post, "/deposit")
        push(client, [powell(assets, n) for n in (1, 2, 3, 4, 5, 6)])
        response = deposit.result(timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["compartment_id"] == "1"
    wait_until(lambda: compartment(client, "1")["door"] == "open", 20)
    client.post("/simulate/doors/1", json={"action": "close"})
    wait_until(lambda: compartment(client, "1")["state"] == "occupied", 20)
    time.sleep(BridgeSettings().depositor_away_s + 0.5)  # the depositor walks away


def outage(client: httpx.Client, data: Path, door_4: str) -> FullDisk:
    """Fill the disk and wait until the bank says its storage failed (a write must be tried first)."""
    disk = FullDisk(data)
    time.sleep(1)
    client.post("/simulate/doors/4", json={"action": door_4})  # something to record: it meets the full disk
    wait_until(lambda: storage_status(client) == "failed", 30, "the full disk was never noticed", interval=0.3)
    return disk


def recover(client: httpx.Client, disk: FullDisk) -> None:
    disk.free()
    wait_until(lambda: storage_status(client) == "ok", 40, "storage never came back", interval=0.3)


def log_rows(bank: RunningBank) -> list[dict[str, object]]:
    store = SqlEventStore.from_url(f"sqlite:///{bank.data_dir / 'lockers.db'}", create=False)
    try:
        return [
            {"type": type(s.event).__name__, "cid": s.event.compartment_id, "event": s.event}
            for s in store.read_all()
        ]
    finally:
        store.close()


@pytest.mark.slow
def test_a_full_disk_acts_on_no_stale_face_keeps_door_times_and_survives_twice(
    tmp_path: Path, small_disk: Path, assets: Path
) -> None:
    bank = start_bank(tmp_path, "--simulate", data_dir=small_disk)
    client = bank.client()
    try:
        deposit_into_one(client, assets)
        filler = outage(client, small_disk, "force")
        push(client, [powell(assets, n) for n in range(10, 18)], pause=0.3)  # the owner, in front of the camera
        forced_before = datetime.now(UTC)
        assert client.post("/simulate/doors/2", json={"action": "force"}).status_code == 200
        forced_after = datetime.now(UTC)
        refused = client.post("/deposit")
        assert refused.status_code == 503, refused.text
        time.sleep(FACE_TTL_S + 1)  # the face is older than its time to live when space returns
        freed_at = datetime.now(UTC)
        recover(client, filler)
        time.sleep(2)
        assert compartment(client, "1")["state"] == "occupied", compartment(client, "1")

        filler = outage(client, small_disk, "close")  # the second fill-and-free: a door close waits, the daemon lives
        assert client.post("/simulate/doors/2", json={"action": "close"}).status_code == 200
        time.sleep(1)
        assert bank.process.poll() is None, bank.log()
        recover(client, filler)
        wait_until(lambda: compartment(client, "2")["door"] == "closed", 20)
        assert bank.process.poll() is None, bank.log()
    finally:
        client.close()
        bank.process.send_signal(signal.SIGTERM)
        status = bank.process.wait(timeout=60)
    assert status == 0, bank.log()

    rows = log_rows(bank)
    one = [row["type"] for row in rows if row["cid"] == "1"]
    assert "VerificationStarted" not in one and "IdentityConfirmed" not in one, one
    assert one.count("UnlockPulseSent") == 1, one  # the deposit's pulse only
    assert "FaceSeenTooLate" in one, one
    forced = next(row["event"] for row in rows if row["cid"] == "2" and row["type"] == "DoorOpened")
    seen_by = forced_after + timedelta(seconds=2)  # the door poller debounces and polls: it sees the change soon after
    assert forced_before <= forced.occurred_at <= seen_by < freed_at, (forced, forced_before, forced_after, freed_at)
    assert forced.recorded_at is not None and forced.recorded_at >= freed_at, forced
    closes = [row["event"] for row in rows if row["cid"] == "2" and row["type"] == "DoorClosed"]
    assert len(closes) == 1, rows
    lines = [json.loads(line) for line in bank.log().splitlines() if line.startswith("{")]
    assert not [line for line in lines if "cannot rollback" in json.dumps(line)]
    assert any("disk is full" in json.dumps(line) for line in lines)  # the outage is named for what it is
