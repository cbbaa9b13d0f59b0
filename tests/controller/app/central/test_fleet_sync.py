"""Two real banks and a real centre on PostgreSQL: offline first, every event at the centre once and in order.

The banks are ``lockers run --simulate`` processes with ``[fleet]``; the centre is ``lockers central run``.
Events are made through the banks' operator API (out of service, then cleared) while the centre is down.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import astuple
from pathlib import Path

import httpx
import pytest

from controller.domain.chain import RawRecord
from fleet.store import CentralStore
from tests.support.bank import free_port, start_bank, stop_bank, write_config
from tests.support.central import (
    ACT,
    RunningCentre,
    bank_rows,
    enrol,
    fleet_section,
    make_events,
    operator_token,
    start_centre,
    stop,
    write_central_config,
)
from tests.support.cli import lockers
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def central_rows(pg_url: str, bank_id: str) -> list[RawRecord]:
    store = CentralStore.open(pg_url)
    try:
        return list(store.rows(bank_id))
    finally:
        store.close()


def central_counts(pg_url: str) -> dict[str, int]:
    store = CentralStore.open(pg_url)
    try:
        return store.event_counts()
    finally:
        store.close()


def caught_up(pg_url: str, bank_id: str, bank_dir: Path) -> bool:
    return [astuple(r) for r in central_rows(pg_url, bank_id)] == [astuple(r) for r in bank_rows(bank_dir)]


def setup_fleet(tmp_path: Path, pg_url: str, names: list[str], batch_events: int = 1000) -> tuple[Path, int, str]:
    port = free_port()
    config = write_central_config(tmp_path / "centre", pg_url, port)
    for name in names:
        (tmp_path / name).mkdir()
        enrol(config, name, write_config(tmp_path / name, fleet_section(name, port, batch_events)))
    return config, port, operator_token(config)


def test_two_banks_work_offline_then_the_centre_holds_every_event_once_in_order(tmp_path: Path, pg_url: str) -> None:
    config, port, token = setup_fleet(tmp_path, pg_url, ["bank-a", "bank-b"])
    extra = {name: fleet_section(name, port) for name in ("bank-a", "bank-b")}
    banks = {name: start_bank(tmp_path / name, "--simulate", extra=extra[name]) for name in extra}
    centre: RunningCentre | None = None
    try:
        make_events(banks["bank-a"], 250)  # the centre is down: the bank goes on, unblocked
        make_events(banks["bank-b"], 3)
        assert len(bank_rows(tmp_path / "bank-a")) >= 500
        centre = start_centre(tmp_path / "centre", config, port, token)
        for name in banks:
            wait_until(lambda name=name: caught_up(pg_url, name, tmp_path / name), 60, f"{name} never caught up")
        make_events(banks["bank-b"], 2)  # live events follow within a sync interval
        wait_until(lambda: caught_up(pg_url, "bank-b", tmp_path / "bank-b"), 30, "bank-b's new events never came")
        with centre.client() as fleet, httpx.Client(base_url=banks["bank-a"].url, headers=ACT) as bank_a:
            listed = wait_until(lambda: fleet.get("/fleet/banks").json()["banks"], 10)
            assert [(b["id"], b["online"], b["open_alarms"]) for b in listed] == [("bank-a", True, 0),
                                                                                  ("bank-b", True, 0)]
            assert listed[0]["events"] == len(bank_rows(tmp_path / "bank-a"))
            assert central_counts(pg_url) == {name: len(bank_rows(tmp_path / name)) for name in banks}
            assert fleet.get("/fleet/banks/bank-a/compartments").json() == bank_a.get("/compartments").json()
            assert fleet.get("/fleet/banks/nobody/compartments").status_code == 404
            assert httpx.get(f"{centre.url}/fleet/banks").status_code == 401
        audited = lockers("audit", "verify", "--central", "--config", str(config), "--json")
        report = json.loads(audited.stdout)
        assert (audited.returncode, report["ok"]) == (0, True), audited.stderr
        assert {name: r["events"] for name, r in report["banks"].items()} == central_counts(pg_url)
    finally:
        for bank in banks.values():
            stop_bank(bank)
        if centre is not None:
            stop(centre.process)


def test_sigkill_of_the_centre_and_of_the_bank_during_a_sync_loses_and_duplicates_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    config, port, token = setup_fleet(tmp_path, pg_url, ["bank-a"], batch_events=1)  # one event a batch: slow
    extra = fleet_section("bank-a", port, batch_events=1)
    bank = start_bank(tmp_path / "bank-a", "--simulate", extra=extra)
    centre: RunningCentre | None = None
    watcher = CentralStore.open(pg_url)
    try:
        make_events(bank, 200)
        total = len(bank_rows(tmp_path / "bank-a"))

        def head() -> int:
            return watcher.bank("bank-a").head.position

        centre = start_centre(tmp_path / "centre", config, port, token)
        wait_until(lambda: head() >= 20, 60, "the sync never started", interval=0.02)
        os.kill(centre.process.pid, signal.SIGKILL)
        centre.process.wait(timeout=10)
        killed_at = head()
        assert 20 <= killed_at < total, "the centre was not killed during the sync"

        centre = start_centre(tmp_path / "centre", config, port, token)
        wait_until(lambda: head() >= killed_at + 20, 60, "the sync never resumed", interval=0.02)
        os.kill(bank.process.pid, signal.SIGKILL)
        bank.process.wait(timeout=10)
        assert head() < total, "the bank was not killed during the sync"

        bank = start_bank(tmp_path / "bank-a", "--simulate", extra=extra)
        wait_until(lambda: caught_up(pg_url, "bank-a", tmp_path / "bank-a"), 90, "bank-a never caught up")
        assert watcher.event_counts() == {"bank-a": total}  # rows counted: none twice (the key forbids it too)
        with centre.client() as fleet:
            kinds = [alarm["kind"] for alarm in fleet.get("/fleet/alarms").json()["alarms"]]
            assert not {"fork", "gap", "chain", "hash", "checkpoint", "bad_signature"} & set(kinds), kinds
    finally:
        watcher.close()
        stop_bank(bank)
        if centre is not None:
            stop(centre.process)
