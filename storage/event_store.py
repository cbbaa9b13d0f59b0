"""The SQL event store: SQLite (embedded default) and PostgreSQL through the same code.

Appends are serialised so that the hash chain never forks: SQLite writers start with
``BEGIN IMMEDIATE``; PostgreSQL writers take a transaction-level advisory lock. Holding that lock
until commit also means positions become visible in order, so ``read_all(after=...)`` never skips
a late commit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import starmap
from typing import Any

from sqlalchemy.engine import URL, Engine

from controller.domain.chain import GENESIS_HASH, RawRecord
from controller.domain.events import Event
from controller.ports import StoredEvent
from storage import migration
from storage.batch import encode_batch, link
from storage.engine import check_exists, open_engine, parse_url, raw_cursor, unavailable_as_storage_error
from storage.errors import DatabaseUnavailable, StorageError, VersionConflict
from storage.serialization import DECODED, EventSerializer
from storage.statements import INSERTED_FIELDS, Statement, Statements

Row = tuple[Any, ...]  # a selected row: ``RawRecord``'s fields in order


class SqlEventStore:
    """Append-only, hash-chained log in one ``events`` table, read and written through DBAPI cursors.

    Build it with ``from_url``; a hand-made engine must come from ``storage.engine.open_engine``
    (driver autocommit, so that the store's own ``BEGIN`` opens every write transaction).
    """

    def __init__(self, engine: Engine, serializer: EventSerializer | None = None, page_size: int = 10_000) -> None:
        self._engine = engine
        self._serializer = serializer or EventSerializer()
        self._page_size = page_size
        self._sql = Statements.for_dialect(engine.dialect)
        self._dbapi: Any = engine.dialect.dbapi

    @classmethod
    def from_url(cls, url: str, *, create: bool = True, serializer: EventSerializer | None = None) -> SqlEventStore:
        """Open the log at ``url``; with ``create`` make and migrate it, else require it at the newest schema."""
        parsed = parse_url(url)
        check_exists(parsed, create=create)
        if create:
            migration.upgrade(parsed)
        else:
            migration.require_current(parsed)
        return cls(open_engine(parsed), serializer)

    @property
    def url(self) -> URL:
        """Where the log lives."""
        return self._engine.url

    def append(self, compartment_id: str, expected_version: int, events: Sequence[Event]) -> list[StoredEvent]:
        """Append atomically; raise ``VersionConflict`` when the stream is not at ``expected_version``."""
        encoded = encode_batch(self._serializer, compartment_id, expected_version, events)
        if not encoded:
            return []
        with self._transaction() as cursor:
            actual = self._scalar(cursor, self._sql.stream_version, {"compartment_id": compartment_id})
            if actual != expected_version:
                raise VersionConflict(compartment_id, expected_version, actual)
            head = self._scalar(cursor, self._sql.head, {})
            rows = link(head or GENESIS_HASH, encoded)
            positions = [self._insert(cursor, row) for row in rows]
        return [
            StoredEvent(position, event, row.event_hash, row.previous_hash)
            for position, event, row in zip(positions, events, rows, strict=True)
        ]

    def read_stream(self, compartment_id: str) -> list[Event]:
        """Every event of one compartment, in version order."""
        rows = self._fetch(self._sql.stream, {"compartment_id": compartment_id})
        decode = self._serializer.decode_fields
        return [decode(*row[DECODED]) for row in rows]

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Every event after global position ``after``, in position order, decoded page by page."""
        decode = self._serializer.decode_fields
        for page in self._pages(after, limit):
            for row in page:
                yield StoredEvent(row[0], decode(*row[DECODED]), row[-2], row[-1])

    def read_raw(self, after: int = 0) -> Iterator[RawRecord]:
        """Every row as stored, undecoded, in position order."""
        for page in self._pages(after, None):
            yield from starmap(RawRecord, page)

    def stream_ids(self) -> list[str]:
        """The ids of every compartment that has events, sorted."""
        return [row[0] for row in self._fetch(self._sql.stream_ids, {})]

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def _pages(self, after: int, limit: int | None) -> Iterator[list[Row]]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = self._page_size if remaining is None else min(remaining, self._page_size)
            page = self._fetch(self._sql.page, {"after": after, "limit": size})
            if not page:
                return
            yield page
            if len(page) < size:
                return
            after = page[-1][0]
            remaining = None if remaining is None else remaining - len(page)

    def _insert(self, cursor: Any, row: RawRecord) -> int:
        values = {name: getattr(row, name) for name in INSERTED_FIELDS}
        try:
            position: int = self._scalar(cursor, self._sql.insert, values)
        except self._dbapi.IntegrityError as exc:
            raise VersionConflict(row.compartment_id, row.version - 1, None) from exc
        return position

    @staticmethod
    def _scalar(cursor: Any, statement: Statement, values: Mapping[str, Any]) -> Any:
        cursor.execute(statement.sql, statement.params(values))
        row = cursor.fetchone()
        return None if row is None else row[0]

    def _fetch(self, statement: Statement, values: Mapping[str, Any]) -> list[Row]:
        with self._cursor() as cursor:
            cursor.execute(statement.sql, statement.params(values))
            return list(cursor.fetchall())

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._cursor() as cursor:
            for sql in self._sql.begin_write:
                cursor.execute(sql)
            try:
                yield cursor
                cursor.execute("COMMIT")
            except BaseException:
                # SQLite rolls back by itself when a commit fails (a full disk); the first error is the one to tell.
                with contextlib.suppress(self._dbapi.Error):
                    cursor.execute("ROLLBACK")
                raise

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._driver_errors(), raw_cursor(self._engine) as cursor:
            yield cursor

    @contextmanager
    def _driver_errors(self) -> Iterator[None]:
        """The adapter's one error boundary: driver exceptions become ``StorageError``s."""
        with unavailable_as_storage_error(self._engine.url):
            try:
                yield
            except self._dbapi.OperationalError as exc:
                raise DatabaseUnavailable(f"database {self._where}: {_first_line(exc)}") from exc
            except self._dbapi.Error as exc:
                raise StorageError(f"database {self._where}: {_first_line(exc)}") from exc

    @property
    def _where(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
