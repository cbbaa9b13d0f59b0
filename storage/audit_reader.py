"""Read-only queries for audits and anchors: streams by shard, chain links checked in SQL, chain heads.

``audit verify`` spreads over processes by stream: each worker reads only its own compartments' rows, and
the link of every row to the row before it (``previous_hash`` equals the hash of the previous position) is
checked by the database in one window query per position range, so no worker reads rows it does not replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import starmap
from typing import Any, Final

from sqlalchemy.engine import Engine

from controller.domain.chain import GENESIS_HASH, RawRecord
from storage.engine import check_exists, open_engine, parse_url, raw_cursor, unavailable_as_storage_error
from storage.errors import DatabaseUnavailable
from storage.schema import RAW_COLUMNS

COLUMNS: Final = ", ".join(column.name for column in RAW_COLUMNS)
"""The log row's columns, in ``RawRecord`` field order, for hand-written SELECTs."""
PAGE: Final = 20_000

# Rows in (lo, hi] whose previous_hash differs from the hash at position - 1, or that have no row at
# position - 1 (the first row, or a gap left by a rolled-back PostgreSQL sequence value): a join on the
# primary key costs a tenth of a window function over the same rows.
_SUSPECT_LINKS: Final = (
    "SELECT e.position, e.previous_hash, p.event_hash FROM events e LEFT JOIN events p ON p.position = e.position - 1"
    " WHERE e.position > ? AND e.position <= ? AND (p.position IS NULL OR e.previous_hash <> p.event_hash)"
    " ORDER BY e.position LIMIT ?"
)
_HASH_BEFORE: Final = "SELECT event_hash FROM events WHERE position < ? ORDER BY position DESC LIMIT 1"


class AuditReader:
    """One read-only connection to a log, with the queries audits and checkpoints need."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._qmark = engine.dialect.name == "sqlite"

    @classmethod
    def from_url(cls, url: str) -> AuditReader:
        """Open the existing log at ``url`` (never creates one)."""
        parsed = parse_url(url)
        check_exists(parsed, create=False)
        return cls(open_engine(parsed))

    def close(self) -> None:
        """Close the connections."""
        self._engine.dispose()

    def stream_sizes(self) -> dict[str, int]:
        """Every compartment id with events, and how many rows it has."""
        return dict(self._all("SELECT compartment_id, COUNT(*) FROM events GROUP BY compartment_id"))

    def read_streams(self, compartment_ids: Sequence[str]) -> Iterator[RawRecord]:
        """The rows of ``compartment_ids``, stream by stream in version order, a page at a time."""
        sql = (
            f"SELECT {COLUMNS} FROM events WHERE compartment_id = ? AND version > ?"  # noqa: S608
            " ORDER BY version LIMIT ?"
        )
        for cid in compartment_ids:
            after = -(1 << 62)
            while True:
                page = self._all(sql, (cid, after, PAGE))
                yield from starmap(RawRecord, page)
                if len(page) < PAGE:
                    break
                after = page[-1][2]

    def read_after(self, position: int) -> Iterator[RawRecord]:
        """Every row after ``position``, in position order, a page at a time."""
        sql = f"SELECT {COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"  # noqa: S608
        while True:
            page = self._all(sql, (position, PAGE))
            yield from starmap(RawRecord, page)
            if len(page) < PAGE:
                return
            position = page[-1][0]

    def position_bounds(self) -> tuple[int, int, int]:
        """(lowest position, highest position, row count); zeros for an empty log."""
        low, high, count = self._all("SELECT MIN(position), MAX(position), COUNT(*) FROM events")[0]
        return (low or 0, high or 0, count or 0)

    def chain_breaks(self, low: int, high: int, limit: int = 100) -> list[int]:
        """Positions in (low, high] whose ``previous_hash`` is not the hash of the row before them."""
        broken = []
        for position, previous_hash, prior in self._all(_SUSPECT_LINKS, (low, high, 100 * limit)):
            if prior is None:  # no row at position - 1: compare with the nearest row before it
                before = self._all(_HASH_BEFORE, (position,))
                prior = before[0][0] if before else GENESIS_HASH
            if previous_hash != prior:
                broken.append(int(position))
        return broken[:limit]

    def hashes_at(self, positions: Iterable[int]) -> dict[int, str]:
        """The event hash stored at each of ``positions`` that exists."""
        found: dict[int, str] = {}
        wanted = sorted(set(positions))
        for offset in range(0, len(wanted), 500):
            chunk = wanted[offset : offset + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT position, event_hash FROM events WHERE position IN ({marks})"  # noqa: S608
            found.update((int(p), h) for p, h in self._all(sql, chunk))
        return found

    def stream_heads(self) -> dict[str, tuple[int, str]]:
        """Each compartment's last version and that event's hash."""
        sql = (
            "SELECT e.compartment_id, e.version, e.event_hash FROM events e JOIN (SELECT compartment_id,"
            " MAX(version) AS version FROM events GROUP BY compartment_id) h"
            " ON e.compartment_id = h.compartment_id AND e.version = h.version"
        )
        return {cid: (int(version), digest) for cid, version, digest in self._all(sql)}

    def stream_hashes(self, wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The hash of each (compartment, version) in ``wanted`` that exists."""
        sql = "SELECT event_hash FROM events WHERE compartment_id = ? AND version = ?"
        found = {}
        for cid, version in wanted:
            rows = self._all(sql, (cid, version))
            if rows:
                found[(cid, version)] = str(rows[0][0])
        return found

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        statement = sql if self._qmark else sql.replace("?", "%s")
        with self._cursor() as cursor:
            cursor.execute(statement, tuple(params))
            return list(cursor.fetchall())

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        dbapi: Any = self._engine.dialect.dbapi
        try:
            with unavailable_as_storage_error(self._engine.url), raw_cursor(self._engine) as cursor:
                yield cursor
        except dbapi.Error as exc:
            raise DatabaseUnavailable(f"cannot read the log: {str(exc).strip().splitlines()[0]}") from exc
