"""Index cues by session, cue name and step, so done steps are counted from the index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_cues_session_id_cue_step_idx"), "cues", ["session_id", "cue", "step_idx"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cues_session_id_cue_step_idx"), table_name="cues")
