"""/api/summary: the morning summary of a day, as ``MorningSummary.to_json()`` gives it.

Days are local to the app's time zone (``WebSettings.timezone``, else this machine's).
"""

from __future__ import annotations

import datetime

from flask import Blueprint, Response

from companion.summary.morning import MorningSummary
from web import store_reads
from web.problems import ApiError
from web.replies import json_reply, store_engine
from web.state import web_state
from web.summary_view import DayError, parse_day

bp = Blueprint("summary", __name__, url_prefix="/api/summary")


def local_now() -> datetime.datetime:
    """The wall clock in the app's zone: read here, at the edge, and passed in below."""
    state = web_state()
    return datetime.datetime.fromtimestamp(state.clock(), state.tz)


def summary_of(day: datetime.date, now: datetime.datetime) -> MorningSummary:
    return store_reads.morning_summary(store_engine(), day, web_state().tz, now)


@bp.get("")
def today() -> Response:
    now = local_now()
    return json_reply(summary_of(now.date(), now).to_json())


@bp.get("/<day>")
def of_day(day: str) -> Response:
    now = local_now()
    try:
        chosen = parse_day(day, now.date())
    except DayError as error:
        raise ApiError(error.status, f"day: {error.message}", field="day") from None
    return json_reply(summary_of(chosen, now).to_json())
