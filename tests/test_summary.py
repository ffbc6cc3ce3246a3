"""The morning summary over constructed histories, and the advice rule it uses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from companion.events import SessionState
from companion.summary.advice import ADVICE, ROTATION, AdviceFacts, AdviceKey, choose_advice
from companion.summary.morning import (
    ONE_LINE_MAX,
    DayPart,
    HeartRateStats,
    HeartSummary,
    MorningSummary,
    SessionFacts,
    TrendDirection,
    build_summary,
    format_summary_text,
    one_line,
)

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 5, 12)  # a Tuesday, far from any clock change
MORNING_NOW = datetime(2026, 5, 12, 9, 0, tzinfo=BERLIN)
MEDICINE_WORDS = {
    "ibuprofen",
    "paracetamol",
    "dose",
    "dosage",
    "pill",
    "pills",
    "tablets",
    "medication",
}


def at(day: date, hour: int, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN, fold=fold)


def session(
    sid: str,
    started_at: datetime,
    minutes: float = 15.0,
    **overrides: Any,
) -> SessionFacts:
    values: dict[str, Any] = {
        "id": sid,
        "routine": "bedtime",
        "title": "Bedtime unwind",
        "started_at": started_at,
        "ended_at": (started_at.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(BERLIN),
        "outcome": SessionState.COMPLETED,
        "planned_steps": 6,
        "completed_steps": 6,
    }
    values.update(overrides)
    return SessionFacts(**values)


def by_day(sessions: Iterable[SessionFacts]) -> dict[date, list[SessionFacts]]:
    grouped: dict[date, list[SessionFacts]] = {}
    for s in sessions:
        grouped.setdefault(s.started_at.astimezone(BERLIN).date(), []).append(s)
    return grouped


def summarise(
    sessions: Iterable[SessionFacts], day: date = DAY, now: datetime = MORNING_NOW
) -> MorningSummary:
    return build_summary(day, BERLIN, by_day(sessions), now)


# --- windows --------------------------------------------------------------------------------


def test_empty_history_gives_an_empty_summary_that_suggests_starting_gently() -> None:
    summary = summarise([])
    assert summary.to_json() == {
        "day": "2026-05-12",
        "generated_at": "2026-05-12T09:00:00+02:00",
        "window": {"start": "2026-05-11T18:00:00+02:00", "end": "2026-05-12T09:00:00+02:00"},
        "sessions": [],
        "exercises": {
            "sessions": 0,
            "steps": {"planned": 0, "done": 0},
            "holds": {"planned": 0, "done": 0},
            "reps": {"planned": 0, "done": 0},
        },
        "heart_rate": {"min": None, "mean": None, "max": None, "resting": None},
        "rmssd_ms": None,
        "rmssd_trend": {"direction": "unknown", "change": None, "days": []},
        "breathing_score": None,
        "breathing_note": None,
        "pain": {
            "before": None,
            "after": None,
            "trend": {"direction": "unknown", "change": None, "days": []},
        },
        "streak_days": 0,
        "advice": ADVICE[AdviceKey.START_SLOW].to_json(),
    }
    assert one_line(summary) == "No routine | streak 0d"


def test_window_runs_from_six_last_evening_and_splits_at_four_in_the_morning() -> None:
    yesterday = DAY - timedelta(days=1)
    sessions = [
        session("too-early", at(yesterday, 17, 59)),
        session("evening", at(yesterday, 18, 0)),
        session("late", at(yesterday, 23, 50), minutes=35),
        session("small-hours", at(DAY, 3, 59)),
        session("morning", at(DAY, 4, 0)),
        session("after-now", at(DAY, 9, 30)),
    ]
    summary = summarise(sessions)
    assert [(s.id, s.part) for s in summary.sessions] == [
        ("evening", DayPart.EVENING),
        ("late", DayPart.EVENING),
        ("small-hours", DayPart.EVENING),
        ("morning", DayPart.MORNING),
    ]


def test_window_closes_at_six_in_the_evening_of_the_day() -> None:
    sessions = [session("noon", at(DAY, 12)), session("next-evening", at(DAY, 18))]
    summary = summarise(sessions, now=at(DAY, 22))
    assert [s.id for s in summary.sessions] == ["noon"]
    assert summary.window_end == at(DAY, 18)


def test_session_across_midnight_stays_with_its_evening_and_keeps_its_length() -> None:
    late = session("late", at(DAY - timedelta(days=1), 23, 50), minutes=25)
    summary = summarise([late])
    (line,) = summary.evening
    assert (line.id, line.duration_s) == ("late", 25 * 60.0)
    assert summary.morning == ()


def test_spring_forward_night_is_an_hour_shorter_and_durations_stay_true() -> None:
    day = date(2026, 3, 29)  # 02:00 CET becomes 03:00 CEST
    crossing = session("crossing", at(day, 1, 50), minutes=20)  # ends 03:10 CEST
    summary = summarise([crossing], day=day, now=at(day, 8))
    (line,) = summary.sessions
    assert (line.part, line.duration_s) == (DayPart.EVENING, 1200.0)
    assert line.ended_at == at(day, 3, 10)
    assert summary.window_end - summary.window_start == timedelta(hours=14)  # wall clock
    real = summary.window_end.astimezone(UTC) - summary.window_start.astimezone(UTC)
    assert real == timedelta(hours=13)


def test_fall_back_night_keeps_both_half_past_twos_in_order() -> None:
    day = date(2026, 10, 25)  # 03:00 CEST becomes 02:00 CET: 02:00-03:00 happens twice
    first = session("first", at(day, 2, 30, fold=0), minutes=10)
    second = session("second", at(day, 2, 20, fold=1), minutes=10)
    spanning = session("spanning", at(day, 2, 40, fold=0), minutes=30)  # ends 02:10 CET
    summary = summarise([second, spanning, first], day=day, now=at(day, 8))
    assert [(s.id, s.part, s.duration_s) for s in summary.sessions] == [
        ("first", DayPart.EVENING, 600.0),
        ("spanning", DayPart.EVENING, 1800.0),
        ("second", DayPart.EVENING, 600.0),
    ]
    real = summary.window_end.astimezone(UTC) - summary.window_start.astimezone(UTC)
    assert real == timedelta(hours=15)


def test_keys_of_the_mapping_do_not_decide_where_a_session_belongs() -> None:
    misfiled = {DAY - timedelta(days=5): [session("evening", at(DAY - timedelta(days=1), 21))]}
    summary = build_summary(DAY, BERLIN, misfiled, MORNING_NOW)
    assert [s.id for s in summary.sessions] == ["evening"]


def test_naive_session_times_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        session("naive", datetime(2026, 5, 11, 21, 0))


# --- figures --------------------------------------------------------------------------------


def test_exercises_add_up_over_the_window() -> None:
    sessions = [
        session(
            "evening",
            at(DAY - timedelta(days=1), 21),
            holds_planned=6,
            holds_done=6,
            reps_planned=20,
            reps_done=20,
        ),
        session(
            "morning",
            at(DAY, 7),
            outcome=SessionState.STOPPED,
            planned_steps=5,
            completed_steps=2,
            holds_planned=4,
            holds_done=1,
            reps_planned=30,
            reps_done=10,
        ),
    ]
    assert summarise(sessions).to_json()["exercises"] == {
        "sessions": 2,
        "steps": {"planned": 11, "done": 8},
        "holds": {"planned": 10, "done": 7},
        "reps": {"planned": 50, "done": 30},
    }


def test_heart_rate_from_samples_and_from_precomputed_stats() -> None:
    evening_samples = [(float(k), 60.0 + (k % 60) / 10.0) for k in range(0, 300)]  # 5 minutes
    sessions = [
        session("evening", at(DAY - timedelta(days=1), 21), hr_samples=evening_samples),
        session("morning", at(DAY, 7), hr_stats=HeartRateStats(52.0, 70.0, 95.0, 300)),
    ]
    summary = summarise(sessions)
    assert summary.heart == HeartSummary(
        minimum=52.0,
        mean=pytest.approx((62.95 * 300 + 70.0 * 300) / 600),
        maximum=95.0,
        resting=pytest.approx(62.95),
    )


def test_pain_before_is_the_first_rating_and_after_the_last() -> None:
    sessions = [
        session("evening", at(DAY - timedelta(days=1), 21), pain_before=5, pain_after=4),
        session("morning", at(DAY, 7), pain_before=4, pain_after=2),
    ]
    summary = summarise(sessions)
    assert (summary.pain_before, summary.pain_after) == (5, 2)


def test_rmssd_and_breathing_score_average_over_the_window_sessions() -> None:
    sessions = [
        session("evening", at(DAY - timedelta(days=1), 21), rr_ms=[1000.0, 1020.0] * 8),
        session("morning", at(DAY, 7), rmssd_ms=40.0, breathing_score=0.9),
        session("other", at(DAY, 8), breathing_score=0.7),
    ]
    summary = summarise(sessions)
    assert (summary.rmssd_ms, summary.breathing_score) == (
        pytest.approx(30.0),
        pytest.approx(0.8),
    )


# --- streak and trends ------------------------------------------------------------------------


def _daily(days_back: Iterable[int], **overrides: Any) -> list[SessionFacts]:
    return [
        session(f"d{k}", at(DAY - timedelta(days=k), 21 if k else 7), **overrides)
        for k in days_back
    ]


@pytest.mark.parametrize(
    ("days_back", "expected"),
    [
        ([0, 1, 2, 4, 5], 3),  # today, yesterday, the day before; then a gap
        ([1, 2, 3], 3),  # none yet this morning: the streak is still alive
        ([2, 3, 4], 0),  # yesterday missed
        ([0], 1),
        ([], 0),
    ],
)
def test_streak_counts_consecutive_days_with_a_routine(days_back: list[int], expected: int) -> None:
    assert summarise(_daily(days_back)).streak_days == expected


def test_sessions_without_a_completed_step_do_not_keep_the_streak() -> None:
    sessions = [*_daily([1, 2]), session("abandoned", at(DAY, 7), completed_steps=0)]
    summary = summarise(sessions)
    assert summary.streak_days == 2


@pytest.mark.parametrize(
    ("pains", "direction"),
    [
        ({6: 2, 5: 3, 4: 3, 3: 4, 2: 4, 1: 5, 0: 5}, TrendDirection.RISING),
        ({6: 6, 4: 5, 2: 4, 0: 3}, TrendDirection.FALLING),
        ({6: 4, 3: 5, 0: 4}, TrendDirection.STEADY),
        ({1: 2, 0: 6}, TrendDirection.UNKNOWN),  # two days are not a trend
        ({9: 1, 8: 1, 0: 6}, TrendDirection.UNKNOWN),  # only the last seven days count
    ],
)
def test_pain_trend_over_seven_days(pains: dict[int, int], direction: TrendDirection) -> None:
    sessions = [
        session(f"d{k}", at(DAY - timedelta(days=k), 7), pain_before=pain)
        for k, pain in pains.items()
    ]
    assert summarise(sessions).pain_trend.direction is direction


def test_rmssd_trend_is_relative_to_its_level() -> None:
    rising = [
        session(f"d{k}", at(DAY - timedelta(days=k), 7), rmssd_ms=value)
        for k, value in {4: 30.0, 2: 33.0, 0: 36.0}.items()
    ]
    steady = [
        session(f"d{k}", at(DAY - timedelta(days=k), 7), rmssd_ms=value)
        for k, value in {4: 30.0, 2: 31.0, 0: 31.5}.items()
    ]
    rising_trend = summarise(rising).rmssd_trend
    assert (rising_trend.direction, rising_trend.change) == (
        TrendDirection.RISING,
        pytest.approx(6.0),
    )
    assert summarise(steady).rmssd_trend.direction is TrendDirection.STEADY


# --- advice in the summary ------------------------------------------------------------------


def test_summary_advice_turns_to_a_professional_after_a_pain_stop() -> None:
    sessions = [
        *_daily([1, 2]),
        session("morning", at(DAY, 7), outcome=SessionState.PAIN, completed_steps=1),
    ]
    assert summarise(sessions).advice.key is AdviceKey.CONSULT_PROFESSIONAL


def test_summary_advice_after_days_without_a_routine_is_to_keep_moving() -> None:
    assert summarise(_daily([3, 4])).advice.key is AdviceKey.STAY_ACTIVE


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (AdviceFacts(DAY, 0, stopped_for_pain=True), AdviceKey.CONSULT_PROFESSIONAL),
        (AdviceFacts(DAY, 0, latest_pain=8), AdviceKey.CONSULT_PROFESSIONAL),
        (AdviceFacts(DAY, 0, pain_rising=True, latest_pain=5), AdviceKey.HEAT_COLD),
        (AdviceFacts(DAY, None), AdviceKey.START_SLOW),
        (AdviceFacts(DAY, 2), AdviceKey.STAY_ACTIVE),
        (AdviceFacts(DAY, 0, breathing_score=0.3), AdviceKey.STRESS),
        (AdviceFacts(DAY, 1, breathing_score=0.9), ROTATION[DAY.toordinal() % len(ROTATION)]),
    ],
)
def test_choose_advice_first_rule_that_fits(facts: AdviceFacts, expected: AdviceKey) -> None:
    assert choose_advice(facts) == ADVICE[expected]


def test_advice_of_the_day_rotates_through_every_tip_in_turn() -> None:
    days = [DAY + timedelta(days=k) for k in range(len(ROTATION))]
    chosen = [choose_advice(AdviceFacts(d, 0)).key for d in days]
    assert sorted(chosen) == sorted(ROTATION)
    assert chosen == [ROTATION[d.toordinal() % len(ROTATION)] for d in days]


def test_every_tip_is_short_and_says_nothing_about_medicines() -> None:
    for advice in ADVICE.values():
        assert len(advice.text) <= 240
        assert not set(re.findall(r"[a-z]+", advice.text.lower())) & MEDICINE_WORDS


# --- text output ----------------------------------------------------------------------------


def _typical_night() -> list[SessionFacts]:
    return [
        *_daily([1, 2, 3], pain_before=5),
        session(
            "evening",
            at(DAY - timedelta(days=1), 21, 30),
            pain_before=5,
            pain_after=3,
            hr_stats=HeartRateStats(55.0, 62.0, 78.0, 600),
            rmssd_ms=42.0,
            breathing_score=0.82,
            holds_planned=6,
            holds_done=6,
        ),
        session(
            "morning",
            at(DAY, 7, 10),
            minutes=12,
            routine="morning",
            title="Morning mobility",
            outcome=SessionState.STOPPED,
            planned_steps=5,
            completed_steps=3,
            pain_before=4,
            pain_after=3,
            reps_planned=30,
            reps_done=20,
        ),
    ]


def test_format_summary_text_reads_as_plain_lines() -> None:
    summary = summarise(_typical_night())
    tip = summary.advice
    assert format_summary_text(summary).splitlines() == [
        "Morning summary for Tuesday 12 May 2026",
        "Last evening: Bedtime unwind, 21:00-21:15, completed, 6/6 steps, pain 5 > -",
        "Last evening: Bedtime unwind, 21:30-21:45, completed, 6/6 steps, pain 5 > 3",
        "This morning: Morning mobility, 07:10-07:22, stopped early, 3/5 steps, pain 4 > 3",
        "Exercises: 15 of 17 steps, holds 6/6, repetitions 20/30",
        "Heart rate: 55-78 bpm, mean 62",
        "Heart-rate variability (RMSSD): 42 ms",
        "Breathing with the pacer: 82 %",
        "Pain: 5 before, 3 after; steady over 7 days",
        "Streak: 4 days in a row",
        f"Tip - {tip.title}: {tip.text}",
    ]


def test_format_summary_text_of_an_empty_night() -> None:
    text = format_summary_text(summarise([]))
    assert text.splitlines()[:3] == [
        "Morning summary for Tuesday 12 May 2026",
        "No routine since yesterday evening.",
        "Streak: 0 days in a row",
    ]


def test_one_line_for_a_watch() -> None:
    assert one_line(summarise(_typical_night())) == (
        "15/17 steps | pain 5>3 | HR 62 | streak 4d | RMSSD 42"
    )


def test_one_line_never_exceeds_sixty_characters() -> None:
    sessions = [
        session(
            f"s{k}",
            at(DAY, 5 + k),
            planned_steps=1000,
            completed_steps=999,
            pain_before=10,
            pain_after=10,
            hr_stats=HeartRateStats(150.0, 180.0, 199.0, 10),
            rmssd_ms=123.0,
        )
        for k in range(3)
    ]
    history = [session(f"h{k}", at(DAY - timedelta(days=k), 7)) for k in range(1, 400)]
    line = one_line(summarise([*history, *sessions]))
    assert len(line) <= ONE_LINE_MAX
    assert line.startswith("2997/3000 steps | pain 10>10 | HR 180 | streak 400d")


# --- heart figures from clean beats ---------------------------------------------------------


def test_one_glitched_sample_is_not_the_lowest_heart_rate() -> None:
    samples = tuple((float(k), 28.0 if k == 30 else 64.0 + (k % 3)) for k in range(60))
    s = session("evening", at(DAY - timedelta(days=1), 21), hr_samples=samples)
    summary = build_summary(DAY, BERLIN, by_day([s]), MORNING_NOW)
    assert summary.heart.minimum == 64.0
    assert summary.heart.maximum == 66.0


def test_one_missed_beat_is_not_the_lowest_heart_rate_from_rr() -> None:
    rr = tuple([1000.0, 1020.0] * 20 + [2124.0] + [1000.0, 1020.0] * 20)
    samples = tuple((float(k), 59.0) for k in range(len(rr)))
    s = session("evening", at(DAY - timedelta(days=1), 21), hr_samples=samples, rr_ms=rr)
    summary = build_summary(DAY, BERLIN, by_day([s]), MORNING_NOW)
    assert summary.heart.minimum == pytest.approx(60000 / 1020)
    [line] = summary.to_json()["sessions"]
    assert (line["beats_kept"], line["beats_rejected"], line["rmssd_ms"]) == (80, 1, 20.0)
    assert line["breathing_rate_bpm"] is None
    assert "RMSSD 20 ms (80 beats, 1 set aside)" in format_summary_text(summary)


def test_without_a_confident_breathing_rate_the_score_says_not_enough_signal() -> None:
    s = session("evening", at(DAY - timedelta(days=1), 21), breathing_withheld=True)
    summary = build_summary(DAY, BERLIN, by_day([s]), MORNING_NOW)
    assert summary.breathing_score is None
    assert summary.to_json()["breathing_note"] == "not enough signal"
    assert "Breathing with the pacer: not enough signal" in format_summary_text(summary)
