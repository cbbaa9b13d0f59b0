"""Keep a fleet alarm's detail as a code and its arguments too, so the console words it in Korean or English.

Revision ID: c0004
Revises: c0003
Create Date: 2026-12-07 00:00:00

Alarms stored before this revision keep their English detail only (no code: the console shows that text).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0004"
down_revision: str | Sequence[str] | None = "c0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("fleet_alarms", sa.Column("detail_code", sa.String(48), nullable=True))
    op.add_column("fleet_alarms", sa.Column("detail_args", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("fleet_alarms", "detail_args")
    op.drop_column("fleet_alarms", "detail_code")
