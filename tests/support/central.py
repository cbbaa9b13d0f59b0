"""A real ``lockers central run`` process on a PostgreSQL schema of its own, and hash-chained rows to send it."""

from __future__ import annotations

import json
import subprocess
from dataclasses import astuple, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.app.audit.keys import sign
from controller.app.central.envelope import BATCH
from controller.domain.chain import GENESIS_HASH, RawRecord, content_hash
from controller.domain.events import AlarmCleared, AlarmRaised
from controller.service.anchors import ChainHead
from storage.event_store import SqlEventStore
from storage.serialization import EventSerializer
from tests.support.bank import OPERATOR_TOKEN, RunningBank
from tests.support.cli import LOCKERS, lockers, lockers_env
from tests.support.waiting import wait_until_serving

ACT = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}  # the banks' shared operator token
OPERATOR = "fleetop"
PASSWORD = "a long fleet password"


@dataclass
class RunningCentre:
    """A centre process, its URL, configuration and an operator token for the fleet API."""

    process: subprocess.Popen[bytes]
    url: str
    config: Path
    log_path: Path
    token: str = ""

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, headers={"Authorization": f"Bearer {self.token}"})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def write_central_config(directory: Path, database_url: str, port: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "central.toml"
    config.write_text(f'[central]\ndatabase_url = "{database_url}"\nport = {port}\ndata_dir = "{directory}"\n')
    return config


def start_centre(directory: Path, config: Path, port: int, token: str = "") -> RunningCentre:
    log_path = directory / f"centre-{port}.log"
    command = [*LOCKERS, "--log-format", "json", "central", "run", "--config", str(config)]
    process = subprocess.Popen(command, stdout=log_path.open("ab"), stderr=subprocess.STDOUT,
                               env=lockers_env(directory))
    centre = RunningCentre(process, f"http://127.0.0.1:{port}", config, log_path, token)
    wait_until_serving(process, centre.url, centre.log, 60)
    return centre


def operator_token(config: Path) -> str:
    added = lockers("operators", "add", OPERATOR, "--password-stdin", "--config", str(config), stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    issued = lockers("operators", "token", OPERATOR, "--config", str(config))
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


def enrol(config: Path, bank_id: str, bank_config: Path) -> None:
    """``lockers keys fleet`` at the bank, then ``lockers central banks add`` at the centre."""
    made = lockers("keys", "fleet", "--config", str(bank_config), "--json")
    assert made.returncode == 0, made.stderr
    public = json.loads(made.stdout)["public_key"]
    added = lockers("central", "banks", "add", bank_id, "--public-key", public, "--config", str(config), "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["enrolled"] is True


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


def fleet_section(bank_id: str, port: int, batch_events: int = 1000) -> str:
    return (f'[fleet]\ncentral_url = "http://127.0.0.1:{port}"\nbank_id = "{bank_id}"\nsync_interval_s = 0.3\n'
            f"heartbeat_s = 1.0\nbatch_events = {batch_events}\n")


def make_events(bank: RunningBank, rounds: int) -> None:
    """Take compartment 1 out of service and clear it, ``rounds`` times (each round is a few events)."""
    with httpx.Client(base_url=bank.url, timeout=30.0, headers=ACT) as client:
        for _ in range(rounds):
            assert client.post("/operator/compartments/1/out-of-service", json={}).status_code == 200
            assert client.post("/operator/alarms/1/clear", json={}).status_code == 200


def bank_rows(bank_dir: Path) -> list[RawRecord]:
    store = SqlEventStore.from_url(f"sqlite:///{bank_dir}/lockers.db", create=False)
    try:
        return list(store.read_raw())
    finally:
        store.close()


def chain(count: int, start: int = 1, previous: str = GENESIS_HASH, note: str = "") -> list[RawRecord]:
    """``count`` linked rows at positions ``start``..: compartment 1 taken out of service and back, as a log holds."""
    serializer = EventSerializer()
    rows = []
    for index in range(count):
        position, moment = start + index, datetime(2026, 12, 6, tzinfo=UTC)
        event = (AlarmRaised(compartment_id="1", version=position, occurred_at=moment, reason="out_of_service",
                             detail=note, operator_id="op") if index % 2 == 0 else
                 AlarmCleared(compartment_id="1", version=position, occurred_at=moment, operator_id="op", note=note,
                              resume_state="free", released_template_ref=""))
        row = replace(serializer.encode(event), position=position, previous_hash=previous)
        row = replace(row, event_hash=content_hash(previous, row))
        rows.append(row)
        previous = row.event_hash
    return rows


def batch(after: int, rows: list[RawRecord], before: list[RawRecord], signer: Ed25519PrivateKey) -> dict[str, object]:
    """A batch document whose checkpoint describes the log ``before + rows``, signed by ``signer``."""
    head = ChainHead()
    for row in [*before, *rows]:
        head.take(row.position, row.compartment_id, row.version, row.event_hash)
    checkpoint = sign(head.checkpoint("2026-12-06T00:00:00+00:00"), signer)
    return {"format": BATCH, "after": after, "events": [list(astuple(row)) for row in rows],
            "checkpoint": json.loads(checkpoint.to_line())}
