"""Alembic is the only way the schema changes: upgrade, check against the models, and the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String

from storage import migration
from storage.engine import parse_url
from storage.event_store import SqlEventStore
from storage.schema import bank, events, metadata
from tests.support.cli import lockers


def test_upgrade_is_idempotent_and_check_passes(sqlite_url: str) -> None:
    url = parse_url(sqlite_url)
    assert migration.upgrade(url) == migration.head_revision() == "0002"
    assert migration.upgrade(url) == "0002"
    assert migration.schema_problems(url) == []


@pytest.mark.postgres
def test_postgres_upgrade_and_check(pg_url: str) -> None:
    url = parse_url(pg_url)
    assert migration.upgrade(url) == "0002"
    assert migration.schema_problems(url) == []


def test_check_reports_models_that_drifted_from_the_migrations(sqlite_url: str) -> None:
    url = parse_url(sqlite_url)
    migration.upgrade(url)
    drifted = MetaData()
    events.to_metadata(drifted).append_column(Column("camera_id", String(32)))
    bank.to_metadata(drifted)
    problems = migration.schema_problems(url, drifted)
    assert len(problems) == 1
    assert "add_column" in problems[0] and "camera_id" in problems[0]
    assert migration.schema_problems(url, metadata) == []


def test_check_reports_a_missing_trigger(sqlite_url: str) -> None:
    url = parse_url(sqlite_url)
    migration.upgrade(url)
    with sqlite3.connect(url.database or "") as raw:
        raw.execute("DROP TRIGGER events_refuse_delete")
    assert migration.schema_problems(url) == ["append-only trigger events_refuse_delete is missing"]


def test_check_reports_a_database_behind_the_migrations(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "old.db").close()
    problems = migration.schema_problems(parse_url(f"sqlite:///{tmp_path}/old.db"))
    assert problems == ["database is at revision none, the migrations at 0002"]


def test_the_log_is_never_dropped_by_a_downgrade(sqlite_url: str) -> None:
    from alembic import command

    url = parse_url(sqlite_url)
    migration.upgrade(url)
    engine = SqlEventStore.from_url(sqlite_url)._engine
    with engine.connect() as connection, pytest.raises(RuntimeError, match="no migration drops it"):
        command.downgrade(migration.alembic_config(connection), "base")


def test_cli_upgrade_then_check(tmp_path: Path) -> None:
    missing = lockers("db", "check", data_dir=tmp_path)
    assert missing.returncode != 0
    assert missing.stderr.strip().splitlines() == [
        f"error: no database at {tmp_path}/lockers.db (run `lockers db upgrade` to create it)"
    ]
    upgraded = lockers("db", "upgrade", data_dir=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "at revision 0002" in upgraded.stdout
    checked = lockers("db", "check", "--json", data_dir=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout) == {
        "ok": True,
        "database": f"sqlite:///{tmp_path}/lockers.db",
        "revision": "0002",
        "problems": [],
    }


def test_cli_check_fails_on_a_tampered_schema(tmp_path: Path) -> None:
    assert lockers("db", "upgrade", data_dir=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "lockers.db") as raw:
        raw.execute("DROP TRIGGER events_refuse_update")
    result = lockers("db", "check", data_dir=tmp_path)
    assert result.returncode == 1
    assert "problem: append-only trigger events_refuse_update is missing" in result.stderr
    assert "does NOT match" in result.stdout


@pytest.mark.parametrize("url", ["nonsense", "oracle://x/y", "postgresql+psycopg://u:secret@127.0.0.1:1/db"])
def test_cli_errors_are_one_line_without_traceback(tmp_path: Path, url: str) -> None:
    result = lockers("db", "upgrade", "--db", url, data_dir=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "secret" not in result.stderr
