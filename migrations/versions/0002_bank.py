"""Record which bank the log belongs to: a one-row ``bank`` table, written once, never changed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:00:00

The controller writes its bank id on first start and refuses to run on a log that names another bank
(one data location: a log must never be mistaken for another bank's). Like the log itself, the row
refuses UPDATE and DELETE. This revision is history: it spells out its DDL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER bank_refuse_update BEFORE UPDATE ON bank
    BEGIN SELECT RAISE(ABORT, 'bank is written once: UPDATE refused'); END""",
    """CREATE TRIGGER bank_refuse_delete BEFORE DELETE ON bank
    BEGIN SELECT RAISE(ABORT, 'bank is written once: DELETE refused'); END""",
)

POSTGRESQL_TRIGGERS = (
    """CREATE TRIGGER bank_refuse_update BEFORE UPDATE ON bank
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change()""",
    """CREATE TRIGGER bank_refuse_delete BEFORE DELETE ON bank
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change()""",
)


def upgrade() -> None:
    op.create_table(
        "bank",
        sa.Column("slot", sa.Integer(), autoincrement=False),
        sa.Column("bank_id", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("slot", name="pk_bank"),
        sa.CheckConstraint("slot = 1", name="ck_bank_one_row"),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("the bank's identity is evidence: no migration drops it")
