"""The bank's link to its centre: what a heartbeat carries (no secrets), and a centre away never stops the bank.

The centre here is a plain HTTP server on loopback that records what it receives and answers as a centre
does; the bank's log is a real SQLite store.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.app.audit.keys import verifies
from controller.app.central.envelope import SIGNATURE_HEADER
from controller.app.run.fleet_link import CentreUnreachable, FleetLink
from fleet.settings import FleetSettings
from storage.event_store import SqlEventStore
from tests.support.bank import free_port

HEALTH = {"status": "degraded", "components": {
    "camera": {"status": "failed", "detail": "camera rtsp://admin:hunter22@10.0.0.5/stream: no frame in 12 s"},
    "board": {"status": "ok", "detail": ""},
}, "recognition_latency": {"p50_ms": 31}}


class Recorder(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        body = self.rfile.read(int(self.headers["content-length"]))
        Recorder.received.append((self.path, body, self.headers[SIGNATURE_HEADER]))
        answer = json.dumps({"acknowledged": 0, "stored": 0, "duplicates": 0}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: object) -> None:
        return None


@pytest.fixture
def centre() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Recorder.received = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def link(url: str, tmp_path: Path, signer: Ed25519PrivateKey) -> FleetLink:
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path}/lockers.db")
    settings = FleetSettings(central_url=url, bank_id="bank-7", timeout_s=2.0)
    return FleetLink(settings, signer, store, lambda: HEALTH, ["1", "2"])


def test_a_heartbeat_is_signed_and_carries_health_without_credentials(centre: str, tmp_path: Path) -> None:
    signer = Ed25519PrivateKey.generate()
    assert link(centre, tmp_path, signer).beat() == 0
    [(path, body, signature)] = Recorder.received
    document = json.loads(body)
    assert path == "/heartbeat" and verifies(body, signature, signer.public_key())
    camera = document["health"]["components"]["camera"]
    assert camera == {"status": "failed", "detail": "camera rtsp://***@10.0.0.5/stream: no frame in 12 s"}
    assert "hunter22" not in body.decode() and "recognition_latency" not in document["health"]
    assert (document["bank_id"], document["health"]["compartments"]) == ("bank-7", ["1", "2"])


def test_an_unreachable_centre_is_logged_and_retried_never_raised(tmp_path: Path) -> None:
    bank_link = link(f"http://127.0.0.1:{free_port()}", tmp_path, Ed25519PrivateKey.generate())
    with pytest.raises(CentreUnreachable):
        bank_link.push_once()
    assert asyncio.run(bank_link._attempt(bank_link.push_once)) == 0
    assert bank_link.state.startswith("unreachable") and bank_link.acknowledged is None
