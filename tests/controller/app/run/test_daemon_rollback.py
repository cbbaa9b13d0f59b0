"""A real ``lockers run`` on a restored older copy of its SQLite log: no door opens until an operator acts.

The bank takes a deposit after the backup was copied; the backup is restored over the log. The controller
must not start (the newer anchors name the lost deposit); the operator's acknowledgement is recorded in the
anchor file, and the next start keeps the compartment that the newer log says is occupied in alarm.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from controller.app.audit.anchor_file import read_anchor_file
from tests.controller.app.http.test_api import AUTH, compartment, powell, push_frames
from tests.support.bank import free_port, start_bank, stop_bank, write_config
from tests.support.cli import LOCKERS, lockers_env, quiet_lockers
from tests.support.waiting import wait_until


def deposit(client: httpx.Client, assets: Path) -> str:
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(client.post, "/deposit")
        push_frames(client, [powell(assets, n) for n in (1, 2, 3, 4, 5, 6)], answer.done)
        response = answer.result(timeout=30)
    assert response.status_code == 201, response.text
    cid = str(response.json()["compartment_id"])
    wait_until(lambda: compartment(client, cid)["door"] == "open", 20)
    client.post(f"/simulate/doors/{cid}", json={"action": "close"})
    wait_until(lambda: compartment(client, cid)["state"] == "occupied", 20)
    return cid


def test_a_restored_backup_keeps_every_door_shut_until_an_operator_acknowledges(tmp_path: Path, assets: Path) -> None:
    bank = start_bank(tmp_path, "--simulate")  # the first start makes the signing key and pins it
    try:
        with bank.client() as client:
            assert client.post("/simulate/doors/4", json={"action": "force"}).status_code == 200
            wait_until(lambda: compartment(client, "4")["state"] == "alarm", 20)
    finally:
        stop_bank(bank)
    assert "anchor_key_fingerprint = " in (tmp_path / "lockers.toml").read_text()
    shutil.copyfile(tmp_path / "lockers.db", tmp_path / "backup.db")  # the older backup

    bank = start_bank(tmp_path, "--simulate")
    try:
        with bank.client() as client:
            occupied = deposit(client, assets)
    finally:
        stop_bank(bank)
    shutil.copyfile(tmp_path / "backup.db", tmp_path / "lockers.db")  # restored over the newer log

    port = free_port()
    command = [*LOCKERS, "run", "--config", str(write_config(tmp_path)), "--simulate", "--port", str(port)]
    refused = subprocess.run(command, capture_output=True, text=True, env=lockers_env(tmp_path), timeout=120)
    assert refused.returncode == 1, refused.stderr
    assert "the log does not match its anchors" in refused.stderr
    assert "truncated at position" in refused.stderr
    assert "erased_stream at position" in refused.stderr and f"compartment {occupied}: all" in refused.stderr
    assert "lockers audit acknowledge" in refused.stderr

    acknowledged = quiet_lockers("audit", "acknowledge", "--config", str(tmp_path / "lockers.toml"), "--operator",
                                 "alice", "--note", "restored the backup of the morning", "--json", data_dir=tmp_path)
    assert acknowledged.returncode == 0, acknowledged.stderr
    document = json.loads(acknowledged.stdout)
    # compartment 4's stream moved on too in the newer log (its door, closed again at the second start)
    assert document["acknowledged"] is True and document["compartments_in_doubt"] == [occupied, "4"]
    record = read_anchor_file(tmp_path / "anchors.jsonl").acknowledgements[-1][1]
    assert record.operator_id == "alice" and any(line.startswith("truncated") for line in record.findings)

    bank = start_bank(tmp_path, "--simulate")
    try:
        with bank.client() as client:
            held = compartment(client, occupied)
            assert held["state"] == "alarm"  # never handed to the next depositor as free
            rows = client.get("/compartments", headers=AUTH).json()["compartments"]
            assert [row["id"] for row in rows if row["state"] == "free"] == ["2", "3"]
    finally:
        stop_bank(bank)
