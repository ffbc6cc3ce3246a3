"""What the summary page and /api/summary need beyond ``MorningSummary`` itself: reading a
day from a URL, the neighbouring days, the week laid out for the charts, and the words.

Pure: the day that counts as today is passed in.
"""

from __future__ import annotations

import dataclasses
import datetime
import http
import re
from typing import Any, Final

from companion.summary.morning import (
    MONTH_NAMES,
    NOT_ENOUGH_SIGNAL,
    TREND_DAYS,
    WEEKDAY_NAMES,
    MorningSummary,
    SessionLine,
    Trend,
    TrendDirection,
)

_ISO_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The summary reads the week before its day: from here on, every instant it touches is a
# valid Unix time (and nothing underflows the calendar).
FIRST_DAY: Final = datetime.date(1970, 1, 1) + datetime.timedelta(days=TREND_DAYS)

ABBREVIATION: Final = 3

RMSSD_WORDS: Final = {
    TrendDirection.RISING: "Rising over the week",
    TrendDirection.FALLING: "Falling over the week",
    TrendDirection.STEADY: "Steady over the week",
    TrendDirection.UNKNOWN: "A trend needs three days with readings",
}
PAIN_WORDS: Final = {
    TrendDirection.RISING: "Pain before sessions is rising over the week",
    TrendDirection.FALLING: "Pain before sessions is falling over the week",
    TrendDirection.STEADY: "Pain before sessions is steady over the week",
    TrendDirection.UNKNOWN: "A trend needs three days with ratings",
}


class DayError(ValueError):
    """A day the summary cannot be made for, with the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_day(text: str, today: datetime.date) -> datetime.date:
    """A day as YYYY-MM-DD: 400 when it is not one (or before FIRST_DAY), 404 when it is
    still to come, since there is nothing to summarise yet."""
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError(text)
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise DayError(
            http.HTTPStatus.BAD_REQUEST, f"{text[:40]!r} is not a date as YYYY-MM-DD"
        ) from None
    if day < FIRST_DAY:
        raise DayError(
            http.HTTPStatus.BAD_REQUEST, f"there are no summaries before {FIRST_DAY.isoformat()}"
        )
    if day > today:
        raise DayError(
            http.HTTPStatus.NOT_FOUND, f"{day.isoformat()} is still to come; nothing to show yet"
        )
    return day


def long_day(day: datetime.date) -> str:
    """'Tuesday 12 May 2026'."""
    return f"{WEEKDAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def short_day(day: datetime.date) -> str:
    """'Tue 12 May'."""
    weekday = WEEKDAY_NAMES[day.weekday()][:ABBREVIATION]
    return f"{weekday} {day.day} {MONTH_NAMES[day.month - 1][:ABBREVIATION]}"


@dataclasses.dataclass(frozen=True)
class Neighbours:
    """The days the page links to; None where there is nothing to go to."""

    previous: datetime.date | None
    next: datetime.date | None


def neighbours(day: datetime.date, today: datetime.date) -> Neighbours:
    one = datetime.timedelta(days=1)
    return Neighbours(
        previous=day - one if day - one >= FIRST_DAY else None,
        next=day + one if day < today else None,
    )


def time_span(line: SessionLine) -> str:
    """Start and end as HH:MM joined by an en dash, in the summary's zone; just the start
    while the session still runs."""
    start = f"{line.started_at:%H:%M}"
    return start if line.ended_at is None else f"{start}\N{EN DASH}{line.ended_at:%H:%M}"


def _by_day(trend: Trend) -> dict[datetime.date, float]:
    return dict(trend.days)


def week(summary: MorningSummary) -> list[dict[str, Any]]:
    """The trend week, oldest first, one entry per day whether or not it has data:
    ``{"day", "label", "rmssd_ms", "pain"}`` (pain: the day's mean rating before sessions)."""
    rmssd, pain = _by_day(summary.rmssd_trend), _by_day(summary.pain_trend)
    days = [summary.day - datetime.timedelta(days=k) for k in range(TREND_DAYS - 1, -1, -1)]
    return [
        {
            "day": d.isoformat(),
            "label": WEEKDAY_NAMES[d.weekday()][:ABBREVIATION],
            "rmssd_ms": _rounded(rmssd.get(d), 1),
            "pain": _rounded(pain.get(d), 1),
        }
        for d in days
    ]


def chart_data(summary: MorningSummary) -> dict[str, Any]:
    """Everything the page's script draws from: the summary as the API gives it, and the week."""
    return {"summary": summary.to_json(), "week": week(summary)}


def percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.0f} %"


def breathing(summary: MorningSummary) -> str:
    """The breath-following score, or why there is none: "not enough signal" when the pacer
    ran but the heart showed no confident breathing rate (no score is made from a guess)."""
    if summary.breathing_score is None and summary.breathing_withheld:
        return NOT_ENOUGH_SIGNAL
    return percent(summary.breathing_score)


def whole(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
