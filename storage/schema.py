"""The log's table, declared once with SQLAlchemy Core; Alembic compares migrations against it."""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, CheckConstraint, Column, Integer, MetaData, String, Table, Text, UniqueConstraint

from controller.domain.chain import ROW_FIELDS

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

events = Table(
    "events",
    metadata,
    # SQLite only auto-increments an INTEGER PRIMARY KEY; AUTOINCREMENT never reuses a position.
    Column("position", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("compartment_id", String(64), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("schema_version", Integer(), nullable=False),
    Column("payload", Text(), nullable=False, key="payload_json"),  # keyed by its RawRecord field
    Column("correlation_id", String(100), nullable=False),
    Column("event_hash", String(64), nullable=False),
    Column("previous_hash", String(64), nullable=False),
    UniqueConstraint("compartment_id", "version"),
    sqlite_autoincrement=True,
)

bank = Table(
    "bank",
    metadata,
    # One row, written when a controller first claims the log (migration 0002): which bank it belongs to.
    Column("slot", Integer(), primary_key=True, autoincrement=False),  # always 1: a second claim conflicts
    Column("bank_id", String(64), nullable=False),
    Column("claimed_at", String(40), nullable=False),
    CheckConstraint("slot = 1", name="ck_bank_one_row"),
)

RAW_COLUMNS: Final = tuple(events.c[name] for name in ROW_FIELDS)
"""The columns in ``RawRecord`` field order (each keyed by its field): what reads select and inserts write."""

APPEND_ONLY_TRIGGERS: Final = {
    "sqlite": ("events_refuse_update", "events_refuse_delete"),
    "postgresql": ("events_refuse_update", "events_refuse_delete", "events_refuse_truncate"),
}
"""The triggers (created by migration 0001) that make the database refuse changes to the log."""
