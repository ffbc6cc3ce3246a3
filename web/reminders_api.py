"""/api/reminders: the person's bedtime and morning reminders (the table the CLI edits too).

Every change is stored first and then passed to the running service, whose scheduler
follows at once (``SessionControl.reminders_changed``).
"""

from __future__ import annotations

import http
import time
from typing import Any, Final

from flask import Blueprint, Response, url_for
from werkzeug.routing import BaseConverter

from companion.json_records import to_json
from companion.reminders.model import WEEKDAYS, Reminder, parse_days
from web import store_reads
from web.api_bodies import DAY_WORDS, Empty, NewReminder, ReminderChange, field_names
from web.api_records import Reminder as ReminderAnswer
from web.api_records import ReminderList, Snoozed
from web.body import MAX_ROUTINE_NAME, json_object, reject_unknown, text_field
from web.problems import ApiError, UnprocessableError
from web.replies import json_reply, notify_reminders_changed, store_engine
from web.state import web_state
from web.timeofday import parse_hh_mm

bp = Blueprint("reminders", __name__, url_prefix="/api/reminders")

# Ids are table row ids; nine digits keep a hostile one from overflowing the database's integer.
REMINDER_ID_PATTERN: Final = r"[0-9]{1,9}"
# How much of a wrong day name an error message repeats back.
MAX_ECHO: Final = 20
# "mon" or "monday" (any case) -> "mon"
_DAY_WORDS: Final = dict(zip(DAY_WORDS, WEEKDAYS * 2, strict=True))
DAYS_PROBLEM: Final = (
    f"must be weekdays as a list or a comma-separated string of {', '.join(WEEKDAYS)}; "
    "leave it out (or null) for every day"
)


class ReminderIdConverter(BaseConverter):
    regex = REMINDER_ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def check_days(value: object) -> tuple[str, ...]:
    """Weekdays in week order from a list or "mon,tue" (full names too); None: every day.

    Stricter than ``parse_days``, which the CLI uses: no empty list (a reminder that never
    rings), and no word that merely starts like a day.
    """
    if value is None:
        return WEEKDAYS
    words: list[object]
    if isinstance(value, str):
        words = [word for word in value.split(",") if word.strip()]
    elif isinstance(value, list):
        words = list(value)
    else:
        raise UnprocessableError("days", DAYS_PROBLEM)
    if not words or len(words) > len(WEEKDAYS):
        raise UnprocessableError("days", DAYS_PROBLEM)
    days = []
    for word in words:
        day = _DAY_WORDS.get(word.strip().lower()) if isinstance(word, str) else None
        if day is None:
            shown = word[:MAX_ECHO] if isinstance(word, str) else type(word).__name__
            raise UnprocessableError("days", f"{shown!r} is not a weekday; {DAYS_PROBLEM}")
        days.append(day)
    return parse_days(days)


def _known_routine(body: dict[str, Any]) -> str:
    routine = text_field(body, "routine", max_len=MAX_ROUTINE_NAME)
    known = [r.name for r in web_state().core.routines()]
    if routine not in known:
        raise ApiError(
            http.HTTPStatus.UNPROCESSABLE_ENTITY,
            f"routine: no routine called {routine!r}; known: {', '.join(known)}",
            field="routine",
            known=known,
        )
    return routine


def _existing(reminder_id: int) -> Reminder:
    found = store_reads.get_reminder(store_engine(), reminder_id)
    if found is None:
        raise ApiError(http.HTTPStatus.NOT_FOUND, f"no reminder {reminder_id}")
    return found


@bp.get("")
def list_all() -> Response:
    reminders = store_reads.list_reminders(store_engine())
    return json_reply(to_json(ReminderList(tuple(map(ReminderAnswer.of, reminders)))))


@bp.post("")
def add() -> Response:
    body = json_object()
    reject_unknown(body, field_names(NewReminder))
    if "at" not in body:
        raise UnprocessableError("at", "required, a time of day as HH:MM")
    try:
        at = parse_hh_mm(body["at"])
    except ValueError as error:
        raise UnprocessableError("at", str(error)) from None
    days = check_days(body.get("days"))
    routine = _known_routine(body)
    engine = store_engine()
    reminder = store_reads.add_reminder(
        engine, at=at, days=days, routine=routine, now_wall=time.time()
    )
    notify_reminders_changed()
    response = json_reply(to_json(ReminderAnswer.of(reminder)), http.HTTPStatus.CREATED)
    response.headers["Location"] = url_for("reminders.one", reminder_id=reminder.id)
    return response


@bp.get("/<rid:reminder_id>")
def one(reminder_id: int) -> Response:
    return json_reply(to_json(ReminderAnswer.of(_existing(reminder_id))))


@bp.patch("/<rid:reminder_id>")
def change(reminder_id: int) -> Response:
    body = json_object()
    reject_unknown(body, field_names(ReminderChange))
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise UnprocessableError("enabled", "required, true or false")
    asked = ReminderChange(enabled)
    if not store_reads.set_reminder_enabled(store_engine(), reminder_id, asked.enabled):
        raise ApiError(http.HTTPStatus.NOT_FOUND, f"no reminder {reminder_id}")
    notify_reminders_changed()
    return json_reply(to_json(ReminderAnswer.of(_existing(reminder_id))))


@bp.delete("/<rid:reminder_id>")
def remove(reminder_id: int) -> Response:
    if not store_reads.remove_reminder(store_engine(), reminder_id):
        raise ApiError(http.HTTPStatus.NOT_FOUND, f"no reminder {reminder_id}")
    notify_reminders_changed()
    response = Response(status=http.HTTPStatus.NO_CONTENT)
    response.headers.remove("Content-Type")  # there is no body to describe
    return response


@bp.post("/<rid:reminder_id>/snooze")
def snooze(reminder_id: int) -> Response:
    reject_unknown(json_object(required=False), field_names(Empty))
    _existing(reminder_id)
    at = web_state().core.snooze_reminder(reminder_id)
    return json_reply(to_json(Snoozed(at)))
