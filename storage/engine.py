"""Engines for the supported backends, with the settings the log depends on.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit survives power loss) and a busy
timeout. Store connections run in driver autocommit mode; the store issues ``BEGIN`` itself so
that SQLite writers take the write lock up front (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool

from storage.errors import DatabaseUnavailable, DatabaseUrlError

BUSY_TIMEOUT_MS: Final = 10_000
SUPPORTED: Final = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"
_DRIVERS: Final = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def parse_url(url: str) -> URL:
    """Validate ``url`` and pin the driver: PostgreSQL always goes through psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"not a database URL: {url!r} (expected {SUPPORTED})") from exc
    driver = _DRIVERS.get(parsed.drivername)
    shown = parsed.render_as_string(hide_password=True)
    if driver is None:
        raise DatabaseUrlError(f"unsupported database {parsed.drivername!r} in {shown!r} (expected {SUPPORTED})")
    if parsed.database in (None, "", ":memory:"):
        hint = " (for tests, use storage.memory.InMemoryEventStore)" if driver == "sqlite" else ""
        raise DatabaseUrlError(f"no database file or name in {shown!r}{hint}")
    return parsed.set(drivername=driver)


def anchored_url(url: str, folder: Path) -> str:
    """``url`` with a relative SQLite file made relative to ``folder`` (a configuration file's); others as given."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # refused, with its reason, where the log is opened
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(folder / Path(database).expanduser())).render_as_string(hide_password=False)


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def check_exists(url: URL, *, create: bool) -> None:
    """Refuse a SQLite file that is missing unless ``create``; then make its folder."""
    path = sqlite_path(url)
    if path is None:
        return
    if not create and not path.is_file():
        raise DatabaseUnavailable(f"no database at {path} (run `lockers db upgrade` to create it)")
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(f"cannot create the folder for {path}: {exc.strerror}") from exc


def open_engine(url: URL) -> Engine:
    """An engine whose connections are in driver autocommit mode, tuned for the event log."""
    engine = create_engine_or_explain(url)
    event.listen(engine, "connect", _on_connect_sqlite if url.get_backend_name() == "sqlite" else _on_connect_pg)
    return engine


def create_engine_or_explain(url: URL, **options: Any) -> Engine:
    """``sqlalchemy.create_engine``, with a missing driver (psycopg is an optional extra) as one clear error."""
    try:
        return create_engine(url, **options)
    except ImportError as exc:
        where = url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(
            f"cannot use database {where}: its driver is not installed ({exc}); "
            "for PostgreSQL: pip install 'lockers[postgres]'"
        ) from exc


def _on_connect_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _on_connect_pg(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.autocommit = True


@contextmanager
def unavailable_as_storage_error(url: URL) -> Iterator[None]:
    """Turn a failure to connect into ``DatabaseUnavailable`` naming the (password-free) URL."""
    try:
        yield
    except DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        where = url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot use database {where}: {detail}") from exc


@contextmanager
def raw_cursor(engine: Engine) -> Iterator[Any]:
    """A DB-API cursor on one of ``engine``'s connections, both closed after; a driver error drops the connection.

    After a driver error the connection's transaction state is unknown, so it is invalidated, never reused.
    """
    dbapi: Any = engine.dialect.dbapi
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
    except dbapi.Error:
        connection.invalidate()
        raise
    finally:
        connection.close()


def migration_engine(url: URL, *, write: bool) -> Engine:
    """A short-lived engine for Alembic: transactional DDL; on SQLite, writers lock up front."""
    engine = create_engine_or_explain(url, poolclass=NullPool)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _on_connect_sqlite)
        if write:
            event.listen(engine, "begin", _begin_immediate)
    return engine


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
