"""The centre's tables, declared once with SQLAlchemy Core; ``fleet/migrations`` creates them (PostgreSQL only).

- ``central_banks``: one row per enrolled bank: its pinned public key, the head of its copied log (position,
  hash, count, the log's id: the hash of its first event), its last signed checkpoint and its last heartbeat.
- ``central_events``: every bank's events exactly as the bank stored them, unique on (bank, position); the
  database refuses UPDATE, DELETE and TRUNCATE, as the bank's own log does.
- ``central_checkpoints``: every signed checkpoint a bank sent with a batch (the central audit checks them).
- ``fleet_alarms``: refused batches (gap, fork, bad signature, replay) and offline banks, until cleared (by whom,
  when and with which note).
- ``sync_nonces``: the nonces of signed requests, so a captured request cannot be replayed.
- ``fleet_commands``: commands for a bank, signed by the centre, delivered until the bank reports an outcome.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, Column, Float, Identity, Integer, MetaData, String, Table, Text

from controller.domain.chain import GENESIS_HASH, ROW_FIELDS

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}
VERSION_TABLE: Final = "central_alembic_version"
"""Alembic's revision table of the centre (not ``alembic_version``: a bank's log may share the server)."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)

banks = Table(
    "central_banks",
    metadata,
    Column("bank_id", String(64), primary_key=True),
    Column("public_key", Text(), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("enrolled_at", String(40), nullable=False),
    Column("log_id", String(64), nullable=True),
    Column("head_position", BigInteger(), nullable=False, server_default="0"),
    Column("head_hash", String(64), nullable=False, server_default=GENESIS_HASH),
    Column("events", BigInteger(), nullable=False, server_default="0"),
    Column("checkpoint", Text(), nullable=True),
    Column("last_seen", String(40), nullable=True),
    Column("heartbeat_s", Float(), nullable=True),
    Column("health", Text(), nullable=True),
)

events = Table(
    "central_events",
    metadata,
    Column("bank_id", String(64), primary_key=True),
    Column("position", BigInteger(), primary_key=True, autoincrement=False),
    Column("compartment_id", String(64), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("schema_version", Integer(), nullable=False),
    Column("payload", Text(), nullable=False),
    Column("correlation_id", String(100), nullable=False),
    Column("event_hash", String(64), nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("received_at", String(40), nullable=False),
)

ROW_COLUMNS: Final = tuple(events.c["payload" if name == "payload_json" else name] for name in ROW_FIELDS)
"""The columns of ``central_events`` that hold a ``RawRecord``'s fields, in its field order."""

checkpoints = Table(
    "central_checkpoints",
    metadata,
    Column("bank_id", String(64), primary_key=True),
    Column("position", BigInteger(), primary_key=True, autoincrement=False),
    Column("line", Text(), nullable=False),
    Column("received_at", String(40), nullable=False),
)

alarms = Table(
    "fleet_alarms",
    metadata,
    Column("id", BigInteger(), Identity(), primary_key=True),
    Column("bank_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("detail", Text(), nullable=False),
    Column("raised_at", String(40), nullable=False),
    Column("cleared_at", String(40), nullable=True, index=True),
    Column("cleared_by", String(64), nullable=True),
    Column("cleared_note", Text(), nullable=True),  # revision c0003: the note typed when clearing
    Column("detail_code", String(48), nullable=True),  # revision c0004: fleet.details.DETAILS; NULL before it
    Column("detail_args", Text(), nullable=True),  # the code's arguments, JSON
)

nonces = Table(
    "sync_nonces",
    metadata,
    Column("bank_id", String(64), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("seen_at", String(40), nullable=False, index=True),
)

commands = Table(
    "fleet_commands",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("bank_id", String(64), nullable=False, index=True),
    Column("body", Text(), nullable=False),  # the signed canonical JSON the bank verifies
    Column("signature", Text(), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("delivered", Integer(), nullable=False, server_default="0"),
    Column("outcome", String(16), nullable=True),  # done, refused, expired, unknown; NULL until reported
    Column("detail", Text(), nullable=True),
    Column("reported_at", String(40), nullable=True),
)

APPEND_ONLY_TRIGGERS: Final = ("central_events_refuse_update", "central_events_refuse_delete",
                               "central_events_refuse_truncate")
"""The triggers (revision c0001) that make the database refuse changes to the copied logs."""
