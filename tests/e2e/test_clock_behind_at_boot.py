"""A real ``lockers run`` whose clock reads well before its log's last event: an alarm, not silence, nor an exit.

The log's last event is dated 165 s ahead of the machine's clock (the tolerance is 120 s): the same as a
clock set back, seen from the other side, with no hook into the controller's clock. The controller serves
read-only: ``/healthz`` names ``clock_skew``, a deposit and an operator's write answer 503, nothing is
recorded; once the clock has caught up it boots (reconciliation recorded) and serves as usual.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from controller.domain import events as ev
from storage.audit_reader import AuditReader
from storage.event_store import SqlEventStore
from tests.support.bank import OPERATOR_TOKEN, start_bank, stop_bank
from tests.support.waiting import wait_until

AHEAD = timedelta(seconds=165)


def head(database: str) -> int:
    reader = AuditReader.from_url(database)
    try:
        return reader.position_bounds()[1]
    finally:
        reader.close()


def date_the_log_ahead(database: str) -> None:
    """Compartment 3's door forced open, recorded as if ``AHEAD`` from now (a clock that was fast, or this one slow)."""
    store = SqlEventStore.from_url(database)
    ahead = datetime.now(UTC) + AHEAD
    try:
        version = len(store.read_stream("3"))
        forced = ev.AlarmRaised(compartment_id="3", version=version + 1, occurred_at=ahead, reason="forced_open",
                                detail="forced")
        store.append("3", version, [forced, ev.DoorOpened(compartment_id="3", version=version + 2, occurred_at=ahead)])
    finally:
        store.close()


def storage(url: str) -> dict[str, str]:
    return dict(httpx.get(f"{url}/healthz", timeout=5).json()["components"]["storage"])


def test_a_clock_behind_the_log_at_boot_serves_read_only_until_it_is_right(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/lockers.db"
    first = start_bank(tmp_path, "--simulate")
    assert httpx.post(f"{first.url}/simulate/doors/2", json={"action": "force"}).status_code == 200
    stop_bank(first)  # a bank that ran once: its log (anchored at shutdown), vault and keys exist
    date_the_log_ahead(database)
    before = head(database)

    bank = start_bank(tmp_path, "--simulate")
    try:
        part = storage(bank.url)
        assert part["status"] == "failed" and "clock_skew" in part["detail"], part
        deposit = httpx.post(f"{bank.url}/deposit", timeout=30)
        assert deposit.status_code == 503 and "clock_skew" in deposit.text, deposit.text
        operator = httpx.post(f"{bank.url}/operator/compartments/1/out-of-service", json={"note": "x"}, timeout=30,
                              headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
        assert operator.status_code == 503 and "clock_skew" in operator.text, operator.text
        assert head(database) == before  # nothing recorded with a clock behind the log

        wait_until(lambda: storage(bank.url)["status"] == "ok", 120, lambda: f"never booted:\n{bank.log()}", 1.0)
        assert head(database) > before  # booted: compartment 3's open door reconciled with the closed sensor
    finally:
        stop_bank(bank)
    assert bank.process.returncode == 0, bank.log()
    assert "clock_skew" in bank.log()
