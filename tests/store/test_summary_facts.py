"""The morning summary's facts read from a store written the way the recorder writes it."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from companion.events import SessionState
from companion.heart import physiology
from companion.routines.catalog import built_in_routines, load_catalog
from companion.routines.plan import Plan, PlanSettings, compile_plan
from companion.routines.progression import ProgressionLevel
from companion.store.day_facts import keep_day_facts
from companion.store.summary_facts import (
    FIRST_STREAK_CHUNK_DAYS,
    forget_remembered_hearts,
    read_summary_input,
    session_facts,
    summary_for,
)
from companion.store.writes import Write, WriteKind, apply_writes
from companion.summary.advice import ADVICE, ROTATION, AdviceKey
from companion.summary.morning import TREND_DAYS, DayPart, SessionFacts, build_summary
from tests.store.conftest import BAND, record
from tests.support import Band, BandReading, ScriptedRun, breathing_in

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 5, 12)  # a Tuesday, far from any clock change
YESTERDAY = DAY - timedelta(days=1)
NOW = datetime(2026, 5, 12, 9, 0, tzinfo=BERLIN)
RR_EVEN, RR_ODD = 1000.0, 1010.0  # successive differences of exactly 10 ms
BREATH_IN_RR, BREATH_OUT_RR = 900.0, 1100.0
FINISH_LAG_S = 0.2  # the final state comes a moment after the last tick


def _taster(rest_breaths: int) -> Plan:
    catalog = load_catalog()
    routine = built_in_routines(catalog)["taster"]
    return compile_plan(
        routine, PlanSettings(rest_breaths=rest_breaths), ProgressionLevel(1, 4, "")
    )


# Get ready 0-50 s, hold (left) 50-70 s, rest 70-120 s, hold (right) 120-140 s.
TASTER = _taster(rest_breaths=5)
SHORT_TASTER = _taster(rest_breaths=1)  # 60 s
BEDTIME = compile_plan(
    built_in_routines(load_catalog())["bedtime"], PlanSettings(), ProgressionLevel(1, 4, "")
)  # 360 s


def at(day: date, hour: int, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN, fold=fold)


HeartRate = Callable[[int], tuple[int, bool | None]]


def steady(bpm: int) -> HeartRate:
    return lambda _second: (bpm, True)


RESTING_66 = steady(66)


@dataclasses.dataclass(frozen=True)
class Worn:
    """A band on the wrist reading ``heart`` each second, with an RR interval for each
    worn, beating second: 1000 and 1010 ms in turn, or (``breathing_rr``) short after
    breath-in cues and long after breath-out ones."""

    heart: HeartRate = RESTING_66
    breathing_rr: bool = False

    def __call__(self, plan: Plan, seconds: range) -> Iterator[BandReading]:
        parity = itertools.cycle((RR_EVEN, RR_ODD))
        for second in seconds:
            bpm, contact = self.heart(second)
            rr: tuple[float, ...] = ()
            if contact is not False and bpm > 0:
                rr = (self._breathing_rr(plan, second),) if self.breathing_rr else (next(parity),)
            yield BandReading(bpm, contact, rr)

    @staticmethod
    def _breathing_rr(plan: Plan, second: int) -> float:
        return BREATH_IN_RR if breathing_in(plan, second) else BREATH_OUT_RR


@dataclasses.dataclass(frozen=True)
class Run(ScriptedRun):
    """One routine (the taster unless told) as the engine and the band would report it."""

    plan: Plan = TASTER
    device: str = BAND
    band: Band | None = Worn()
    finish_lag_s: float = FINISH_LAG_S


def store(engine: Engine, runs: Sequence[Run]) -> None:
    record(engine, [event for run in runs for event in run.events()])


# How the day facts stand: kept in Berlin before the sessions were recorded (kept by the
# write path as each ends), built from the sessions afterwards (as a recorder's first
# start does), or not kept (the summary walks the sessions instead).
DAY_FACTS = ["kept", "built", "none"]


def store_with_day_facts(engine: Engine, runs: Sequence[Run], day_facts: str) -> None:
    if day_facts == "kept":
        assert keep_day_facts(engine, BERLIN)
    store(engine, runs)
    if day_facts == "built":
        assert keep_day_facts(engine, BERLIN)


def local(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, BERLIN)


def light(run: Run, *, planned: int, done: int) -> SessionFacts:
    """What the store gives for a session outside the trend week: no samples."""
    return SessionFacts(
        id=run.run_id,
        routine=run.plan.routine,
        title=run.plan.title,
        started_at=run.start,
        ended_at=local(run.wall + run.end_s + FINISH_LAG_S),
        outcome=run.outcome,
        pain_before=run.pain_before,
        pain_after=run.pain_after,
        planned_steps=planned,
        completed_steps=done,
    )


# --- the window -------------------------------------------------------------------------------


def morning_heart(second: int) -> tuple[int, bool | None]:
    if second == 10:
        return 90, True
    if second == 20:
        return 150, False  # off the skin: not a heartbeat
    if second == 30:
        return 0, True
    return 58, True


EVENING = Run("evening", at(YESTERDAY, 21, 30), pain_before=5, pain_after=3)
# Stopped during the second hold: the first hold was done, the second was not.
MORNING = Run(
    "morning",
    at(DAY, 7, 45),
    stop_at_s=130.0,
    outcome=SessionState.STOPPED,
    pain_before=4,
    band=Worn(morning_heart),
)


def alternating_rr(count: int) -> tuple[float, ...]:
    return tuple(itertools.islice(itertools.cycle((RR_EVEN, RR_ODD)), count))


def clean_figures(rr: tuple[float, ...]) -> physiology.HeartFigures:
    return physiology.heart_figures(physiology.beat_times(rr), rr)


HEART_KEYS = (
    "hr_min", "hr_mean", "hr_max", "rmssd_ms", "beats_kept", "beats_rejected",
    "breathing_rate_bpm", "breathing_confidence",
)  # fmt: skip


def test_two_taster_sessions_give_their_steps_holds_and_worn_heart_rate(engine: Engine) -> None:
    store(engine, [EVENING, MORNING])

    facts = read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day

    morning_worn = [s for s in range(1, 130) if s not in (20, 30)]
    assert facts == {
        YESTERDAY: [
            SessionFacts(
                id="evening", routine="taster", title="Taster", started_at=EVENING.start,
                ended_at=local(EVENING.wall + 140.2), outcome=SessionState.COMPLETED,
                pain_before=5, pain_after=3, planned_steps=2, completed_steps=2,
                holds_planned=2, holds_done=2,
                hr_samples=tuple((float(s), 66.0) for s in range(1, 140)),
                rr_ms=alternating_rr(139), rmssd_ms=10.0,
                figures=clean_figures(alternating_rr(139)),
            )
        ],
        DAY: [
            SessionFacts(
                id="morning", routine="taster", title="Taster", started_at=MORNING.start,
                ended_at=local(MORNING.wall + 130.2), outcome=SessionState.STOPPED,
                pain_before=4, pain_after=None, planned_steps=2, completed_steps=1,
                holds_planned=2, holds_done=1,
                hr_samples=tuple((float(s), float(morning_heart(s)[0])) for s in morning_worn),
                rr_ms=alternating_rr(len(morning_worn)), rmssd_ms=10.0,
                figures=clean_figures(alternating_rr(len(morning_worn))),
            )
        ],
    }  # fmt: skip


def test_summary_for_two_taster_sessions_totals_steps_and_pools_worn_heart_rate(
    engine: Engine,
) -> None:
    store(engine, [EVENING, MORNING])

    summary = summary_for(engine, DAY, BERLIN, NOW)

    # Every worn sample carries an interval (1000 and 1010 ms in turn), so the heart rate is
    # from those: the extremes of single beats, the mean of all. Resting heart rate
    # is from worn samples: 139 at 66 bpm; 126 at 58 and one at 90 (the off-skin and zero
    # ones left out). Minutes with 20+ samples: three of the evening's at 66, the morning's
    # first (56 x 58 and one 90) and second (58); the 10th percentile of those five.
    first_morning_minute = (56 * 58 + 90) / 57
    resting = 58 + 0.4 * (first_morning_minute - 58)
    tip = ADVICE[ROTATION[DAY.toordinal() % len(ROTATION)]]
    got = summary.to_json()
    heart = [{key: line.pop(key) for key in HEART_KEYS} for line in got["sessions"]]
    for figures, beats in zip(heart, (139, 127), strict=True):
        assert figures["rmssd_ms"] == 10.0
        assert (figures["beats_kept"], figures["beats_rejected"]) == (beats, 0)
        assert figures["hr_min"] == round(60000 / RR_ODD, 1)
        assert figures["hr_max"] == round(60000 / RR_EVEN, 1)
        assert figures["breathing_rate_bpm"] is None  # no breathing rhythm in there
    assert got == {
        "day": "2026-05-12",
        "generated_at": "2026-05-12T09:00:00+02:00",
        "window": {"start": "2026-05-11T18:00:00+02:00", "end": "2026-05-12T09:00:00+02:00"},
        "sessions": [
            {
                "id": "evening", "routine": "taster", "title": "Taster", "part": "evening",
                "started_at": "2026-05-11T21:30:00+02:00",
                "ended_at": "2026-05-11T21:32:20.200000+02:00", "duration_s": 140.2,
                "outcome": "completed", "steps": {"planned": 2, "done": 2},
                "pain_before": 5, "pain_after": 3,
            },
            {
                "id": "morning", "routine": "taster", "title": "Taster", "part": "morning",
                "started_at": "2026-05-12T07:45:00+02:00",
                "ended_at": "2026-05-12T07:47:10.200000+02:00", "duration_s": 130.2,
                "outcome": "stopped", "steps": {"planned": 2, "done": 1},
                "pain_before": 4, "pain_after": None,
            },
        ],
        "exercises": {
            "sessions": 2,
            "steps": {"planned": 4, "done": 3},
            "holds": {"planned": 4, "done": 3},
            "reps": {"planned": 0, "done": 0},
        },
        "heart_rate": {
            "min": round(60000 / RR_ODD, 1),
            "mean": round(60000 / (70 * RR_EVEN + 69 * RR_ODD) * 139, 1),
            "max": round(60000 / RR_EVEN, 1), "resting": round(resting, 1),
        },
        "rmssd_ms": 10.0,
        "rmssd_trend": {
            "direction": "unknown", "change": None,
            "days": [{"day": "2026-05-11", "value": 10.0}, {"day": "2026-05-12", "value": 10.0}],
        },
        "breathing_score": None,
        "breathing_note": None,
        "pain": {
            "before": 5, "after": 3,
            "trend": {
                "direction": "unknown", "change": None,
                "days": [{"day": "2026-05-11", "value": 5.0}, {"day": "2026-05-12", "value": 4.0}],
            },
        },
        "streak_days": 2,
        "advice": tip.to_json(),
    }  # fmt: skip


def test_steps_with_a_stored_mode_count_reps_only_when_the_set_was_done(engine: Engine) -> None:
    routine = built_in_routines(load_catalog())["morning"]
    plan = compile_plan(routine, PlanSettings(rest_breaths=0), ProgressionLevel(1, 4, ""))
    # warm-up (flow), cat-cow (flow), pelvic tilt (reps), bridging (reps), rotation left and
    # right (holds), cool-down (hold); stopped during bridging.
    bridging = next(s for s in plan.steps if s.exercise == "bridging")
    run = Run("m", at(DAY, 7, 0), plan=plan, stop_at_s=bridging.start_s + 5,
              outcome=SessionState.STOPPED)  # fmt: skip
    store(engine, [run])

    # No exercise is a hold by the catalog here: the stored modes alone must say so.
    [facts] = read_summary_input(
        engine, DAY, BERLIN, NOW, hold_exercises=frozenset()
    ).sessions_by_day[DAY]

    tilts = next(s for s in plan.steps if s.exercise == "pelvic-tilt")
    assert tilts.reps is not None and bridging.reps is not None
    counts = (facts.planned_steps, facts.completed_steps, facts.holds_planned, facts.holds_done)
    assert counts == (7, 3, 3, 0)
    assert (facts.reps_planned, facts.reps_done) == (tilts.reps + bridging.reps, tilts.reps)


def test_a_session_still_running_is_included_as_running(engine: Engine) -> None:
    run = Run("now", at(DAY, 8, 59), outcome=SessionState.RUNNING, stop_at_s=45.0)
    store(engine, [run])

    [facts] = read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day[DAY]

    assert (facts.outcome, facts.ended_at, facts.completed_steps) == (
        SessionState.RUNNING,
        None,
        0,
    )
    assert len(facts.hr_samples) == 44


def test_sessions_after_now_are_not_read(engine: Engine) -> None:
    store(engine, [Run("later", at(DAY, 9, 30))])

    assert read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day == {}


# --- empty days, midnight, clock changes -----------------------------------------------------


def test_an_empty_store_gives_no_facts_and_an_empty_summary(engine: Engine) -> None:
    assert read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day == {}
    summary = summary_for(engine, DAY, BERLIN, NOW)
    assert (summary.sessions, summary.streak_days, summary.advice) == (
        (),
        0,
        ADVICE[AdviceKey.START_SLOW],
    )


def test_a_quiet_week_reads_only_the_last_session_that_counted_and_the_last_rating(
    engine: Engine,
) -> None:
    old = [
        Run("rated", at(DAY - timedelta(days=12), 21, 0), pain_before=3, pain_after=2),
        Run("between", at(DAY - timedelta(days=11), 21, 0)),
        Run("last", at(DAY - timedelta(days=10), 21, 0)),
        # Started but stopped before any step was done: does not count as a day with a routine.
        Run("tried", at(DAY - timedelta(days=9), 21, 0), stop_at_s=20.0,
            outcome=SessionState.STOPPED),
    ]  # fmt: skip
    store(engine, old)

    facts = read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day
    summary = summary_for(engine, DAY, BERLIN, NOW)

    assert facts == {
        DAY - timedelta(days=12): [light(old[0], planned=2, done=2)],
        DAY - timedelta(days=10): [light(old[2], planned=2, done=2)],
    }
    assert (summary.sessions, summary.streak_days, summary.advice) == (
        (),
        0,
        ADVICE[AdviceKey.STAY_ACTIVE],
    )


def test_the_latest_pain_rating_is_read_however_old(engine: Engine) -> None:
    rated = Run("rated", at(DAY - timedelta(days=30), 21, 0), pain_before=8)
    unrated = Run("unrated", at(YESTERDAY, 21, 0))
    store(engine, [rated, unrated])

    facts = read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day
    summary = summary_for(engine, DAY, BERLIN, NOW)

    assert facts[rated.start.date()] == [light(rated, planned=2, done=2)]
    assert summary.advice == ADVICE[AdviceKey.CONSULT_PROFESSIONAL]


def test_a_session_across_midnight_stays_with_the_evening_it_began_in(engine: Engine) -> None:
    # Six minutes of samples, one of them after midnight.
    run = Run("late", at(YESTERDAY, 23, 55), plan=BEDTIME)
    store(engine, [run])

    facts = read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day
    summary = summary_for(engine, DAY, BERLIN, NOW)

    assert list(facts) == [YESTERDAY]
    [late] = facts[YESTERDAY]
    assert (late.hr_samples[0][0], late.hr_samples[-1][0], len(late.hr_samples)) == (
        1.0,
        359.0,
        359,
    )
    assert [(line.id, line.part) for line in summary.sessions] == [("late", DayPart.EVENING)]
    assert summary.streak_days == 1  # yesterday counts; today has no routine yet


@pytest.mark.parametrize(
    ("day", "starts", "expected_dates", "window"),
    [
        # Spring forward (02:00 -> 03:00): a 23-hour window.
        (
            date(2026, 3, 29),
            {
                "before-window": at(date(2026, 3, 28), 17, 30),
                "evening": at(date(2026, 3, 28), 23, 30),
                "after-the-jump": at(date(2026, 3, 29), 3, 30),
                "morning": at(date(2026, 3, 29), 7, 30),
            },
            {
                date(2026, 3, 28): ["before-window", "evening"],
                date(2026, 3, 29): ["after-the-jump", "morning"],
            },
            [
                ("evening", DayPart.EVENING),
                ("after-the-jump", DayPart.EVENING),
                ("morning", DayPart.MORNING),
            ],
        ),
        # Fall back (03:00 -> 02:00): 02:30 happens twice; a 25-hour window.
        (
            date(2026, 10, 25),
            {
                "first-0230": at(date(2026, 10, 25), 2, 30, fold=0),
                "second-0230": at(date(2026, 10, 25), 2, 30, fold=1),
                "morning": at(date(2026, 10, 25), 4, 0),
                "window-closed": at(date(2026, 10, 25), 18, 0),
            },
            {date(2026, 10, 25): ["first-0230", "second-0230", "morning", "window-closed"]},
            [
                ("first-0230", DayPart.EVENING),
                ("second-0230", DayPart.EVENING),
                ("morning", DayPart.MORNING),
            ],
        ),
    ],
)
def test_clock_changes_in_berlin_place_sessions_by_local_date_and_window(
    engine: Engine,
    day: date,
    starts: dict[str, datetime],
    expected_dates: dict[date, list[str]],
    window: list[tuple[str, DayPart]],
) -> None:
    store(engine, [Run(name, start, plan=SHORT_TASTER) for name, start in starts.items()])
    now = at(day, 20, 0)

    facts = read_summary_input(engine, day, BERLIN, now).sessions_by_day
    summary = summary_for(engine, day, BERLIN, now)

    assert {d: [s.id for s in group] for d, group in facts.items()} == expected_dates
    assert [(line.id, line.part) for line in summary.sessions] == window
    assert summary.streak_days == len(expected_dates)


# --- the streak -----------------------------------------------------------------------------


def daily(day: date, hour: int) -> Run:
    return Run(f"s{day.isoformat()}", at(day, hour, 30), plan=SHORT_TASTER, band=None)


def test_the_streak_is_walked_back_to_its_first_gap_and_no_further(engine: Engine) -> None:
    gap = DAY - timedelta(days=12)
    days = [DAY - timedelta(days=k) for k in range(40) if DAY - timedelta(days=k) != gap]
    store(engine, [daily(d, 7) for d in days])

    facts = read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day
    summary = summary_for(engine, DAY, BERLIN, NOW)

    assert summary.streak_days == 12
    # The week, then one chunk before it (which holds the gap); nothing older.
    oldest_read = DAY - timedelta(days=TREND_DAYS - 1 + FIRST_STREAK_CHUNK_DAYS)
    assert sorted(facts) == [d for d in sorted(days) if d >= oldest_read]
    week_start = DAY - timedelta(days=TREND_DAYS - 1)
    assert all(s.hr_samples == () for d, g in facts.items() if d < week_start for s in g)


def test_with_day_facts_a_streak_past_the_week_reads_no_session_before_it(engine: Engine) -> None:
    gap = DAY - timedelta(days=12)
    days = [DAY - timedelta(days=k) for k in range(40) if DAY - timedelta(days=k) != gap]
    store_with_day_facts(engine, [daily(d, 7) for d in days], "kept")

    read = read_summary_input(engine, DAY, BERLIN, NOW)

    assert summary_for(engine, DAY, BERLIN, NOW).streak_days == 12
    assert read.streak_days == 12
    week_start = DAY - timedelta(days=TREND_DAYS - 1)
    assert min(read.sessions_by_day) == week_start


# 6 ends on the first day of the week, 7 just before it; 30 and 100 read three and four chunks.
@pytest.mark.parametrize("day_facts", DAY_FACTS)
@pytest.mark.parametrize("unbroken_days", [6, 7, 30, 100])
def test_a_streak_of_any_length_is_counted_whole(
    engine: Engine, unbroken_days: int, day_facts: str
) -> None:
    # Yesterday and back; today has no routine yet, so the streak runs up to yesterday.
    days = [DAY - timedelta(days=k) for k in range(1, unbroken_days + 1)]
    store_with_day_facts(engine, [daily(d, 21) for d in days], day_facts)

    assert summary_for(engine, DAY, BERLIN, NOW).streak_days == unbroken_days


def test_a_day_whose_only_session_had_no_step_done_breaks_the_streak(engine: Engine) -> None:
    runs = [
        Run("today", at(DAY, 7, 0), plan=SHORT_TASTER),
        Run("yesterday", at(YESTERDAY, 7, 0), plan=SHORT_TASTER),
        Run("too-short", at(DAY - timedelta(days=2), 7, 0), plan=SHORT_TASTER, stop_at_s=5.0,
            outcome=SessionState.PAIN),
        Run("before", at(DAY - timedelta(days=3), 7, 0), plan=SHORT_TASTER),
    ]  # fmt: skip
    store(engine, runs)

    assert summary_for(engine, DAY, BERLIN, NOW).streak_days == 2


# --- the whole history ----------------------------------------------------------------------


FIRST_DAY = DAY - timedelta(days=48)
DAYS_OFF = {10, 25, *range(30, 38)}  # then eleven days in a row up to DAY


def varied_history() -> list[Run]:
    """Seven weeks of someone who has days off, stops early, rates their pain now and then."""
    runs = []
    for k in range(49):
        day = FIRST_DAY + timedelta(days=k)
        if k in DAYS_OFF:
            continue
        for hour in (7, 21):
            outcome = SessionState.COMPLETED
            if (k + hour) % 9 == 0:
                outcome = SessionState.STOPPED  # before the first hold ended
            if (k, hour) == (46, 21):
                outcome = SessionState.PAIN
            runs.append(
                Run(
                    f"{day.isoformat()}-{hour}",
                    at(day, hour, 10),
                    plan=SHORT_TASTER,
                    stop_at_s=None if outcome is SessionState.COMPLETED else 25.0,
                    outcome=outcome,
                    pain_before=8 if k == 5 else (None if k % 3 == 0 or k > 45 else 1 + k % 5),
                    pain_after=None if k % 2 or k > 45 else 1 + k % 4,
                    # Samples only where a summary below looks at them, to keep this quick.
                    band=Worn(steady(60 + k % 9)) if k >= 36 or 20 <= k <= 30 else None,
                )
            )
    return runs


@pytest.mark.parametrize("day_facts", DAY_FACTS)
def test_the_summary_equals_the_summary_over_the_whole_history(
    engine: Engine, day_facts: str
) -> None:
    store_with_day_facts(engine, varied_history(), day_facts)
    cases = [
        (DAY, NOW),
        (DAY, at(DAY, 20, 0)),
        (DAY + timedelta(days=1), at(DAY + timedelta(days=1), 9, 0)),
        (FIRST_DAY + timedelta(days=37), at(FIRST_DAY + timedelta(days=37), 9, 0)),  # days off
        (FIRST_DAY + timedelta(days=28), NOW),  # a past day, asked about later
        (FIRST_DAY + timedelta(days=6), at(FIRST_DAY + timedelta(days=6), 7, 0)),  # severe
        (FIRST_DAY, at(FIRST_DAY, 8, 0)),
    ]

    read = [summary_for(engine, day, BERLIN, now) for day, now in cases]

    everything = session_facts(engine, BERLIN, 0.0, at(DAY + timedelta(days=2), 0).timestamp())
    expected = []
    for day, now in cases:
        by_date: dict[date, list[SessionFacts]] = {}
        for s in everything:
            by_date.setdefault(s.started_at.date(), []).append(s)
        expected.append(build_summary(day, BERLIN, by_date, now))
    assert read == expected
    # The cases reach what they are meant to: a streak that runs back past the week, a
    # quiet week, pain from long ago.
    assert [r.streak_days for r in read] == [11, 11, 11, 0, 3, 6, 1]
    assert (read[3].advice.key, read[5].advice.key) == (
        AdviceKey.STAY_ACTIVE,
        AdviceKey.CONSULT_PROFESSIONAL,
    )


# --- breathing --------------------------------------------------------------------------------


def test_breath_following_is_scored_only_when_asked_and_only_in_the_window(
    engine: Engine,
) -> None:
    following = Run("following", at(DAY, 7, 0), band=Worn(breathing_rr=True))
    earlier = Run("earlier", at(DAY - timedelta(days=2), 7, 0), band=Worn(breathing_rr=True))
    store(engine, [following, earlier])

    plain = read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day
    scored = read_summary_input(engine, DAY, BERLIN, NOW, breathing=True).sessions_by_day

    assert [s.breathing_score for group in plain.values() for s in group] == [None, None]
    assert scored[DAY - timedelta(days=2)][0].breathing_score is None
    assert scored[DAY][0].breathing_score == pytest.approx(1.0)
    assert summary_for(engine, DAY, BERLIN, NOW, breathing=True).breathing_score == (
        pytest.approx(1.0)
    )


def test_without_a_breathing_rhythm_the_score_is_withheld_not_zero(engine: Engine) -> None:
    """Steady intervals (no RSA) beside the pacer's cues: not enough signal to score."""
    steady = Run("steady", at(DAY, 7, 0))
    store(engine, [steady])

    [facts] = read_summary_input(engine, DAY, BERLIN, NOW, breathing=True).sessions_by_day[DAY]
    summary = summary_for(engine, DAY, BERLIN, NOW, breathing=True)

    assert (facts.breathing_score, facts.breathing_withheld) == (None, True)
    assert summary.to_json()["breathing_note"] == "not enough signal"


# --- remembered heart facts -------------------------------------------------------------------


def test_a_sample_added_after_a_read_is_in_the_next_read(engine: Engine) -> None:
    run = Run("late-sample", at(DAY, 7, 0))
    store(engine, [run])
    [before] = read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day[DAY]
    # A sample of the session written late (it sat in the recorder's buffer, say).
    with engine.begin() as connection:
        apply_writes(connection, [Write(WriteKind.SAMPLE, {
            "session_id": run.run_id, "device": BAND, "t": run.wall + 200.0, "hr": 90,
            "contact": True, "energy_kj": None, "rr_ms": "[700.0]",
        })])  # fmt: skip

    [after] = read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day[DAY]

    assert after.hr_samples == (*before.hr_samples, (200.0, 90.0))
    assert after.rr_ms == (*before.rr_ms, 700.0)
    forget_remembered_hearts()
    assert read_summary_input(engine, DAY, BERLIN, NOW).sessions_by_day[DAY] == [after]
