"""Per-day facts for the morning summary's streak.

The table is made empty: the recorder fills it when it starts (``keep_day_facts``, one
transaction, so a start killed half-way leaves it empty and the next start builds it),
and until then the summary reads the streak from the sessions as before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "day_facts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("run_start", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_day_facts")),
    )


def downgrade() -> None:
    op.drop_table("day_facts")
    # The zone the facts were kept in means nothing without them.
    op.execute(sa.text("DELETE FROM settings WHERE key = 'day_facts_zone'"))
