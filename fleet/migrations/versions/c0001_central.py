"""Create the centre's tables: enrolled banks, their copied logs, checkpoints, fleet alarms, request nonces.

Revision ID: c0001
Revises:
Create Date: 2026-12-06 00:00:00

The copied logs are append-only in the database too (UPDATE, DELETE and TRUNCATE refused), like each bank's
own log. This revision is history: it spells out its DDL instead of importing ``fleet.schema``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("central",)
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64
TRIGGERS = (
    """CREATE FUNCTION central_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'central_events is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER central_events_refuse_update BEFORE UPDATE ON central_events
    FOR EACH ROW EXECUTE FUNCTION central_events_refuse_change()""",
    """CREATE TRIGGER central_events_refuse_delete BEFORE DELETE ON central_events
    FOR EACH ROW EXECUTE FUNCTION central_events_refuse_change()""",
    """CREATE TRIGGER central_events_refuse_truncate BEFORE TRUNCATE ON central_events
    FOR EACH STATEMENT EXECUTE FUNCTION central_events_refuse_change()""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        raise RuntimeError("the centre runs on PostgreSQL only")
    op.create_table(
        "central_banks",
        sa.Column("bank_id", sa.String(64)),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("enrolled_at", sa.String(40), nullable=False),
        sa.Column("log_id", sa.String(64), nullable=True),
        sa.Column("head_position", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("head_hash", sa.String(64), nullable=False, server_default=GENESIS_HASH),
        sa.Column("events", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("last_seen", sa.String(40), nullable=True),
        sa.Column("heartbeat_s", sa.Float(), nullable=True),
        sa.Column("health", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("bank_id", name="pk_central_banks"),
    )
    op.create_table(
        "central_events",
        sa.Column("bank_id", sa.String(64)),
        sa.Column("position", sa.BigInteger(), autoincrement=False),
        sa.Column("compartment_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("bank_id", "position", name="pk_central_events"),
    )
    op.create_table(
        "central_checkpoints",
        sa.Column("bank_id", sa.String(64)),
        sa.Column("position", sa.BigInteger(), autoincrement=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("bank_id", "position", name="pk_central_checkpoints"),
    )
    op.create_table(
        "fleet_alarms",
        sa.Column("id", sa.BigInteger(), sa.Identity()),
        sa.Column("bank_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.String(40), nullable=False),
        sa.Column("cleared_at", sa.String(40), nullable=True),
        sa.Column("cleared_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fleet_alarms"),
    )
    op.create_index("ix_fleet_alarms_bank_id", "fleet_alarms", ["bank_id"])
    op.create_table(
        "sync_nonces",
        sa.Column("bank_id", sa.String(64)),
        sa.Column("nonce", sa.String(64)),
        sa.Column("seen_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("bank_id", "nonce", name="pk_sync_nonces"),
    )
    op.create_index("ix_sync_nonces_seen_at", "sync_nonces", ["seen_at"])
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("the centre's copies are evidence: no migration drops them")
