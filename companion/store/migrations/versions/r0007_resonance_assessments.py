"""Resonance-breathing assessments, every one kept.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
# The chain so far runs 0003, 0006, 0004 (0004 landed after 0006): this follows its head.
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "resonance_assessments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("pace_per_min", sa.Double(), nullable=True),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("inhale_s", sa.Double(), nullable=True),
        sa.Column("exhale_s", sa.Double(), nullable=True),
        sa.Column("details_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_resonance_assessments_session_id_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resonance_assessments")),
    )
    op.create_index(
        op.f("ix_resonance_assessments_at"), "resonance_assessments", ["at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_resonance_assessments_at"), table_name="resonance_assessments")
    op.drop_table("resonance_assessments")
