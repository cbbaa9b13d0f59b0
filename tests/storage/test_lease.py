"""One writer per log: the lease, and what two real ``lockers run`` processes on one log do."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from storage.event_store import SqlEventStore
from storage.lease import LeaseHeld, acquire_lease, read_holder
from tests.support.bank import OPERATOR_TOKEN, free_port, start_bank, write_config
from tests.support.cli import lockers


def test_a_second_sqlite_lease_names_the_holder_and_frees_on_release(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lockers.db'}"
    lease = acquire_lease(url)
    holder = read_holder(tmp_path / "lockers.db")
    assert holder is not None and holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    with pytest.raises(LeaseHeld, match=re.escape(f"pid {os.getpid()}, since {holder['since']}")):
        acquire_lease(url)
    lease.release()
    assert read_holder(tmp_path / "lockers.db") is None
    acquire_lease(url).release()


def test_a_second_postgres_lease_names_the_holder() -> None:
    url = os.environ.get("LOCKERS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("LOCKERS_TEST_POSTGRES_URL is not set")
    lease = acquire_lease(url)
    try:
        with pytest.raises(LeaseHeld, match=rf"lockers host={socket.gethostname()} pid={os.getpid()} since="):
            acquire_lease(url)
    finally:
        lease.release()
    acquire_lease(url).release()


def _notify_socket(directory: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(directory / "notify.sock"))
    sock.settimeout(0.2)
    return sock


def _received(sock: socket.socket) -> set[str]:
    messages = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            messages.add(sock.recv(256).decode())
        except TimeoutError:
            continue
    return messages


@pytest.mark.slow
def test_second_controller_exits_at_once_naming_the_holder(
    tmp_path: Path, assets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifications = _notify_socket(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    first = start_bank(tmp_path, "--simulate")
    try:
        assert {"READY=1", "WATCHDOG=1"} <= _received(notifications)
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        started = time.monotonic()
        second = lockers("run", "--simulate", "--port", str(free_port()), "--config", str(write_config(second_dir)),
                         "--db", f"sqlite:///{tmp_path / 'lockers.db'}", data_dir=tmp_path)
        assert second.returncode != 0
        last_line = second.stderr.strip().splitlines()[-1]
        assert "held by another controller" in last_line and f"pid {first.process.pid}," in last_line
        assert time.monotonic() - started < 30, "the second controller should refuse before loading anything"
        assert first.process.poll() is None, "the first controller must keep running"
        # Read-only commands keep working beside the running controller.
        verify = lockers("audit", "verify", "--json", "--db", f"sqlite:///{tmp_path / 'lockers.db'}", data_dir=tmp_path)
        assert verify.returncode == 0, verify.stderr
        assert json.loads(verify.stdout)["ok"] is True
        # A maintenance unlock beside the controller is refused, naming the endpoint that records it...
        plc = lockers("plc", "unlock", "2", data_dir=tmp_path, timeout=60)
        assert plc.returncode != 0 and f"pid {first.process.pid}" in plc.stderr, plc.stderr
        assert "/operator/compartments/2/unlock" in plc.stderr
        # ...and through that endpoint it is recorded, then pulsed.
        with first.client() as client:
            headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
            done = client.post("/operator/compartments/2/unlock", json={"operator_id": "ops-4"}, headers=headers)
            assert done.status_code == 200 and done.json()["alarm"] == "maintenance", done.text
    finally:
        first.process.send_signal(signal.SIGTERM)
        status = first.process.wait(timeout=60)
        notifications.close()
    assert status == 0, first.log()
    assert read_holder(tmp_path / "lockers.db") is None
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'lockers.db'}", create=False)
    try:
        kinds = [type(s.event).__name__ for s in store.read_all() if s.event.compartment_id == "2"]
    finally:
        store.close()
    assert kinds[-2:] == ["MaintenanceUnlocked", "UnlockPulseSent"], kinds
