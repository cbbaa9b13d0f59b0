"""Backends for the tests of a SQL log: SQLite files in tmp_path, PostgreSQL in a fresh schema per test."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy.engine import make_url

PSYCOPG_MISSING = ""
try:
    import psycopg
except ImportError as exc:  # the optional [postgres] extra is absent: PostgreSQL cases skip, SQLite cases still run
    psycopg = None
    PSYCOPG_MISSING = f"PostgreSQL tests need the psycopg driver (pip install -e '.[postgres]'): {exc}"

PG_ENV = "LOCKERS_TEST_POSTGRES_URL"
# What a raw driver raises when the database refuses a statement; psycopg's only where it is installed.
DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError,) + ((psycopg.Error,) if psycopg else ())


def psycopg_driver() -> ModuleType:
    """The psycopg module; skips the test when the driver is not installed."""
    if psycopg is None:
        pytest.skip(PSYCOPG_MISSING)
    return psycopg


def postgres_base_url() -> str:
    """The server named by ``LOCKERS_TEST_POSTGRES_URL``; skips when it is not set or psycopg is missing."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}, e.g. postgresql+psycopg://lockers:lockers@127.0.0.1/lockers_test")
    psycopg_driver()
    return url


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose ``search_path`` is a brand-new schema, dropped after the test."""
    base = postgres_base_url()
    driver = psycopg_driver()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with driver.connect(_libpq_dsn(base), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with driver.connect(_libpq_dsn(base), autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path}/events.db"
