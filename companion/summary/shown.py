"""The morning summary as JSON (``MorningSummary.to_json``), typed key by key.

``to_json`` is annotated with these, so mypy holds every key and value it writes to them,
and web/openapi.py generates the summary's schema from them: the description is the JSON
the summary really has. Only typing and schema metadata here; nothing runs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Ge, Interval, MaxLen
from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from companion.events import SessionState
from companion.pain import PAIN_MAX, PAIN_MIN
from companion.schema_of import SchemaOf
from companion.summary.advice import Advice
from companion.summary.morning import TREND_DAYS, DayPart, TrendDirection

Count = Annotated[int, Ge(0)]
# Ratings on the 0-10 scale the dashboard and the CLI take.
PainRating = Annotated[int, Interval(ge=PAIN_MIN, le=PAIN_MAX)]
Share = Annotated[float, Interval(ge=0, le=1)]
IsoDay = Annotated[str, Field(json_schema_extra={"format": "date"})]
IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
# ``Advice.to_json``: the advice record field by field.
AdviceJson = Annotated[dict[str, str], SchemaOf(Advice)]


class Done(TypedDict):
    planned: Count
    done: Count


class SessionHeart(TypedDict):
    """A session's heart figures from clean beats, named as in the sessions API (the
    breathing rate only when confident)."""

    hr_min: float | None
    hr_mean: float | None
    hr_max: float | None
    rmssd_ms: float | None
    beats_kept: Count | None
    beats_rejected: Count | None
    breathing_rate_bpm: Annotated[
        float | None,
        Field(description="Breaths a minute from the heart rhythm; null unless confident."),
    ]
    breathing_confidence: Share | None


class SummarySession(SessionHeart):
    """One session of the window, with its heart figures."""

    id: str
    routine: str
    title: str
    part: DayPart
    started_at: IsoTime
    ended_at: IsoTime | None
    duration_s: float | None
    outcome: SessionState
    steps: Annotated[Done, Field(description="Exercise steps (transitions left out).")]
    pain_before: PainRating | None
    pain_after: PainRating | None


class SummaryWindow(TypedDict):
    """Sessions that started from 18:00 the day before up to 18:00 on the day (or now, if
    earlier)."""

    start: IsoTime
    end: IsoTime


class Exercises(TypedDict):
    sessions: Count
    steps: Annotated[Done, Field(description="Exercise steps.")]
    holds: Annotated[Done, Field(description="Steps held for a number of breaths.")]
    reps: Annotated[Done, Field(description="Repetitions of repeated movements.")]


class HeartRate(TypedDict):
    """Beats per minute during the window's sessions, worn samples only."""

    min: float | None
    mean: float | None
    max: float | None
    resting: float | None


class TrendDay(TypedDict):
    day: IsoDay
    value: float


class TrendJson(TypedDict):
    """A figure over the seven days up to the summary's day (days with data only); unknown
    with fewer than three such days."""

    direction: TrendDirection
    change: float | None
    days: Annotated[list[TrendDay], MaxLen(TREND_DAYS)]


class Pain(TypedDict):
    before: PainRating | None
    after: PainRating | None
    trend: Annotated[TrendJson, Field(description="Each day's mean rating before sessions.")]


class Summary(TypedDict):
    """The morning summary: how last evening and this morning went, and the week."""

    day: IsoDay
    generated_at: IsoTime
    window: SummaryWindow
    sessions: list[SummarySession]
    exercises: Exercises
    heart_rate: HeartRate
    rmssd_ms: float | None
    rmssd_trend: Annotated[TrendJson, Field(description="Each day's mean RMSSD.")]
    breathing_score: Annotated[
        Share | None,
        Field(description="How closely the heart rhythm followed the breathing cues."),
    ]
    breathing_note: Annotated[
        Literal["not enough signal"] | None,
        Field(description="Why there is no breathing score although the pacer ran."),
    ]
    pain: Pain
    streak_days: Count
    advice: AdviceJson
