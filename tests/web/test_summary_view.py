"""The summary page's pure helpers: days from URLs, the neighbouring days, the week laid
out for the charts, and how times and numbers read."""

from __future__ import annotations

import http
from datetime import date, datetime, timedelta

import pytest

from companion.events import SessionState
from companion.summary.morning import DayPart, SessionFacts, SessionLine, build_summary
from tests.web.summary_history import BERLIN, DAY, NOW, at
from web.summary_view import (
    FIRST_DAY,
    DayError,
    Neighbours,
    breathing,
    long_day,
    neighbours,
    parse_day,
    percent,
    short_day,
    time_span,
    week,
    whole,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-05-12", DAY), ("2024-02-29", date(2024, 2, 29)), ("1970-01-08", FIRST_DAY)],
)
def test_a_day_as_yyyy_mm_dd_up_to_today_is_read(text: str, expected: date) -> None:
    assert parse_day(text, today=DAY) == expected


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("2025-02-29", http.HTTPStatus.BAD_REQUEST),
        ("2026-05-12 ", http.HTTPStatus.BAD_REQUEST),
        ("+2026-05-12", http.HTTPStatus.BAD_REQUEST),
        ("", http.HTTPStatus.BAD_REQUEST),
        ("1970-01-01", http.HTTPStatus.BAD_REQUEST),
        ("2026-05-13", http.HTTPStatus.NOT_FOUND),
    ],
)
def test_a_day_that_cannot_be_summarised_says_why_with_a_status(text: str, status: int) -> None:
    with pytest.raises(DayError) as caught:
        parse_day(text, today=DAY)

    assert caught.value.status == status


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (DAY, Neighbours(previous=date(2026, 5, 11), next=None)),
        (date(2026, 5, 1), Neighbours(previous=date(2026, 4, 30), next=date(2026, 5, 2))),
        (date(2026, 5, 11), Neighbours(previous=date(2026, 5, 10), next=DAY)),
        (FIRST_DAY, Neighbours(previous=None, next=FIRST_DAY + timedelta(days=1))),
    ],
)
def test_the_page_links_to_the_day_before_and_after_but_not_past_today(
    day: date, expected: Neighbours
) -> None:
    assert neighbours(day, today=DAY) == expected


@pytest.mark.parametrize(
    ("day", "long", "short"),
    [
        (DAY, "Tuesday 12 May 2026", "Tue 12 May"),
        (date(2027, 1, 3), "Sunday 3 January 2027", "Sun 3 Jan"),
    ],
)
def test_days_are_spelled_out_whatever_the_machines_locale(
    day: date, long: str, short: str
) -> None:
    assert (long_day(day), short_day(day)) == (long, short)


def _line(ended: datetime | None) -> SessionLine:
    return SessionLine(
        id="s",
        routine="taster",
        title="Taster",
        part=DayPart.EVENING,
        started_at=at(DAY, 21, 30),
        ended_at=ended,
        outcome=SessionState.COMPLETED,
        planned_steps=2,
        completed_steps=2,
        pain_before=None,
        pain_after=None,
    )


def test_a_session_reads_from_start_to_end_or_just_its_start_while_it_runs() -> None:
    assert time_span(_line(at(DAY, 21, 42))) == "21:30\N{EN DASH}21:42"
    assert time_span(_line(None)) == "21:30"


def _rated(day: date, pain: int, rmssd: float) -> SessionFacts:
    start = at(day, 21, 0)
    return SessionFacts(
        id=day.isoformat(),
        routine="taster",
        title="Taster",
        started_at=start,
        ended_at=start + timedelta(minutes=2),
        outcome=SessionState.COMPLETED,
        pain_before=pain,
        planned_steps=2,
        completed_steps=2,
        rmssd_ms=rmssd,
    )


def test_the_week_has_seven_days_oldest_first_with_gaps_where_there_was_no_routine() -> None:
    days = {DAY - timedelta(days=4): (6, 30.04), DAY - timedelta(days=1): (4, 41.0)}
    history = {d: [_rated(d, pain, rmssd)] for d, (pain, rmssd) in days.items()}

    laid_out = week(build_summary(DAY, BERLIN, history, NOW))

    assert laid_out == [
        {"day": "2026-05-06", "label": "Wed", "rmssd_ms": None, "pain": None},
        {"day": "2026-05-07", "label": "Thu", "rmssd_ms": None, "pain": None},
        {"day": "2026-05-08", "label": "Fri", "rmssd_ms": 30.0, "pain": 6.0},
        {"day": "2026-05-09", "label": "Sat", "rmssd_ms": None, "pain": None},
        {"day": "2026-05-10", "label": "Sun", "rmssd_ms": None, "pain": None},
        {"day": "2026-05-11", "label": "Mon", "rmssd_ms": 41.0, "pain": 4.0},
        {"day": "2026-05-12", "label": "Tue", "rmssd_ms": None, "pain": None},
    ]


@pytest.mark.parametrize(
    ("value", "as_percent", "as_whole"),
    [(None, "—", "—"), (0.0, "0 %", "0"), (0.736, "74 %", "1"), (1.0, "100 %", "1")],
)
def test_numbers_read_rounded_and_missing_ones_as_a_dash(
    value: float | None, as_percent: str, as_whole: str
) -> None:
    assert (percent(value), whole(value)) == (as_percent, as_whole)


def _one_session(**facts: object) -> SessionFacts:
    start = at(DAY, 7)
    return SessionFacts(
        id="m", routine="taster", title="Taster", started_at=start,
        ended_at=start + timedelta(minutes=1), outcome=SessionState.COMPLETED,
        **facts,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "words"),
    [
        ({"breathing_score": 0.82}, "82 %"),
        ({"breathing_withheld": True}, "not enough signal"),
        ({}, "—"),
    ],
)
def test_breathing_reads_as_a_score_or_not_enough_signal(
    facts: dict[str, object], words: str
) -> None:
    summary = build_summary(DAY, BERLIN, {DAY: [_one_session(**facts)]}, NOW)
    assert breathing(summary) == words
