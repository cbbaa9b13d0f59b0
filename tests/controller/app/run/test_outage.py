"""A storage outage does not stop the bank: a real ``lockers run`` beside an external SQLite write lock.

While another process holds the database's write lock, a forced door is seen and buffered, ``/healthz``
says degraded, an operator write answers 503; when the lock goes, the forced door is recorded in order
and the bank is healthy again. SIGTERM still ends it with exit status 0.
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.support.bank import OPERATOR_TOKEN, start_bank
from tests.support.waiting import wait_until

READ = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}  # /compartments is for operators


def _storage(client: httpx.Client) -> tuple[str, str]:
    entry = client.get("/healthz").json()["components"]["storage"]
    return entry["status"], entry["detail"]


@pytest.mark.slow
def test_a_forced_door_during_a_storage_outage_is_recorded_when_storage_returns(tmp_path: Path, assets: Path) -> None:
    bank = start_bank(tmp_path, "--simulate")
    client = bank.client()
    try:
        assert (tmp_path / "lockers.db").exists()
        outage = sqlite3.connect(tmp_path / "lockers.db", timeout=0, isolation_level=None)
        outage.execute("BEGIN EXCLUSIVE")  # an external writer holds the log
        try:
            assert client.post("/simulate/doors/2", json={"action": "force"}).status_code == 200
            health = wait_until(lambda: _storage(client)[0] == "failed" and client.get("/healthz").json(), 40,
                                "timed out waiting for outage", interval=0.3)
            assert health["status"] == "degraded"
            assert "observations buffered in order" in health["components"]["storage"]["detail"]
            headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
            refused = client.post(
                "/operator/compartments/3/out-of-service", json={"operator_id": "ops-1"}, headers=headers
            )
            assert refused.status_code == 503, refused.text
            assert bank.process.poll() is None, "the bank must keep running through the outage"
        finally:
            outage.execute("ROLLBACK")
            outage.close()
        wait_until(lambda: _storage(client)[0] == "ok", 40, "timed out waiting for storage to come back", interval=0.3)
        states = {k["id"]: k for k in client.get("/compartments", headers=READ).json()["compartments"]}
        assert states["2"]["state"] == "alarm" and states["2"]["alarm"] == "forced_open", states["2"]
        assert states["3"]["state"] == "free"  # the refused operator write left nothing behind
    finally:
        client.close()
        bank.process.send_signal(signal.SIGTERM)
        status = bank.process.wait(timeout=60)
    assert status == 0, bank.log()
    assert "event store unavailable" in bank.log() and "event store available again" in bank.log()

