"""A real ``lockers run`` whose camera is dead: a network camera that takes the connection and sends nothing.

Each deposit ends in 15 s with a clear answer (503, "no frame from the camera"), the next one is a new
enrolment (never "an enrolment is already in progress"), and SIGTERM with a deposit waiting on the camera
ends the process within 10 s, after its shutdown checkpoint, and at once after its clean shutdown (never
seconds spent unloading the models: on a loaded machine those made it 13 s).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from controller.app.audit.anchors import read_checkpoints
from controller.app.audit.keys import AuditSettings, make_signing_key
from controller.app.config.loader import load_config
from storage.audit_reader import AuditReader
from tests.support.bank import RunningBank, start_bank, stop_bank

NO_FRAME = "the camera is unavailable: enrolment timed out: no frame from the camera in 15 s"


@pytest.fixture
def dead_camera() -> Iterator[str]:
    """An HTTP camera URL whose server accepts every connection and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return  # closed

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/video"
    server.close()
    for connection in held:
        connection.close()


def stopped_cleanly_at(bank: RunningBank) -> datetime:
    """When the daemon logged the end of its clean shutdown (checkpoint written, files closed)."""
    lines = [json.loads(line) for line in bank.log().splitlines() if line.startswith("{")]
    return next(datetime.fromisoformat(line["timestamp"]) for line in lines if line["event"] == "bank stopped cleanly")


def post_deposit(bank: RunningBank) -> httpx.Response:
    return httpx.post(f"{bank.url}/deposit", timeout=120)


def start_enrolment(bank: RunningBank, pool: ThreadPoolExecutor) -> Future[httpx.Response]:
    """A deposit, once the kiosk feed says that its enrolment waits for frames."""
    with httpx.stream("GET", f"{bank.url}/kiosk/feed", timeout=120) as feed:
        lines = feed.iter_lines()
        assert next(lines) == ": connected"
        waiting = pool.submit(post_deposit, bank)
        assert any('"kind": "enrol"' in line for line in lines), "the deposit's enrolment never started"
    return waiting


def test_a_dead_camera_answers_every_deposit_and_sigterm_ends_in_10_s(
    tmp_path: Path, dead_camera: str, assets: Path
) -> None:
    make_signing_key(AuditSettings.from_config(load_config(overrides={"bank": {"data_dir": str(tmp_path)}})))
    bank = start_bank(tmp_path, "--simulate", "--camera", dead_camera)
    try:
        assert httpx.post(f"{bank.url}/simulate/doors/2", json={"action": "force"}).status_code == 200  # a log head
        started = time.monotonic()
        first = post_deposit(bank)
        assert (first.status_code, first.json()["detail"]) == (503, NO_FRAME), first.text
        assert time.monotonic() - started >= 14  # it did wait for the camera, as long as promised

        with ThreadPoolExecutor(1) as pool:
            waiting: Future[httpx.Response] = start_enrolment(bank, pool)  # not blocked by the first
            stopping = time.monotonic()
            bank.process.terminate()
            bank.process.wait(timeout=60)
            took, ended_at = time.monotonic() - stopping, datetime.now(UTC)
            answer = waiting.result(timeout=60)
    finally:
        stop_bank(bank)
    assert bank.process.returncode == 0, bank.log()
    assert took < 10, f"SIGTERM took {took:.1f} s"
    lingered = (ended_at - stopped_cleanly_at(bank)).total_seconds()
    assert lingered < 1.5, f"the process lingered {lingered:.1f} s after its clean shutdown (unloading models)"
    assert answer.status_code == 503 and "the controller is stopping: no frame from the camera" in answer.text
    reader = AuditReader.from_url(f"sqlite:///{tmp_path}/lockers.db")
    _, head, _ = reader.position_bounds()
    reader.close()
    checkpoints, _ = read_checkpoints(tmp_path / "anchors.jsonl")
    assert head > 0 and checkpoints and checkpoints[-1].position == head  # the shutdown checkpoint
