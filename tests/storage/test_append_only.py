"""The database refuses UPDATE and DELETE on the log; a change made behind its back breaks the chain."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing

import pytest
from sqlalchemy.engine import make_url

from storage.event_store import SqlEventStore
from tests.support.databases import DRIVER_ERRORS, psycopg_driver
from tests.support.events import first_bad_position, flow

Execute = Callable[[str], None]


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    assert database
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[str, SqlEventStore, Execute]]:
    """A store with 12 events, and a way to run raw SQL on its database outside the store."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    store = SqlEventStore.from_url(url)
    for cid in "123":
        store.append(cid, 0, flow(cid, 0, 4))
    if request.param == "sqlite":
        with closing(sqlite3.connect(_sqlite_path(url), isolation_level=None)) as raw:
            yield request.param, store, lambda sql: raw.execute(sql) and None
    else:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg_driver().connect(dsn, autocommit=True) as raw:
            yield request.param, store, lambda sql: raw.execute(sql) and None  # type: ignore[arg-type]
    store.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET payload = '{}' WHERE position = 5",
        "UPDATE events SET event_hash = previous_hash",
        "DELETE FROM events WHERE position = 12",
        "DELETE FROM events",
    ],
)
def test_database_refuses_changes_to_the_log(backend: tuple[str, SqlEventStore, Execute], statement: str) -> None:
    _, store, execute = backend
    before = list(store.read_raw())
    with pytest.raises(DRIVER_ERRORS, match="append-only"):
        execute(statement)
    assert list(store.read_raw()) == before


@pytest.mark.postgres
def test_postgres_refuses_truncate(pg_url: str) -> None:
    store = SqlEventStore.from_url(pg_url)
    store.append("1", 0, flow("1", 0, 2))
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    driver = psycopg_driver()
    with driver.connect(dsn, autocommit=True) as raw, pytest.raises(driver.Error, match="TRUNCATE refused"):
        raw.execute("TRUNCATE events")
    assert len(list(store.read_raw())) == 2
    store.close()


def test_tampering_behind_the_triggers_breaks_the_chain_at_that_row(
    backend: tuple[str, SqlEventStore, Execute],
) -> None:
    dialect, store, execute = backend
    assert first_bad_position(store.read_raw()) is None
    if dialect == "sqlite":
        execute("DROP TRIGGER events_refuse_update")
    else:
        execute("ALTER TABLE events DISABLE TRIGGER events_refuse_update")
    execute("""UPDATE events SET payload = '{"distance":0.01,"model_version":"m1","threshold":0.6}'
               WHERE position = 7""")
    assert first_bad_position(store.read_raw()) == 7


def test_deleting_a_row_behind_the_triggers_breaks_the_chain_at_the_next_row(
    backend: tuple[str, SqlEventStore, Execute],
) -> None:
    dialect, store, execute = backend
    if dialect == "sqlite":
        execute("DROP TRIGGER events_refuse_delete")
    else:
        execute("ALTER TABLE events DISABLE TRIGGER events_refuse_delete")
    execute("DELETE FROM events WHERE position = 5")
    assert first_bad_position(store.read_raw()) == 6
