"""Keep the note an operator types when clearing a fleet alarm (who and when were kept already).

Revision ID: c0003
Revises: c0002
Create Date: 2026-12-07 00:00:00

Alarms stored before this revision keep an empty note (NULL): their notes went to the centre's log only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0003"
down_revision: str | Sequence[str] | None = "c0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("fleet_alarms", sa.Column("cleared_note", sa.Text(), nullable=True))
    op.create_index("ix_fleet_alarms_cleared_at", "fleet_alarms", ["cleared_at"])


def downgrade() -> None:
    op.drop_index("ix_fleet_alarms_cleared_at", "fleet_alarms")
    op.drop_column("fleet_alarms", "cleared_note")
