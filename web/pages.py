"""The dashboard's pages. They render a frame; live data comes from /api and /api/stream."""

from __future__ import annotations

import datetime
import http
import math
from typing import Any

from flask import Blueprint, abort, render_template, request

from companion.events import SessionState
from companion.heart.gaps import GapReason
from companion.store.queries import SessionSummary
from companion.store.resonance import StoredAssessment
from web import store_reads, summary_api, summary_view
from web.page_vocabulary import page_vocabulary
from web.state import web_state

bp = Blueprint("pages", __name__)

HISTORY_PAGE_SIZE = 30


def wall_time(value: object, short: bool = False) -> str:
    """A stored Unix time as local date and time for display; '—' when absent."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    shape = "%d %b %Y %H:%M" if short else "%a %d %b %Y, %H:%M"
    return datetime.datetime.fromtimestamp(value).strftime(shape)


def clock_time(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    return datetime.datetime.fromtimestamp(value).strftime("%H:%M:%S")


def duration(seconds: object) -> str:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def session_duration(row: SessionSummary) -> str:
    if row.ended_at is None:
        return "—"
    return duration(row.ended_at - row.started_at)


def hr_summary(row: SessionSummary, unit: bool = True) -> str:
    """'mean bpm (low to high)' over the samples taken with skin contact."""
    if row.hr_mean is None:
        return "—"
    low, mean, high = (
        "?" if value is None else f"{round(value)}"
        for value in (row.hr_min, row.hr_mean, row.hr_max)
    )
    return f"{mean}{' bpm' if unit else ''} ({low}\N{EN DASH}{high})"


def beats_summary(row: SessionSummary) -> str:
    """'1,204 kept, 12 set aside as artefacts' from the cleaned beat counts."""
    kept, rejected = row.beats_kept, row.beats_rejected
    if kept is None:
        return "—"
    if not rejected:
        return f"{kept:,} kept"
    return f"{kept:,} kept, {rejected:,} set aside as artefacts"


def minutes_seconds(seconds: object) -> str:
    """Seconds from a session's start as m:ss."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


# Why the heart-rate record has a hole, as a person reads it.
GAP_REASONS = {
    GapReason.LINK_LOST.value: "the band's link was lost",
    GapReason.NO_CONTACT.value: "the band was off the skin",
    GapReason.NO_SAMPLES.value: "no readings from the band",
}


def gap_reason(value: object) -> str:
    return GAP_REASONS.get(str(value), str(value).replace("-", " "))


@bp.app_template_filter("outcome")
def outcome_filter(value: object) -> str:
    """A stored outcome in the one wording for people; a value it does not know, as is."""
    try:
        return SessionState(str(value)).in_words
    except ValueError:
        return str(value)


@bp.app_template_filter("pain")
def pain_filter(value: object, short: bool = False) -> str:
    if value is None:
        return "—"
    return str(value) if short else f"{value}/10"


@bp.get("/")
def now() -> str:
    return render_template("now.html", page="now")


@bp.get("/history")
def history_page() -> tuple[str, int] | str:
    engine = web_state().store_engine
    raw_page = request.args.get("page", "1")
    page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() else 1
    page = max(1, min(page, 10_000))
    if engine is None:
        return render_template(
            "history.html",
            page="history",
            rows=[],
            resonance={},
            number=1,
            more=False,
            no_store=True,
        ), http.HTTPStatus.SERVICE_UNAVAILABLE
    rows = store_reads.session_rows(engine, HISTORY_PAGE_SIZE + 1, (page - 1) * HISTORY_PAGE_SIZE)
    shown = rows[:HISTORY_PAGE_SIZE]
    return render_template(
        "history.html",
        page="history",
        rows=shown,
        # What each session's resonance check found, by session id; most have none.
        resonance=store_reads.resonance_by_session(engine, [row.id for row in shown]),
        number=page,
        more=len(rows) > HISTORY_PAGE_SIZE,
        no_store=False,
    )


@bp.get("/sessions/<sid:session_id>")
def session_page(session_id: str) -> str:
    engine = web_state().store_engine
    if engine is None:
        abort(http.HTTPStatus.SERVICE_UNAVAILABLE, "no session store is configured")
    found = store_reads.session_detail(engine, session_id)
    if found is None:
        abort(http.HTTPStatus.NOT_FOUND, f"There is no session {session_id}.")
    return render_template("session.html", page="history", s=found, session_id=session_id)


@bp.get("/settings")
def settings_page() -> str:
    return render_template("settings.html", page="settings")


@bp.get("/summary", defaults={"day": None})
@bp.get("/summary/<day>")
def summary_page(day: str | None) -> str:
    if web_state().store_engine is None:
        abort(http.HTTPStatus.SERVICE_UNAVAILABLE, "There is no session log on this companion.")
    now = summary_api.local_now()
    today = now.date()
    try:
        chosen = today if day is None else summary_view.parse_day(day, today)
    except summary_view.DayError as error:
        abort(error.status, f"There is no summary for that day: {error.message}.")
    summary = summary_api.summary_of(chosen, now)
    return render_template(
        "summary.html",
        page="summary",
        s=summary,
        today=today,
        around=summary_view.neighbours(chosen, today),
        chart=summary_view.chart_data(summary),
        view=summary_view,
    )


def resonance_pace(assessment: StoredAssessment) -> str:
    """An answered assessment's pace, '5.5 breaths a minute'."""
    pace = assessment.pace_per_min
    if pace is None or not math.isfinite(pace):
        return "—"
    return f"{pace:g} breaths a minute"


def resonance_no_answer(assessment: StoredAssessment) -> str:
    """Why an assessment gave no answer, in the scorer's own words (they start "No clear
    answer"); just that where it kept none."""
    return assessment.message or "No clear answer."


def register_template_helpers(app_env: Any) -> None:
    app_env.filters.update(
        wall_time=wall_time,
        clock_time=clock_time,
        duration=duration,
        session_duration=session_duration,
        hr_summary=hr_summary,
        beats_summary=beats_summary,
        mmss=minutes_seconds,
        gap_reason=gap_reason,
        resonance_pace=resonance_pace,
        resonance_no_answer=resonance_no_answer,
    )
    app_env.globals["page_vocabulary"] = page_vocabulary()
