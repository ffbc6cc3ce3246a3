"""Initial tables: devices, sessions with their steps, cues and pacing, samples, link
events and settings.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the sizes in schema.py at this revision: a migration must keep
# producing the same tables even after the models move on.
_ID = 64
_ADDRESS = 64
_OUTCOMES = ("running", "completed", "stopped", "pain", "interrupted")
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _session_fk(ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey("sessions.id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("address", sa.String(_ADDRESS), nullable=False),
        sa.Column("name", sa.String()),
        sa.Column("profile", sa.String()),
        sa.Column("first_seen", sa.Double(), nullable=False),
        sa.Column("last_seen", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_devices")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("routine", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level_reason", sa.Text()),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("ended_at", sa.Double()),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("pain_before", sa.SmallInteger()),
        sa.Column("pain_after", sa.SmallInteger()),
        sa.Column("device", sa.String(_ADDRESS)),
        sa.Column("total_planned_s", sa.Double(), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("pain_step", sa.Integer()),
        sa.Column("pain_at", sa.Double()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.CheckConstraint(
            "outcome IN ({})".format(", ".join(f"'{o}'" for o in _OUTCOMES)),
            name=op.f("ck_sessions_outcome"),
        ),
    )
    op.create_index(op.f("ix_sessions_started_at"), "sessions", ["started_at"])
    op.create_table(
        "steps",
        sa.Column("session_id", sa.String(_ID), _session_fk("CASCADE"), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("exercise", sa.String(), nullable=False),
        sa.Column("side", sa.String()),
        sa.Column("mode", sa.String()),
        sa.Column("planned_start_s", sa.Double(), nullable=False),
        sa.Column("planned_end_s", sa.Double(), nullable=False),
        sa.Column("breaths", sa.Integer()),
        sa.Column("reps", sa.Integer()),
        sa.Column("started_at", sa.Double()),
        sa.Column("ended_at", sa.Double()),
        sa.PrimaryKeyConstraint("session_id", "idx", name=op.f("pk_steps")),
    )
    op.create_table(
        "cues",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(_ID), _session_fk("CASCADE"), nullable=False),
        sa.Column("step_idx", sa.Integer(), nullable=False),
        sa.Column("cue", sa.String(), nullable=False),
        sa.Column("planned_s", sa.Double(), nullable=False),
        sa.Column("actual_s", sa.Double(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("on_wrist", sa.Boolean(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cues")),
    )
    op.create_index(op.f("ix_cues_session_id_at"), "cues", ["session_id", "at"])
    op.create_table(
        "samples",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(_ID), _session_fk("CASCADE")),
        sa.Column("device", sa.String(_ADDRESS), nullable=False),
        sa.Column("t", sa.Double(), nullable=False),
        sa.Column("hr", sa.SmallInteger(), nullable=False),
        sa.Column("contact", sa.Boolean()),
        sa.Column("energy_kj", sa.Integer()),
        sa.Column("rr_ms", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_samples")),
    )
    op.create_index(op.f("ix_samples_session_id_t"), "samples", ["session_id", "t"])
    op.create_index(op.f("ix_samples_t"), "samples", ["t"])
    op.create_table(
        "link_events",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("device", sa.String(_ADDRESS), nullable=False),
        sa.Column("t", sa.Double(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("session_id", sa.String(_ID), _session_fk("SET NULL")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_events")),
    )
    op.create_index(op.f("ix_link_events_t"), "link_events", ["t"])
    op.create_index(op.f("ix_link_events_session_id"), "link_events", ["session_id"])
    op.create_table(
        "pacing_events",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(_ID), _session_fk("CASCADE"), nullable=False),
        sa.Column("t", sa.Double(), nullable=False),
        sa.Column("exhale_s", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pacing_events")),
    )
    op.create_index(op.f("ix_pacing_events_session_id_t"), "pacing_events", ["session_id", "t"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )


def downgrade() -> None:
    for table in ("settings", "pacing_events", "link_events", "samples", "cues", "steps"):
        op.drop_table(table)
    op.drop_table("sessions")
    op.drop_table("devices")
