"""Operators limited to some banks at the centre, and a bank's recent events from the copy, on a real PostgreSQL.

The centre's app is built in-process over a real ``CentralStore``; accounts are made with the real CLI
(``lockers operators add NAME --banks A,B --config central.toml``) in the centre's data dir.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from controller.app.central.server import create_central_app
from controller.app.config.loader import load_config
from controller.service.anchors import ChainHead
from fleet.store import CentralStore, Claim
from tests.support.central import chain, write_central_config
from tests.support.cli import lockers

pytestmark = pytest.mark.postgres
PASSWORD = "a long fleet password"


def account(config: Path, name: str, *options: str) -> str:
    """A new account made by the CLI, and an API token of it."""
    added = lockers("operators", "add", name, "--password-stdin", *options, "--config", str(config),
                    stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    issued = lockers("operators", "token", name, "--config", str(config))
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


def bearer(config: Path, name: str, *options: str) -> dict[str, str]:
    """The headers of a new account's API token."""
    return {"Authorization": f"Bearer {account(config, name, *options)}"}


@pytest.fixture
def centre(tmp_path: Path, pg_url: str) -> Iterator[tuple[TestClient, CentralStore, Path]]:
    config = write_central_config(tmp_path / "centre", pg_url, 1)  # never served: in-process
    store = CentralStore.open(pg_url)
    for bank_id in ("bank-a", "bank-b"):
        store.enrol(bank_id, f"PEM {bank_id}", bank_id)
        store.raise_alarm(bank_id, "offline", f"{bank_id} went quiet")
    rows, head = chain(6, note="hinge"), ChainHead()
    for row in rows:
        head.take(row.position, row.compartment_id, row.version, row.event_hash)
    # The store checks the claim against the rows; its signature is the sync desk's to check (not used here).
    store.ingest("bank-a", 0, rows, Claim(head.position, head.head_hash, head.events, head.log_id, "unsigned"))
    try:
        with TestClient(create_central_app(store, load_config(config))) as client:
            yield client, store, config
    finally:
        store.close()


def test_an_operator_limited_to_a_bank_sees_and_acts_on_that_bank_only(
    centre: tuple[TestClient, CentralStore, Path],
) -> None:
    client, store, config = centre
    alice = bearer(config, "alice", "--banks", "bank-a")
    everyone = bearer(config, "bob")
    listed = json.loads(lockers("operators", "list", "--json", "--config", str(config)).stdout)["operators"]
    assert listed == [{"name": "alice", "role": "operator", "banks": ["bank-a"]}, {"name": "bob", "role": "operator"}]

    assert [b["id"] for b in client.get("/fleet/banks", headers=alice).json()["banks"]] == ["bank-a"]
    assert [b["id"] for b in client.get("/fleet/banks", headers=everyone).json()["banks"]] == ["bank-a", "bank-b"]
    assert {a["bank_id"] for a in client.get("/fleet/alarms", headers=alice).json()["alarms"]} == {"bank-a"}
    alarm_of = {a["bank_id"]: a["id"] for a in store.open_alarms()}
    for path in ("/fleet/banks/bank-b/compartments", "/fleet/banks/bank-b/events", "/fleet/banks/bank-b/commands"):
        assert client.get(path, headers=alice).status_code == 403, path
        assert client.get(path, headers=everyone).status_code == 200, path
    command = {"action": "clear_alarm", "compartment_id": "1", "note": "checked"}
    assert client.post("/fleet/banks/bank-b/commands", json=command, headers=alice).status_code == 403
    assert client.post(f"/fleet/alarms/{alarm_of['bank-b']}/clear", headers=alice).status_code == 403
    assert client.post("/fleet/banks/bank-a/commands", json=command, headers=alice).status_code == 201
    assert client.post(f"/fleet/alarms/{alarm_of['bank-a']}/clear", json={"note": "power back"},
                       headers=alice).json() == {"id": alarm_of["bank-a"], "cleared_by": "alice"}

    widened = lockers("operators", "banks", "alice", "--config", str(config))  # no --banks: every bank again
    assert widened.returncode == 0 and "every bank" in widened.stdout
    assert len(client.get("/fleet/banks", headers=alice).json()["banks"]) == 2


def test_a_cleared_fleet_alarm_shows_who_cleared_it_when_and_the_note_typed(
    centre: tuple[TestClient, CentralStore, Path],
) -> None:
    client, store, config = centre
    alice = bearer(config, "alice", "--banks", "bank-a")
    auditor = bearer(config, "carol", "--role", "auditor")
    alarm_of = {a["bank_id"]: a["id"] for a in store.open_alarms()}
    assert client.get(f"/fleet/alarms/{alarm_of['bank-a']}", headers=alice).json()["cleared_at"] is None
    assert client.post(f"/fleet/alarms/{alarm_of['bank-a']}/clear", json={"note": "power back"},
                       headers=alice).status_code == 200

    shown = client.get(f"/fleet/alarms/{alarm_of['bank-a']}", headers=auditor).json()
    assert (shown["source"], shown["bank_id"], shown["kind"]) == ("fleet", "bank-a", "offline")
    assert (shown["cleared_by"], shown["cleared_note"]) == ("alice", "power back")
    assert shown["cleared_at"] >= shown["raised_at"]
    listed = client.get("/fleet/alarms", headers=auditor).json()
    assert [a["bank_id"] for a in listed["alarms"]] == ["bank-b"] and listed["cleared"] == [shown]
    assert client.get("/fleet/alarms", headers=alice).json() == {"alarms": [], "cleared": [shown]}
    assert client.get(f"/fleet/alarms/{alarm_of['bank-b']}", headers=alice).status_code == 403
    assert client.get("/fleet/alarms/999999", headers=auditor).status_code == 404


def test_a_banks_recent_events_come_from_the_copy_newest_last_in_the_banks_own_words(
    centre: tuple[TestClient, CentralStore, Path],
) -> None:
    client, _, config = centre
    reader = bearer(config, "carol", "--role", "auditor")
    recent = client.get("/fleet/banks/bank-a/events?limit=3", headers=reader).json()
    assert [(e["position"], e["type"]) for e in recent["events"]] == [
        (4, "AlarmCleared"), (5, "AlarmRaised"), (6, "AlarmCleared")]
    assert recent["events"][1]["payload"]["reason"] == "out_of_service"
    assert recent["events"][1]["payload"]["detail"] == "hinge"
    assert client.get("/fleet/banks/bank-a/events?compartment_id=2", headers=reader).json()["events"] == []
    assert client.get("/fleet/banks/nobody/events", headers=reader).status_code == 404
    assert client.get("/fleet/banks/bank-a/events").status_code == 401
    assert client.get("/fleet/banks/bank-a/events?limit=0", headers=reader).status_code == 422


def test_the_console_page_is_served_at_the_centre_under_the_banks_guard(
    centre: tuple[TestClient, CentralStore, Path],
) -> None:
    client, _, _ = centre
    for path in ("/", "/fleet", "/operator?lang=en"):
        served = client.get(path)
        assert served.status_code == 200 and '<script src="/assets/fleet.js">' in served.text, path
        assert "script-src 'self'" in served.headers["content-security-policy"]
        assert "<!-- include" not in served.text  # the shared parts are in the page as served
        assert '<meta charset="utf-8">' in served.text and 'data-testid="lang-ko"' in served.text
        assert 'data-testid="confirm"' in served.text
    assert '<html lang="en"' in client.get("/?lang=en").text
    assert client.get("/assets/console-common.js").status_code == 200
    assert client.get("/assets/fleet.html").status_code == 404  # pages only at their routes
    assert client.get("/operator/session").status_code == 401
