"""The tables the companion keeps, as SQLAlchemy 2 declarative models.

Every time is a UTC Unix timestamp in seconds (a double), the same ``wall`` the events
carry, so nothing is converted on the way in and no timezone can be misread on the way
out. Planned offsets (``*_s``) are seconds from the session's start.

The migrations in ``migrations/versions`` create exactly these tables; a test compares
the two, so a change here needs a new migration.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from companion.events import SessionState

# Named constraints let later migrations (and SQLite batch mode) refer to them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Keys have a length; free text (names, titles, reasons) does not, so a long routine
# title can never make the recorder reject a session and, with it, its samples.
SESSION_ID_LENGTH = 64  # uuid4 hex is 32; room for ids made some other way
ADDRESS_LENGTH = 64  # a MAC is 17 characters, a macOS CoreBluetooth UUID 36


# How a session ended, ``running`` until it does: the one session-state enum, stored as
# its string. A paused session is still running to the store, so "paused" is never stored.
Outcome = SessionState
STORED_OUTCOMES = tuple(state for state in SessionState if state is not SessionState.PAUSED)
OUTCOME_CHECK = "outcome IN ({})".format(", ".join(f"'{o.value}'" for o in STORED_OUTCOMES))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for samples.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class Device(Base):
    __tablename__ = "devices"

    address: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), primary_key=True)
    name: Mapped[str | None] = mapped_column(String())
    profile: Mapped[str | None] = mapped_column(String())
    first_seen: Mapped[float] = mapped_column(Double)
    last_seen: Mapped[float] = mapped_column(Double)


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(OUTCOME_CHECK, name="outcome"),
        Index(None, "started_at"),
    )

    id: Mapped[str] = mapped_column(String(SESSION_ID_LENGTH), primary_key=True)
    routine: Mapped[str] = mapped_column(String())
    title: Mapped[str] = mapped_column(String())
    level: Mapped[int] = mapped_column(Integer)
    level_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[float] = mapped_column(Double)
    ended_at: Mapped[float | None] = mapped_column(Double)
    outcome: Mapped[str] = mapped_column(String(16))
    pain_before: Mapped[int | None] = mapped_column(SmallInteger)
    pain_after: Mapped[int | None] = mapped_column(SmallInteger)
    device: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))
    total_planned_s: Mapped[float] = mapped_column(Double)
    plan_json: Mapped[str] = mapped_column(Text)
    pain_step: Mapped[int | None] = mapped_column(Integer)
    pain_at: Mapped[float | None] = mapped_column(Double)


class Step(Base):
    __tablename__ = "steps"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String())
    exercise: Mapped[str] = mapped_column(String())
    side: Mapped[str | None] = mapped_column(String())
    mode: Mapped[str | None] = mapped_column(String())
    planned_start_s: Mapped[float] = mapped_column(Double)
    planned_end_s: Mapped[float] = mapped_column(Double)
    breaths: Mapped[int | None] = mapped_column(Integer)
    reps: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[float | None] = mapped_column(Double)
    ended_at: Mapped[float | None] = mapped_column(Double)


class Cue(Base):
    __tablename__ = "cues"
    # The second index answers "which steps were done" (their hold-end cues) from the
    # index alone, which the morning summary's streak walks day by day.
    __table_args__ = (Index(None, "session_id", "at"), Index(None, "session_id", "cue", "step_idx"))

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    step_idx: Mapped[int] = mapped_column(Integer)
    cue: Mapped[str] = mapped_column(String())
    planned_s: Mapped[float] = mapped_column(Double)
    actual_s: Mapped[float] = mapped_column(Double)
    duration_s: Mapped[float] = mapped_column(Double)
    on_wrist: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[float] = mapped_column(Double)
    # What the band's one haptic channel did with the cue (played, delayed, folded, dropped,
    # cut, screen) and why; whether its writes reached the band (pending until known), were
    # acknowledged, and how late the first one went out; why they did not reach it.
    fate: Mapped[str | None] = mapped_column(String())
    note: Mapped[str | None] = mapped_column(Text())
    delivery: Mapped[str | None] = mapped_column(String())
    acknowledged: Mapped[bool | None] = mapped_column(Boolean)
    first_write_late_s: Mapped[float | None] = mapped_column(Double)
    failure: Mapped[str | None] = mapped_column(Text())


class Sample(Base):
    __tablename__ = "samples"
    __table_args__ = (
        Index(None, "session_id", "t"),
        Index(None, "t"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    device: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    t: Mapped[float] = mapped_column(Double)
    hr: Mapped[int] = mapped_column(SmallInteger)
    contact: Mapped[bool | None] = mapped_column(Boolean)
    energy_kj: Mapped[int | None] = mapped_column(Integer)
    # A JSON array of milliseconds, or NULL when the packet carried none (most do not).
    rr_ms: Mapped[str | None] = mapped_column(Text)


class LinkEvent(Base):
    __tablename__ = "link_events"
    __table_args__ = (Index(None, "t"), Index(None, "session_id"))

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    device: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    t: Mapped[float] = mapped_column(Double)
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))


class PacingEvent(Base):
    __tablename__ = "pacing_events"
    __table_args__ = (Index(None, "session_id", "t"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    t: Mapped[float] = mapped_column(Double)
    exhale_s: Mapped[float] = mapped_column(Double)
    reason: Mapped[str] = mapped_column(Text)


class HeartMinute(Base):
    """Between-session heart rate older than the raw window, folded into one row a minute.

    ``t`` is the minute's start. The figures cover the samples that were worn (a beat
    and skin contact); ``unworn`` counts the rest, so no sample goes uncounted. RMSSD is
    over that minute's cleaned RR intervals; ``rr_differences`` says how many successive
    differences it rests on, so minutes can be pooled (the sum of rmssd squared times differences).
    """

    __tablename__ = "heart_minutes"
    # Keyed by time first, so a night's minutes are one range of the key; without a rowid
    # on SQLite the rows live in that key's b-tree, with no second copy in an index
    # (about half the bytes a row: five years of minutes around the clock is ~2.6M rows).
    __table_args__ = (PrimaryKeyConstraint("t", "device"), {"sqlite_with_rowid": False})

    t: Mapped[float] = mapped_column(Double)
    device: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    worn: Mapped[int] = mapped_column(Integer)
    unworn: Mapped[int] = mapped_column(Integer)
    hr_min: Mapped[int | None] = mapped_column(SmallInteger)
    hr_mean: Mapped[float | None] = mapped_column(Double)
    hr_max: Mapped[int | None] = mapped_column(SmallInteger)
    rr_count: Mapped[int] = mapped_column(Integer)
    rr_differences: Mapped[int] = mapped_column(Integer)
    rmssd_ms: Mapped[float | None] = mapped_column(Double)


class DayFact(Base):
    """One local day with a session in it, in the time zone the facts are kept in (the
    ``day_facts_zone`` setting): what the morning summary's streak needs, so a streak of
    any length is one read (``companion.store.day_facts``). Derived from sessions, cues and
    steps, and rebuilt from them when the zone changes.
    """

    __tablename__ = "day_facts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer)  # sessions that started that day
    counted: Mapped[int] = mapped_column(Integer)  # of them, with an exercise step done
    # When counted: the first day of the unbroken run of counted days that ends here.
    run_start: Mapped[date | None] = mapped_column(Date)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON text


class ReminderRow(Base):
    """A bedtime or morning reminder; the scheduler's jobs are kept in step with these."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at_time: Mapped[str] = mapped_column(String(5))  # HH:MM, local wall clock
    days: Mapped[str] = mapped_column(String(27))  # mon,tue,... in week order
    routine: Mapped[str] = mapped_column(String())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Double)


class ResonanceAssessment(Base):
    """One resonance-breathing assessment (companion/heart/resonance.py), answered or not: all
    are kept, so History can show how the answer holds from one try to the next."""

    __tablename__ = "resonance_assessments"
    __table_args__ = (Index(None, "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    at: Mapped[float] = mapped_column(Double)
    verdict: Mapped[str] = mapped_column(String(32))  # "answered" or why not
    pace_per_min: Mapped[float | None] = mapped_column(Double)
    confidence: Mapped[float] = mapped_column(Double)
    inhale_s: Mapped[float | None] = mapped_column(Double)
    exhale_s: Mapped[float | None] = mapped_column(Double)
    details_json: Mapped[str] = mapped_column(Text)  # each pace's figures and quality


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model, typed for insert and update statements."""
    return cast(Table, model.__table__)
