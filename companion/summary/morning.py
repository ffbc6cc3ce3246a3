"""The morning summary: how last evening and this morning went, and the trend of the week.

Pure over plain values that the store fills in (``SessionFacts``); ``now`` and the time
zone are passed in. Windows and days are local to that time zone:

* A summary for day D covers sessions that *started* from 18:00 on D-1 up to 18:00 on D
  (or ``now``, if earlier). Those from before 04:00 on D are "last evening", the rest
  "this morning"; a session that runs past midnight stays with the evening it began in.
  Every session thus belongs to exactly one summary, whatever daylight saving does to
  the length of the night.
* Trends and the streak use calendar days, each session counted on the local date it
  started.

All arithmetic on instants is done in UTC, since Python compares and subtracts two times
that share a tzinfo by their wall clock, which goes wrong across a clock change.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Final

from companion.events import SessionState
from companion.heart import physiology
from companion.summary.advice import Advice, AdviceFacts, choose_advice

if TYPE_CHECKING:
    # The JSON's types; that module reads this one's enums.
    from companion.summary import shown

EVENING_STARTS = time(18, 0)
MORNING_STARTS = time(4, 0)
TREND_DAYS = 7
MIN_TREND_DAYS = 3
# Least-squares change across the days with data that counts as a direction, not noise.
PAIN_TREND_POINTS = 1.0
RMSSD_TREND_FRACTION = 0.10
ONE_LINE_MAX = 60
RR_SHARE_FOR_FIGURES = 0.5
NOT_ENOUGH_SIGNAL: Final = "not enough signal"
# Plain ASCII: watch faces often lack glyphs beyond it.
ONE_LINE_SEPARATOR = " | "

# Spelled out here so text never depends on the machine's locale.
WEEKDAY_NAMES: Final = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
MONTH_NAMES: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class DayPart(enum.StrEnum):
    EVENING = "evening"
    MORNING = "morning"


class TrendDirection(enum.StrEnum):
    RISING = "rising"
    FALLING = "falling"
    STEADY = "steady"
    UNKNOWN = "unknown"  # fewer than MIN_TREND_DAYS days with data


@dataclass(frozen=True)
class HeartRateStats:
    """Heart rate over a session, for stores that aggregate in SQL instead of sending samples."""

    minimum: float
    mean: float
    maximum: float
    samples: int


@dataclass(frozen=True)
class SessionFacts:
    """One logged session, as the store reads it.

    Heart rate comes either as ``hr_samples`` ((seconds since ``started_at``, bpm) pairs)
    or as ``hr_stats``; resting heart rate needs the samples. RMSSD comes from ``rr_ms``
    or, when the store keeps it, ``rmssd_ms``.
    """

    id: str
    routine: str
    title: str
    started_at: datetime
    ended_at: datetime | None
    outcome: SessionState
    pain_before: int | None = None
    pain_after: int | None = None
    planned_steps: int = 0
    completed_steps: int = 0
    holds_planned: int = 0
    holds_done: int = 0
    reps_planned: int = 0
    reps_done: int = 0
    hr_samples: Sequence[tuple[float, float]] = ()
    hr_stats: HeartRateStats | None = None
    rr_ms: Sequence[float] = ()
    rmssd_ms: float | None = None
    breathing_score: float | None = None
    # The store's figures from clean beats with their real times (breathing needs those);
    # without them they are worked out from ``rr_ms`` or ``hr_samples``.
    figures: physiology.HeartFigures | None = None
    # The pacer's cues were there to score against, but no confident breathing rate.
    breathing_withheld: bool = False

    def __post_init__(self) -> None:
        for name, value in (("started_at", self.started_at), ("ended_at", self.ended_at)):
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"session {self.id}: {name} must carry a time zone")

    @property
    def counts_for_streak(self) -> bool:
        return self.completed_steps > 0

    def heart_figures(self) -> physiology.HeartFigures:
        """From clean beats: RR when there are at least half as many intervals as worn
        samples, else the samples, cleaned alike (one glitch is never the lowest)."""
        if self.figures is not None:
            return self.figures
        values = [bpm for _, bpm in self.hr_samples if bpm > 0]
        if self.rr_ms and len(self.rr_ms) >= RR_SHARE_FOR_FIGURES * len(values):
            return physiology.heart_figures(physiology.beat_times(self.rr_ms), self.rr_ms)
        return physiology.heart_figures((), (), values)

    def heart_rate_stats(self) -> HeartRateStats | None:
        if self.hr_stats is not None:
            return self.hr_stats
        figures = self.heart_figures()
        if figures.hr_min is None or figures.hr_mean is None or figures.hr_max is None:
            return None
        count = len([bpm for _, bpm in self.hr_samples if bpm > 0]) or figures.beats_kept
        return HeartRateStats(figures.hr_min, figures.hr_mean, figures.hr_max, count)

    def rmssd(self) -> float | None:
        if self.rmssd_ms is not None:
            return self.rmssd_ms
        if self.figures is not None:
            return self.figures.rmssd_ms
        return physiology.rmssd(physiology.clean_rr(self.rr_ms)) if self.rr_ms else None


@dataclass(frozen=True)
class SessionLine:
    id: str
    routine: str
    title: str
    part: DayPart
    started_at: datetime  # local time
    ended_at: datetime | None
    outcome: SessionState
    planned_steps: int
    completed_steps: int
    pain_before: int | None
    pain_after: int | None
    heart: physiology.HeartFigures | None = None

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at.astimezone(UTC) - self.started_at.astimezone(UTC)).total_seconds()


@dataclass(frozen=True)
class ExerciseTotals:
    sessions: int = 0
    steps_planned: int = 0
    steps_done: int = 0
    holds_planned: int = 0
    holds_done: int = 0
    reps_planned: int = 0
    reps_done: int = 0


@dataclass(frozen=True)
class HeartSummary:
    minimum: float | None = None
    mean: float | None = None
    maximum: float | None = None
    resting: float | None = None


@dataclass(frozen=True)
class Trend:
    direction: TrendDirection
    change: float | None  # fitted change from the first to the last day with data
    days: tuple[tuple[date, float], ...]


@dataclass(frozen=True)
class MorningSummary:
    day: date
    generated_at: datetime
    window_start: datetime
    window_end: datetime
    sessions: tuple[SessionLine, ...]
    exercises: ExerciseTotals
    heart: HeartSummary
    rmssd_ms: float | None
    rmssd_trend: Trend
    breathing_score: float | None
    pain_before: int | None  # the first rating before a session in the window
    pain_after: int | None  # the last rating after a session in the window
    pain_trend: Trend
    streak_days: int
    advice: Advice
    # No score, though the pacer's cues were there: the heart showed no confident rate.
    breathing_withheld: bool = False

    @property
    def evening(self) -> tuple[SessionLine, ...]:
        return tuple(s for s in self.sessions if s.part is DayPart.EVENING)

    @property
    def morning(self) -> tuple[SessionLine, ...]:
        return tuple(s for s in self.sessions if s.part is DayPart.MORNING)

    def to_json(self) -> shown.Summary:
        """The summary as JSON (its keys and values typed in companion/summary/shown.py)."""
        return {
            "day": self.day.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat()},
            "sessions": [_session_json(s) for s in self.sessions],
            "exercises": {
                "sessions": self.exercises.sessions,
                "steps": {
                    "planned": self.exercises.steps_planned,
                    "done": self.exercises.steps_done,
                },
                "holds": {
                    "planned": self.exercises.holds_planned,
                    "done": self.exercises.holds_done,
                },
                "reps": {"planned": self.exercises.reps_planned, "done": self.exercises.reps_done},
            },
            "heart_rate": {
                "min": _round(self.heart.minimum, 1),
                "mean": _round(self.heart.mean, 1),
                "max": _round(self.heart.maximum, 1),
                "resting": _round(self.heart.resting, 1),
            },
            "rmssd_ms": _round(self.rmssd_ms, 1),
            "rmssd_trend": _trend_json(self.rmssd_trend, 1),
            "breathing_score": _round(self.breathing_score, 2),
            "breathing_note": (
                NOT_ENOUGH_SIGNAL
                if self.breathing_score is None and self.breathing_withheld
                else None
            ),
            "pain": {
                "before": self.pain_before,
                "after": self.pain_after,
                "trend": _trend_json(self.pain_trend, 2),
            },
            "streak_days": self.streak_days,
            "advice": self.advice.to_json(),
        }


def build_summary(
    day: date,
    tz: tzinfo,
    sessions_by_day: Mapping[date, Sequence[SessionFacts]],
    now: datetime,
) -> MorningSummary:
    """The summary for ``day`` as known at ``now``.

    ``sessions_by_day`` should hold at least the sessions from seven days before ``day``
    (for trends) and enough earlier days to see the streak end. Its keys only group the
    input: each session is placed by its own ``started_at``. Sessions after ``now`` are ignored.
    """
    now_utc = now.astimezone(UTC)
    everything = sorted(
        (s for group in sessions_by_day.values() for s in group if _utc(s.started_at) <= now_utc),
        key=lambda s: _utc(s.started_at),
    )
    window_start = datetime.combine(day - timedelta(days=1), EVENING_STARTS, tzinfo=tz)
    morning_start = datetime.combine(day, MORNING_STARTS, tzinfo=tz)
    window_close = datetime.combine(day, EVENING_STARTS, tzinfo=tz)
    window_end = min(window_close.astimezone(UTC), now_utc).astimezone(tz)
    in_window = [
        s for s in everything if _utc(window_start) <= _utc(s.started_at) < _utc(window_close)
    ]
    lines = tuple(
        _line(
            s, tz, DayPart.EVENING if _utc(s.started_at) < _utc(morning_start) else DayPart.MORNING
        )
        for s in in_window
    )
    by_date = _by_local_date(everything, tz)
    week = [day - timedelta(days=k) for k in range(TREND_DAYS - 1, -1, -1)]
    pain_trend = _trend(
        [(d, _mean(s.pain_before for s in by_date.get(d, ()))) for d in week],
        PAIN_TREND_POINTS,
        None,
    )
    rmssd_trend = _trend(
        [(d, _mean(s.rmssd() for s in by_date.get(d, ()))) for d in week],
        None,
        RMSSD_TREND_FRACTION,
    )
    breathing = _mean(s.breathing_score for s in in_window)
    stopped_for_pain = any(s.outcome is SessionState.PAIN for s in in_window)
    active_days = {d for d, group in by_date.items() if any(s.counts_for_streak for s in group)}
    advice = choose_advice(
        AdviceFacts(
            day=day,
            days_since_last_session=_days_since_last(active_days, day),
            pain_rising=pain_trend.direction is TrendDirection.RISING,
            latest_pain=_latest_pain(everything),
            stopped_for_pain=stopped_for_pain,
            breathing_score=breathing,
        )
    )
    return MorningSummary(
        day=day,
        generated_at=now.astimezone(tz),
        window_start=window_start,
        window_end=window_end,
        sessions=lines,
        exercises=_totals(in_window),
        heart=_heart(in_window),
        rmssd_ms=_mean(s.rmssd() for s in in_window),
        rmssd_trend=rmssd_trend,
        breathing_score=breathing,
        pain_before=next((s.pain_before for s in in_window if s.pain_before is not None), None),
        pain_after=next(
            (s.pain_after for s in reversed(in_window) if s.pain_after is not None), None
        ),
        pain_trend=pain_trend,
        streak_days=_streak(active_days, day),
        advice=advice,
        breathing_withheld=any(s.breathing_withheld for s in in_window),
    )


def format_summary_text(summary: MorningSummary) -> str:
    """Several plain lines for the CLI and the dashboard."""
    day = summary.day
    weekday, month = WEEKDAY_NAMES[day.weekday()], MONTH_NAMES[day.month - 1]
    lines = [f"Morning summary for {weekday} {day.day} {month} {day.year}"]
    if not summary.sessions:
        lines.append("No routine since yesterday evening.")
    for label, group in (("Last evening", summary.evening), ("This morning", summary.morning)):
        for line in group:
            lines.append(f"{label}: {_describe(line)}")
    totals = summary.exercises
    if totals.sessions:
        parts = [f"{totals.steps_done} of {totals.steps_planned} steps"]
        if totals.holds_planned:
            parts.append(f"holds {totals.holds_done}/{totals.holds_planned}")
        if totals.reps_planned:
            parts.append(f"repetitions {totals.reps_done}/{totals.reps_planned}")
        lines.append("Exercises: " + ", ".join(parts))
    heart = summary.heart
    if heart.mean is not None and heart.minimum is not None and heart.maximum is not None:
        text = f"Heart rate: {heart.minimum:.0f}-{heart.maximum:.0f} bpm, mean {heart.mean:.0f}"
        if heart.resting is not None:
            text += f", resting {heart.resting:.0f}"
        lines.append(text)
    if summary.rmssd_ms is not None:
        lines.append(
            f"Heart-rate variability (RMSSD): {summary.rmssd_ms:.0f} ms"
            f"{_trend_words(summary.rmssd_trend)}"
        )
    if summary.breathing_score is not None:
        lines.append(f"Breathing with the pacer: {summary.breathing_score * 100:.0f} %")
    elif summary.breathing_withheld:
        lines.append(f"Breathing with the pacer: {NOT_ENOUGH_SIGNAL}")
    if summary.pain_before is not None or summary.pain_after is not None:
        lines.append(
            f"Pain: {_or_dash(summary.pain_before)} before, {_or_dash(summary.pain_after)} after"
            f"{_trend_words(summary.pain_trend)}"
        )
    days = summary.streak_days
    lines.append(f"Streak: {days} day{'' if days == 1 else 's'} in a row")
    lines.append(f"Tip - {summary.advice.title}: {summary.advice.text}")
    return "\n".join(lines)


def one_line(summary: MorningSummary) -> str:
    """At most 60 characters for a watch face; the least important parts go first."""
    totals = summary.exercises
    parts: list[str] = []
    if totals.sessions:
        parts.append(f"{totals.steps_done}/{totals.steps_planned} steps")
    else:
        parts.append("No routine")
    if summary.pain_before is not None and summary.pain_after is not None:
        parts.append(f"pain {summary.pain_before}>{summary.pain_after}")
    heart_rate = summary.heart.resting if summary.heart.resting is not None else summary.heart.mean
    if heart_rate is not None:
        parts.append(f"HR {heart_rate:.0f}")
    parts.append(f"streak {summary.streak_days}d")
    if summary.rmssd_ms is not None:
        parts.append(f"RMSSD {summary.rmssd_ms:.0f}")
    # Parts are in order of importance, so the tail goes first when space runs out.
    while len(ONE_LINE_SEPARATOR.join(parts)) > ONE_LINE_MAX and len(parts) > 1:
        parts.pop()
    return ONE_LINE_SEPARATOR.join(parts)[:ONE_LINE_MAX]


# --- helpers -------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _line(s: SessionFacts, tz: tzinfo, part: DayPart) -> SessionLine:
    return SessionLine(
        id=s.id,
        routine=s.routine,
        title=s.title,
        part=part,
        started_at=s.started_at.astimezone(tz),
        ended_at=None if s.ended_at is None else s.ended_at.astimezone(tz),
        outcome=s.outcome,
        planned_steps=s.planned_steps,
        completed_steps=s.completed_steps,
        pain_before=s.pain_before,
        pain_after=s.pain_after,
        heart=s.heart_figures(),
    )


def _by_local_date(sessions: Iterable[SessionFacts], tz: tzinfo) -> dict[date, list[SessionFacts]]:
    grouped: dict[date, list[SessionFacts]] = {}
    for s in sessions:
        grouped.setdefault(s.started_at.astimezone(tz).date(), []).append(s)
    return grouped


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _totals(sessions: Sequence[SessionFacts]) -> ExerciseTotals:
    return ExerciseTotals(
        sessions=len(sessions),
        steps_planned=sum(s.planned_steps for s in sessions),
        steps_done=sum(s.completed_steps for s in sessions),
        holds_planned=sum(s.holds_planned for s in sessions),
        holds_done=sum(s.holds_done for s in sessions),
        reps_planned=sum(s.reps_planned for s in sessions),
        reps_done=sum(s.reps_done for s in sessions),
    )


def _heart(sessions: Sequence[SessionFacts]) -> HeartSummary:
    stats = [st for st in (s.heart_rate_stats() for s in sessions) if st is not None]
    if not stats:
        return HeartSummary()
    count = sum(st.samples for st in stats)
    mean = (
        sum(st.mean * st.samples for st in stats) / count
        if count
        else statistics.fmean(st.mean for st in stats)
    )
    samples = [
        (_utc(s.started_at).timestamp() + t_s, bpm) for s in sessions for t_s, bpm in s.hr_samples
    ]
    return HeartSummary(
        minimum=min(st.minimum for st in stats),
        mean=mean,
        maximum=max(st.maximum for st in stats),
        resting=physiology.resting_hr(samples),
    )


def _trend(
    days: Sequence[tuple[date, float | None]], absolute: float | None, relative: float | None
) -> Trend:
    """Direction from a least-squares line through the days with data.

    The change it fits from the first to the last of those days must reach ``absolute``
    (or ``relative`` times their mean) to count as rising or falling.
    """
    points = tuple((d, v) for d, v in days if v is not None)
    if len(points) < MIN_TREND_DAYS:
        return Trend(TrendDirection.UNKNOWN, None, points)
    xs = [float(d.toordinal()) for d, _ in points]
    ys = [v for _, v in points]
    x_mean, y_mean = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - x_mean) ** 2 for x in xs)
    slope = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / sxx
    change = slope * (xs[-1] - xs[0])
    threshold = absolute if absolute is not None else (relative or 0.0) * abs(y_mean)
    if change >= threshold:
        direction = TrendDirection.RISING
    elif change <= -threshold:
        direction = TrendDirection.FALLING
    else:
        direction = TrendDirection.STEADY
    return Trend(direction, change, points)


def _streak(active_days: set[date], day: date) -> int:
    """Consecutive days with a routine, up to today or, before today's, up to yesterday."""
    current = day if day in active_days else day - timedelta(days=1)
    count = 0
    while current in active_days:
        count += 1
        current -= timedelta(days=1)
    return count


def _days_since_last(active_days: set[date], day: date) -> int | None:
    past = [d for d in active_days if d <= day]
    return (day - max(past)).days if past else None


def _latest_pain(sessions: Sequence[SessionFacts]) -> int | None:
    for s in reversed(sessions):
        rating = s.pain_after if s.pain_after is not None else s.pain_before
        if rating is not None:
            return rating
    return None


def _describe(line: SessionLine) -> str:
    span = f"{line.started_at:%H:%M}"
    if line.ended_at is not None:
        span += f"-{line.ended_at:%H:%M}"
    text = (
        f"{line.title}, {span}, {line.outcome.in_words}, "
        f"{line.completed_steps}/{line.planned_steps} steps"
    )
    if line.pain_before is not None or line.pain_after is not None:
        text += f", pain {_or_dash(line.pain_before)} > {_or_dash(line.pain_after)}"
    heart = line.heart
    if heart is not None and heart.rmssd_ms is not None:
        text += f", RMSSD {heart.rmssd_ms:.0f} ms"
        text += f" ({heart.beats_kept} beats, {heart.beats_rejected} set aside)"
    if heart is not None and heart.breathing_rate_bpm is not None:
        text += f", breathing {heart.breathing_rate_bpm:.0f} a minute"
    return text


def _trend_words(trend: Trend) -> str:
    if trend.direction is TrendDirection.UNKNOWN:
        return ""
    return f"; {trend.direction.value} over {TREND_DAYS} days"


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _session_json(line: SessionLine) -> shown.SummarySession:
    return {
        "id": line.id,
        "routine": line.routine,
        "title": line.title,
        "part": line.part,
        "started_at": line.started_at.isoformat(),
        "ended_at": None if line.ended_at is None else line.ended_at.isoformat(),
        "duration_s": _round(line.duration_s, 1),
        "outcome": line.outcome,
        "steps": {"planned": line.planned_steps, "done": line.completed_steps},
        "pain_before": line.pain_before,
        "pain_after": line.pain_after,
        **_heart_json(line.heart),
    }


def _heart_json(heart: physiology.HeartFigures | None) -> shown.SessionHeart:
    """The session's figures under the same names as the sessions API."""
    if heart is None:
        heart = physiology.HeartFigures(None, None, None, None, 0, 0, None)
    counted = heart.beats_kept + heart.beats_rejected > 0
    return {
        "hr_min": _round(heart.hr_min, 1),
        "hr_mean": _round(heart.hr_mean, 1),
        "hr_max": _round(heart.hr_max, 1),
        "rmssd_ms": _round(heart.rmssd_ms, 1),
        "beats_kept": heart.beats_kept if counted else None,
        "beats_rejected": heart.beats_rejected if counted else None,
        "breathing_rate_bpm": _round(heart.breathing_rate_bpm, 1),
        "breathing_confidence": _round(heart.breathing_confidence, 2),
    }


def _trend_json(trend: Trend, digits: int) -> shown.TrendJson:
    return {
        "direction": trend.direction,
        "change": _round(trend.change, digits),
        "days": [{"day": d.isoformat(), "value": round(v, digits)} for d, v in trend.days],
    }
