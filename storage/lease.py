"""One writer per log: the lease a controller holds on its event log while it runs.

SQLite: an exclusive ``fcntl.flock`` on ``<database>.lock`` beside the database file, which holds the
holder's host, pid and start time as JSON. PostgreSQL: a session-level advisory lock on a connection
kept open for the lease's lifetime, whose ``application_name`` names the holder. The operating system
or the server drops either when the holder dies, so a crashed controller never blocks its successor.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

from storage.engine import create_engine_or_explain, parse_url, sqlite_path, unavailable_as_storage_error
from storage.errors import StorageError

ADVISORY_KEY: Final = 0x4C4F434B  # "LOCK": one lease per PostgreSQL database
_HOLDER_SQL: Final = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :key "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class LeaseHeld(StorageError):
    """Another controller holds the log: the message names it (host, pid, since)."""


def holder_description() -> dict[str, Any]:
    """Who this process is, as the lease records it."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(UTC).isoformat()}


def _describe(holder: dict[str, Any] | str) -> str:
    if isinstance(holder, str):
        return holder or "an unknown process"
    return f"host {holder.get('host')}, pid {holder.get('pid')}, since {holder.get('since')}"


class Lease:
    """A held lease; ``release`` gives it up (also on process exit, by the OS or the server)."""

    def __init__(self, where: str, release: Any) -> None:
        self.where = where
        self._release = release

    def release(self) -> None:
        """Give the lease up; calling it twice is harmless."""
        if self._release is not None:
            self._release()
            self._release = None


def acquire_lease(url: str) -> Lease:
    """Take the writer's lease on the log at ``url``; raise ``LeaseHeld`` naming the holder when taken."""
    parsed = parse_url(url)
    path = sqlite_path(parsed)
    return _sqlite_lease(path) if path is not None else _postgres_lease(parsed)


def lock_file_of(database: Path) -> Path:
    """The lock file beside a SQLite database."""
    return database.with_name(database.name + ".lock")


def read_holder(database: Path) -> dict[str, Any] | None:
    """Who holds the SQLite log's lease now, or None when nobody does (read-only commands ask this)."""
    lock_file = lock_file_of(database)
    if not lock_file.exists():
        return None
    with lock_file.open("r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _parse_holder(lock_file.read_text())
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _parse_holder(raw: str) -> dict[str, Any]:
    try:
        holder = json.loads(raw)
    except json.JSONDecodeError:
        return {"host": "?", "pid": "?", "since": "?"}
    return holder if isinstance(holder, dict) else {}


def _sqlite_lease(database: Path) -> Lease:
    database.parent.mkdir(parents=True, exist_ok=True)
    lock_file = lock_file_of(database)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = _parse_holder(lock_file.read_text())
        raise LeaseHeld(f"the log {database} is held by another controller ({_describe(holder)})") from None
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(holder_description()).encode())
    os.fsync(fd)

    def release() -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return Lease(str(lock_file), release)


def _postgres_lease(url: URL) -> Lease:
    engine = create_engine_or_explain(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    shown = url.render_as_string(hide_password=True)
    with unavailable_as_storage_error(url):
        connection: Connection = engine.connect()
    holder = holder_description()
    name = f"lockers host={holder['host']} pid={holder['pid']} since={holder['since']}"
    connection.execute(text("SELECT set_config('application_name', :name, false)"), {"name": name[:63]})
    if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar():
        found = connection.execute(_HOLDER_SQL, {"key": ADVISORY_KEY}).scalar()
        connection.close()
        engine.dispose()
        raise LeaseHeld(f"the log {shown} is held by another controller ({_describe(str(found or ''))})")

    def release() -> None:
        connection.close()  # closing the session releases its advisory locks
        engine.dispose()

    return Lease(shown, release)
