"""Commands from the centre: signed, pulled by a real bank, run once although delivered three times; expired refused.

A real ``lockers central run`` and a real ``lockers run --simulate`` bank that pinned the centre's key. A
command is delivered again when the centre has no outcome for it: the test erases the recorded outcome twice
(as a restored centre would have lost it), and the bank answers from its ledger without running it again.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.bank import free_port, start_bank, stop_bank, write_config
from tests.support.central import (
    ACT,
    RunningCentre,
    bank_rows,
    enrol,
    fleet_section,
    operator_token,
    start_centre,
    stop,
    write_central_config,
)
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def command(client: httpx.Client, command_id: str) -> dict[str, object]:
    [found] = [c for c in client.get("/fleet/banks/bank-a/commands").json()["commands"] if c["id"] == command_id]
    return found


def settled(client: httpx.Client, command_id: str, delivered: int = 1) -> dict[str, object] | None:
    found = command(client, command_id)
    return found if found["outcome"] and int(str(found["delivered"])) >= delivered else None


def test_a_command_runs_once_though_delivered_three_times_and_an_expired_one_never(
    tmp_path: Path, pg_url: str
) -> None:
    port = free_port()
    config = write_central_config(tmp_path / "centre", pg_url, port)
    (tmp_path / "bank-a").mkdir()
    token = operator_token(config)
    centre: RunningCentre = start_centre(tmp_path / "centre", config, port, token)
    extra = fleet_section("bank-a", port) + f'central_public_key = "{tmp_path / "centre" / "central.key.pub"}"\n'
    enrol(config, "bank-a", write_config(tmp_path / "bank-a", extra))
    bank = None
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with centre.client() as fleet:
            stale = fleet.post("/fleet/banks/bank-a/commands",
                               json={"action": "out_of_service", "compartment_id": "3", "expires_in_s": 1})
            assert stale.status_code == 201, stale.text
            time.sleep(1.5)  # the bank is not running yet: it pulls the command after its expiry
            bank = start_bank(tmp_path / "bank-a", "--simulate", extra=extra)
            expired = wait_until(lambda: settled(fleet, stale.json()["id"]), 30, "the expired command got no outcome")
            assert expired["outcome"] == "expired"

            sent = fleet.post("/fleet/banks/bank-a/commands", json={"action": "out_of_service", "compartment_id": "2",
                                                                     "note": "wet floor"})
            command_id = sent.json()["id"]
            assert wait_until(lambda: settled(fleet, command_id), 30, "no outcome")["outcome"] == "done"
            for delivery in (2, 3):  # the centre lost the outcome: it delivers the command again
                with psycopg.connect(dsn, autocommit=True) as db:
                    db.execute("UPDATE fleet_commands SET outcome = NULL WHERE id = %s", (command_id,))
                again = wait_until(lambda d=delivery: settled(fleet, command_id, d), 30, "not delivered again")
                assert again["outcome"] == "done"
            assert command(fleet, command_id)["delivered"] == 3
            assert fleet.post("/fleet/banks/nobody/commands",
                              json={"action": "clear_alarm", "compartment_id": "1"}).status_code == 404
        ran = [row for row in bank_rows(tmp_path / "bank-a") if "central:fleetop" in row.payload_json]
        assert [(row.compartment_id, row.event_type) for row in ran] == [("2", "AlarmRaised")]
        assert "wet floor" in ran[0].payload_json
        with httpx.Client(base_url=bank.url, headers=ACT) as local:
            states = {c["id"]: c["state"] for c in local.get("/compartments").json()["compartments"]}
        assert (states["2"], states["3"]) == ("alarm", "free")
    finally:
        if bank is not None:
            stop_bank(bank)
        stop(centre.process)
