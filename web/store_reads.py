"""The one place the web layer touches the store: reads through the web's own connections.
Reads hand out typed records: the store's rows (``companion.store.queries``), which the
API's answers (web/api_records.py) and the pages both carry, resonance assessments among
them (``companion.store.resonance.StoredAssessment``)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, select

from companion.reminders.model import Reminder
from companion.store import device_writes, queries, setting_writes
from companion.store import reminders as store_reminders
from companion.store.resonance import StoredAssessment, get_assessment
from companion.store.schema import ResonanceAssessment, table_of
from companion.store.summary_facts import summary_for
from companion.summary.morning import MorningSummary


def session_rows(engine: Engine, limit: int, offset: int) -> list[queries.SessionSummary]:
    """A page of History, newest first, as the store's rows."""
    with engine.connect() as conn:
        return queries.list_sessions(conn, limit, offset)


def resonance_by_session(engine: Engine, session_ids: Sequence[str]) -> dict[str, StoredAssessment]:
    """Each listed session's resonance assessment (the newest, should there be more), as
    the API answers with one; sessions without one are left out."""
    if not session_ids:
        return {}
    table = table_of(ResonanceAssessment)
    newest_first = (
        select(table.c.id, table.c.session_id)
        .where(table.c.session_id.in_(list(session_ids)))
        .order_by(table.c.at.desc(), table.c.id.desc())
    )
    with engine.connect() as conn:
        found = conn.execute(newest_first).all()
    newest: dict[str, int] = {}
    for assessment_id, session_id in found:
        newest.setdefault(session_id, assessment_id)
    # Only resonance routines have one: a handful of rows on a page, each read as the
    # store keeps it.
    stored = {sid: get_assessment(engine, aid) for sid, aid in newest.items()}
    return {sid: assessment for sid, assessment in stored.items() if assessment is not None}


def session_detail(engine: Engine, session_id: str) -> queries.SessionDetail | None:
    """A session with its steps, cues and events, as the store's rows; None when unknown."""
    with engine.connect() as conn:
        return queries.get_session(conn, session_id)


def session_samples(engine: Engine, session_id: str) -> list[queries.SampleRow]:
    with engine.connect() as conn:
        return queries.session_samples(conn, session_id)


def session_csv(engine: Engine, session_id: str) -> str:
    with engine.connect() as conn:
        return str(queries.session_csv(conn, session_id))


def load_setting(engine: Engine, key: str) -> Any:
    with engine.connect() as conn:
        return queries.get_setting(conn, key)


def save_setting(engine: Engine, key: str, value: Any) -> None:
    save_settings(engine, {key: value})


def save_settings(engine: Engine, values: Mapping[str, Any]) -> None:
    """Several settings in one transaction: all are stored, or none."""
    with engine.begin() as conn:
        for key, value in values.items():
            setting_writes.put_setting(conn, key, value)


def list_devices(engine: Engine) -> list[queries.DeviceRow]:
    with engine.connect() as conn:
        return queries.list_devices(conn)


def forget_device(engine: Engine, address: str) -> bool:
    with engine.begin() as conn:
        return bool(device_writes.forget_device(conn, address))


# --- reminders and the morning summary -------------------------------------------------


def list_reminders(engine: Engine) -> list[Reminder]:
    return store_reminders.list_reminders(engine)


def get_reminder(engine: Engine, reminder_id: int) -> Reminder | None:
    return store_reminders.get_reminder(engine, reminder_id)


def add_reminder(
    engine: Engine, *, at: datetime.time, days: Sequence[str], routine: str, now_wall: float
) -> Reminder:
    return store_reminders.add_reminder(
        engine, at=at, days=days, routine=routine, now_wall=now_wall
    )


def set_reminder_enabled(engine: Engine, reminder_id: int, enabled: bool) -> bool:
    return store_reminders.set_reminder_enabled(engine, reminder_id, enabled)


def remove_reminder(engine: Engine, reminder_id: int) -> bool:
    return store_reminders.remove_reminder(engine, reminder_id)


def morning_summary(
    engine: Engine, day: datetime.date, tz: datetime.tzinfo, now: datetime.datetime
) -> MorningSummary:
    """The summary for ``day`` as known at ``now``, with the breath-following score: the
    window holds a few sessions at most, so the extra tens of milliseconds are affordable."""
    return summary_for(engine, day, tz, now, breathing=True)
