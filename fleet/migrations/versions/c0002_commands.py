"""Commands from the centre to a bank: signed, with an id and an expiry, pulled by the bank, outcome reported.

Revision ID: c0002
Revises: c0001
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0002"
down_revision: str | Sequence[str] | None = "c0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fleet_commands",
        sa.Column("id", sa.String(32)),
        sa.Column("bank_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fleet_commands"),
    )
    op.create_index("ix_fleet_commands_bank_id", "fleet_commands", ["bank_id"])


def downgrade() -> None:
    op.drop_index("ix_fleet_commands_bank_id", "fleet_commands")
    op.drop_table("fleet_commands")
