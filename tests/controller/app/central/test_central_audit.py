"""``lockers audit verify --central`` checks each bank's copy and names the bank and its first bad position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from controller.app.audit.keys import sign
from controller.app.central.keys import load_fleet_signer
from controller.app.config.loader import load_config
from controller.service.anchors import ChainHead
from fleet.store import CentralStore, Claim
from tests.support.central import chain, enrol, write_central_config
from tests.support.cli import lockers
from tests.support.databases import psycopg_driver

pytestmark = pytest.mark.postgres


def fill(pg_url: str, bank_id: str, bank_config: Path, count: int) -> None:
    """``count`` events of ``bank_id`` at the centre, with its signed checkpoint, as a sync leaves them."""
    rows, head = chain(count), ChainHead()
    for row in rows:
        head.take(row.position, row.compartment_id, row.version, row.event_hash)
    checkpoint = sign(head.checkpoint("2026-12-06T00:00:00+00:00"), load_fleet_signer(load_config(bank_config)))
    store = CentralStore.open(pg_url)
    try:
        claim = Claim(head.position, head.head_hash, head.events, head.log_id, checkpoint.to_line())
        store.ingest(bank_id, 0, rows, claim)
    finally:
        store.close()


def write_bank(folder: Path) -> Path:
    folder.mkdir()
    (folder / "bank.toml").write_text(f'[bank]\ndata_dir = "{folder}"\n')
    return folder / "bank.toml"


def verify(config: Path) -> tuple[int, dict[str, object]]:
    done = lockers("audit", "verify", "--central", "--config", str(config), "--json")
    return done.returncode, json.loads(done.stdout)


def test_the_central_audit_names_the_bank_and_the_first_bad_position(tmp_path: Path, pg_url: str) -> None:
    config = write_central_config(tmp_path / "centre", pg_url, 1)
    for name in ("bank-a", "bank-b"):
        bank_config = write_bank(tmp_path / name)
        enrol(config, name, bank_config)
        fill(pg_url, name, bank_config, 6)
    other = lockers("keys", "fleet", "--config", str(write_bank(tmp_path / "impostor")), "--json")
    again = lockers("central", "banks", "add", "bank-a", "--public-key", json.loads(other.stdout)["public_key"],
                    "--config", str(config))
    assert again.returncode == 2 and "enrolled with another public key" in again.stderr  # pinned, never re-keyed
    code, document = verify(config)
    assert (code, document["ok"]) == (0, True)
    assert {name: (r["ok"], r["events"]) for name, r in document["banks"].items()} == {  # type: ignore[attr-defined]
        "bank-a": (True, 6), "bank-b": (True, 6)}

    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    driver = psycopg_driver()
    with driver.connect(dsn, autocommit=True) as db:
        for statement in ("UPDATE central_events SET payload = '{}'", "DELETE FROM central_events",
                          "TRUNCATE central_events"):
            with pytest.raises(driver.Error, match="append-only"):
                db.execute(statement)
    with driver.connect(dsn, autocommit=True) as db:  # an intruder who owns the database
        db.execute("ALTER TABLE central_events DISABLE TRIGGER central_events_refuse_update")
        db.execute("UPDATE central_events SET payload = replace(payload, 'op', 'mallory')"
                   " WHERE bank_id = 'bank-b' AND position = 4")
    code, document = verify(config)
    banks = document["banks"]
    assert (code, document["ok"]) == (1, False)
    assert banks["bank-a"]["ok"] is True  # type: ignore[index]
    assert (banks["bank-b"]["ok"], banks["bank-b"]["first_bad_position"]) == (False, 4)  # type: ignore[index]
