"""The reminder model: what a reminder is and how its time and days are written.

Plain values only, no scheduler and no store: the web, the CLI and the store import it.
The person's reminders live in the store's ``reminders`` table
(``companion.store.reminders``); ``companion.reminders.scheduler`` turns them into jobs and
``companion.reminders.service`` says what a job does in the running service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The morning summary's time lives in the settings table under its own key.
WAKE_TIME_SETTING = "wake_time"
DEFAULT_WAKE_TIME = dt.time(7, 0)


@dataclass(frozen=True)
class Reminder:
    id: int
    at: dt.time
    days: tuple[str, ...]
    routine: str
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.strftime("%H:%M"),
            "days": list(self.days),
            "routine": self.routine,
            "enabled": self.enabled,
        }


def parse_time(text: str) -> dt.time:
    """``HH:MM`` on a 24-hour clock."""
    try:
        hours, minutes = text.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"time {text!r} is not HH:MM on a 24-hour clock, e.g. 21:30") from None


def parse_days(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Weekdays as ``mon,tue,...``; empty or None means every day. Returned in week order."""
    if text is None:
        return WEEKDAYS
    words = text.split(",") if isinstance(text, str) else list(text)
    days = {word.strip().lower()[:3] for word in words if word.strip()}
    unknown = sorted(days - set(WEEKDAYS))
    if unknown:
        raise ValueError(f"unknown day(s) {', '.join(unknown)}; use {','.join(WEEKDAYS)}")
    return tuple(day for day in WEEKDAYS if day in days) or WEEKDAYS


def wake_time_from(saved: Any) -> dt.time | None:
    """The stored wake time (``HH:MM[:SS]``), or None when nothing usable is stored."""
    if not isinstance(saved, str):
        return None
    try:
        return dt.time.fromisoformat(saved)
    except ValueError:
        return None
