"""The daemon's checkpoint writer on a real service and a real SQLite log: every N events, every T seconds,
at shutdown; and a real HTTP witness on loopback that receives each checkpoint."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from controller.app.audit.anchors import add_anchor_findings, read_checkpoints
from controller.app.audit.keeper import AnchorKeeper
from controller.app.audit.keys import AuditSettings, make_signing_key
from controller.app.audit.verify import verify_log
from controller.app.config.loader import Config, load_config
from controller.service.compartments import CompartmentService
from controller.service.simulation import ForgetfulVault, HistorySimulator, resume_clock
from plc.fake import FakeLockDriver
from storage.event_store import SqlEventStore


class Witness(BaseHTTPRequestHandler):
    """Keeps every POSTed body; answers ``status``."""

    received: list[bytes] = []
    status = 201

    def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
        length = int(self.headers["Content-Length"])
        type(self).received.append(self.rfile.read(length))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def witness() -> Iterator[str]:
    Witness.received = []
    server = HTTPServer(("127.0.0.1", 0), Witness)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/checkpoints"
    server.shutdown()
    server.server_close()


def bank_config(tmp_path: Path, **audit: object) -> Config:
    config = load_config(overrides={"bank": {"data_dir": str(tmp_path)}, "audit": audit})
    make_signing_key(AuditSettings.from_config(config))
    return config


async def run_bank(config: Config, url: str, steps: int, linger_s: float = 0.0) -> tuple[AnchorKeeper, int]:
    """Drive ``steps`` simulated commands through a real service with a keeper attached, then stop it."""
    store = SqlEventStore.from_url(url)
    clock = resume_clock(store)
    service = CompartmentService(store, FakeLockDriver(4), ForgetfulVault(), clock, ["1", "2", "3", "4"])
    keeper = AnchorKeeper.start(config, service, store)
    assert keeper is not None
    task = asyncio.create_task(keeper.run())
    await HistorySimulator(service, clock, seed=3).run(steps)
    await asyncio.sleep(linger_s)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await keeper.close()
    written = sum(1 for _ in store.read_all())
    store.close()
    return keeper, written


def test_checkpoints_every_n_events_and_at_shutdown(tmp_path: Path) -> None:
    config = bank_config(tmp_path, checkpoint_every_events=25, checkpoint_every_s=0)
    url = f"sqlite:///{tmp_path}/lockers.db"
    _, written = asyncio.run(run_bank(config, url, steps=120))
    checkpoints, unreadable = read_checkpoints(tmp_path / "anchors.jsonl")
    assert unreadable == []
    assert checkpoints[-1].position == written  # the shutdown checkpoint names the last event
    assert len(checkpoints) >= written // 25  # one at least every 25 events, never one per event
    assert len(checkpoints) < written // 5
    report = verify_log(url, workers=1)
    add_anchor_findings(report, config, url)
    assert report.ok, report.problems


def test_checkpoints_every_t_seconds_only_when_the_log_moved(tmp_path: Path) -> None:
    config = bank_config(tmp_path, checkpoint_every_events=0, checkpoint_every_s=0.05)
    url = f"sqlite:///{tmp_path}/lockers.db"
    keeper, written = asyncio.run(run_bank(config, url, steps=30, linger_s=0.4))
    checkpoints, _ = read_checkpoints(tmp_path / "anchors.jsonl")
    positions = [c.position for c in checkpoints]
    assert positions[-1] == written == keeper.written_position
    assert len(positions) == len(set(positions))  # an idle log gets no new checkpoint every period


def test_witness_receives_every_checkpoint(tmp_path: Path, witness: str) -> None:
    config = bank_config(tmp_path, checkpoint_every_events=40, checkpoint_every_s=0, witness_url=witness)
    asyncio.run(run_bank(config, f"sqlite:///{tmp_path}/lockers.db", steps=60))
    lines = (tmp_path / "anchors.jsonl").read_text().splitlines()
    assert [body.decode() for body in Witness.received] == lines
    assert len(lines) >= 2


def test_an_unreachable_witness_does_not_stop_checkpoints(tmp_path: Path, witness: str) -> None:
    Witness.status = 503
    try:
        config = bank_config(tmp_path, checkpoint_every_events=40, checkpoint_every_s=0, witness_url=witness)
        _, written = asyncio.run(run_bank(config, f"sqlite:///{tmp_path}/lockers.db", steps=60))
    finally:
        Witness.status = 201
    checkpoints, _ = read_checkpoints(tmp_path / "anchors.jsonl")
    assert checkpoints[-1].position == written
    assert len(Witness.received) == len(checkpoints)


def test_without_a_signing_key_the_bank_runs_unanchored(tmp_path: Path) -> None:
    config = load_config(overrides={"bank": {"data_dir": str(tmp_path)}})
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path}/lockers.db")
    service = CompartmentService(store, FakeLockDriver(1), ForgetfulVault(), resume_clock(store), ["1"])
    assert AnchorKeeper.start(config, service, store) is None
    store.close()
