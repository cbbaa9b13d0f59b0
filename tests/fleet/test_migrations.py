"""The centre's schema changes by Alembic only: each revision upgrades a database already holding fleet alarms.

Real PostgreSQL (``LOCKERS_TEST_POSTGRES_URL``), a schema of its own per test.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from fleet import migration
from fleet.schema import alarms
from fleet.store import CentralStore
from storage.engine import create_engine_or_explain, parse_url

pytestmark = pytest.mark.postgres


def test_the_newest_revision_matches_the_schema(pg_url: str) -> None:
    url = parse_url(pg_url)
    assert migration.upgrade(url) == migration.head_revision() == "c0004"
    assert migration.upgrade(url) == "c0004"  # nothing left to do
    assert migration.schema_differences(url) == []


def test_an_alarm_stored_at_c0002_is_kept_and_its_clear_note_stored_after_the_upgrade(pg_url: str) -> None:
    url = parse_url(pg_url)
    assert migration.upgrade(url, "c0002") == "c0002"
    engine = create_engine_or_explain(url)
    with engine.begin() as db:  # the table as c0002 left it: no note column yet
        db.exec_driver_sql("INSERT INTO fleet_alarms (bank_id, kind, detail, raised_at) "
                           "VALUES ('bank-a', 'offline', 'no heartbeat since then', '2026-12-01T00:00:00+00:00')")
    engine.dispose()

    store = CentralStore.open(pg_url)  # upgrades to the newest revision
    try:
        [before] = store.open_alarms()
        assert (before["bank_id"], before["kind"], before["cleared_note"]) == ("bank-a", "offline", None)
        assert (before["detail"], before["detail_code"]) == ("no heartbeat since then", None)  # c0004: no code
        assert store.clear_alarm(before["id"], "fleetop", "power restored on site")
        cleared = store.alarm(before["id"])
        assert cleared is not None and cleared["cleared_by"] == "fleetop"
        assert cleared["cleared_note"] == "power restored on site" and cleared["cleared_at"] is not None
        assert store.cleared_alarms() == [cleared] and store.open_alarms() == []
        assert not store.clear_alarm(before["id"], "other", "again")  # cleared once: the first note stays
        with store.engine.begin() as db:
            assert db.execute(select(alarms.c.cleared_note)).scalar_one() == "power restored on site"
    finally:
        store.close()


def test_cleared_alarms_are_listed_newest_clear_first(pg_url: str) -> None:
    store = CentralStore.open(pg_url)
    try:
        with store.engine.begin() as db:
            for bank in ("bank-a", "bank-b", "bank-c"):
                db.execute(insert(alarms).values(bank_id=bank, kind="offline", detail="-", raised_at="t"))
        first, second, _open = (alarm["id"] for alarm in store.open_alarms())
        store.clear_alarm(second, "ann", "first clear")
        store.clear_alarm(first, "bob", "")
        listed = [(a["bank_id"], a["cleared_by"], a["cleared_note"]) for a in store.cleared_alarms()]
        assert listed == [("bank-a", "bob", ""), ("bank-b", "ann", "first clear")]
        assert store.cleared_alarms(limit=1)[0]["cleared_by"] == "bob"
    finally:
        store.close()
