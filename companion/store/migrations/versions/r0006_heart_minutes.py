"""Per-minute heart-rate aggregates that between-session samples are folded into.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "heart_minutes",
        sa.Column("t", sa.Double(), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("worn", sa.Integer(), nullable=False),
        sa.Column("unworn", sa.Integer(), nullable=False),
        sa.Column("hr_min", sa.SmallInteger(), nullable=True),
        sa.Column("hr_mean", sa.Double(), nullable=True),
        sa.Column("hr_max", sa.SmallInteger(), nullable=True),
        sa.Column("rr_count", sa.Integer(), nullable=False),
        sa.Column("rr_differences", sa.Integer(), nullable=False),
        sa.Column("rmssd_ms", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("t", "device", name=op.f("pk_heart_minutes")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("heart_minutes")
