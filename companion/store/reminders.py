"""Reading and editing the reminders table (the CLI, the API and the service share it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update

from companion.reminders.model import Reminder, parse_days, parse_time
from companion.store.queries import Bind, reading, writing
from companion.store.schema import ReminderRow, table_of

_TABLE = table_of(ReminderRow)


def _from_row(row: Any) -> Reminder:
    return Reminder(
        id=row.id,
        at=parse_time(row.at_time),
        days=parse_days(row.days),
        routine=row.routine,
        enabled=row.enabled,
    )


def list_reminders(bind: Bind) -> list[Reminder]:
    query = select(_TABLE).order_by(_TABLE.c.at_time, _TABLE.c.id)
    with reading(bind) as connection:
        return [_from_row(row) for row in connection.execute(query)]


def get_reminder(bind: Bind, reminder_id: int) -> Reminder | None:
    with reading(bind) as connection:
        row = connection.execute(select(_TABLE).where(_TABLE.c.id == reminder_id)).first()
        return _from_row(row) if row is not None else None


def add_reminder(
    bind: Bind, *, at: dt.time, days: Sequence[str], routine: str, now_wall: float
) -> Reminder:
    values = {
        "at_time": at.strftime("%H:%M"),
        "days": ",".join(parse_days(days)),
        "routine": routine,
        "enabled": True,
        "created_at": now_wall,
    }
    with writing(bind) as connection:
        result = connection.execute(insert(_TABLE).values(**values).returning(_TABLE.c.id))
        reminder_id = int(result.scalar_one())
    return Reminder(reminder_id, at, parse_days(days), routine)


def set_reminder_enabled(bind: Bind, reminder_id: int, enabled: bool) -> bool:
    with writing(bind) as connection:
        result = connection.execute(
            update(_TABLE).where(_TABLE.c.id == reminder_id).values(enabled=enabled)
        )
        return bool(result.rowcount)


def remove_reminder(bind: Bind, reminder_id: int) -> bool:
    with writing(bind) as connection:
        result = connection.execute(delete(_TABLE).where(_TABLE.c.id == reminder_id))
        return bool(result.rowcount)
