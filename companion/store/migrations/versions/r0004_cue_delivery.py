"""Cues say what reached the wrist: the channel's fate for each, delivery, first-write lateness.

Revision ID: 0004
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
# 0004 was assigned to this change while 0006 landed first; it follows 0006.
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("fate", sa.String()),
    ("note", sa.Text()),
    ("delivery", sa.String()),
    ("acknowledged", sa.Boolean()),
    ("first_write_late_s", sa.Double()),
    ("failure", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("cues") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cues") as batch:
        for name, _kind in reversed(_COLUMNS):
            batch.drop_column(name)
