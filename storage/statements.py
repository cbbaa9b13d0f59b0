"""The store's SQL, built once with SQLAlchemy Core and compiled for one dialect.

The hot paths run these strings straight on DBAPI cursors: no ORM, no per-call compilation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from controller.domain.chain import ROW_FIELDS
from storage.schema import RAW_COLUMNS, events

# Any constant will do: every store process takes the same transaction-level lock before appending.
PG_APPEND_LOCK: Final = 0x4C4F434B45525321

INSERTED_FIELDS: Final = ROW_FIELDS[1:]
"""The row fields an insert writes, as its named parameters: the database assigns the position."""


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled statement, its parameter order (None: named parameters) and its literals."""

    sql: str
    positions: tuple[str, ...] | None
    literals: Mapping[str, Any]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | Mapping[str, Any]:
        """Parameters in the shape the driver expects."""
        merged = {**self.literals, **values} if self.literals else values
        if self.positions is None:
            return merged
        return tuple(merged[name] for name in self.positions)


def _compile(element: ClauseElement, dialect: Dialect, column_keys: list[str] | None = None) -> Statement:
    compiled = element.compile(dialect=dialect, column_keys=column_keys)
    assert isinstance(compiled, SQLCompiler)
    positions = tuple(compiled.positiontup or ()) if compiled.positional else None
    literals = {name: bind.value for bind, name in compiled.bind_names.items() if not bind.required}
    return Statement(str(compiled), positions, literals)


@dataclass(frozen=True, slots=True)
class Statements:
    """Everything ``SqlEventStore`` runs, for one dialect."""

    begin_write: tuple[str, ...]
    head: Statement
    stream_version: Statement
    insert: Statement
    page: Statement
    stream: Statement
    stream_ids: Statement

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> Statements:
        """Compile every statement for ``dialect``."""
        by_position = events.c.position
        return cls(
            begin_write=_begin_write(dialect.name),
            head=_compile(select(events.c.event_hash).order_by(by_position.desc()).limit(1), dialect),
            stream_version=_compile(
                select(func.coalesce(func.max(events.c.version), 0)).where(
                    events.c.compartment_id == bindparam("compartment_id")
                ),
                dialect,
            ),
            insert=_compile(insert(events).returning(by_position), dialect, list(INSERTED_FIELDS)),
            page=_compile(
                select(*RAW_COLUMNS)
                .where(by_position > bindparam("after"))
                .order_by(by_position)
                .limit(bindparam("limit")),
                dialect,
            ),
            stream=_compile(
                select(*RAW_COLUMNS)
                .where(events.c.compartment_id == bindparam("compartment_id"))
                .order_by(events.c.version),
                dialect,
            ),
            stream_ids=_compile(select(events.c.compartment_id).distinct().order_by(events.c.compartment_id), dialect),
        )


def _begin_write(dialect_name: str) -> tuple[str, ...]:
    if dialect_name == "sqlite":
        return ("BEGIN IMMEDIATE",)  # take the write lock now, not at the first INSERT
    return ("BEGIN", f"SELECT pg_advisory_xact_lock({PG_APPEND_LOCK})")
