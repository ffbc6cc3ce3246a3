"""Histories for the summary tests: taster routines as the engine and a band would report
them (``tests.support.ScriptedRun``), to be stored through the recorder's own translation
(``conftest.record``).

The wearer's heart follows the breathing cues (faster after breathing in, slower after
breathing out), so heart-rate variability and the breath-following score have something
to find.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from companion.events import Event, SessionState
from companion.routines.catalog import built_in_routines, load_catalog
from companion.routines.plan import Plan, PlanSettings, compile_plan
from companion.routines.progression import ProgressionLevel
from tests.support import Band, BandReading, ScriptedRun, breathing_in
from tests.web.conftest import BAND

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 5, 12)  # a Tuesday, far from any clock change
YESTERDAY = DAY - timedelta(days=1)
NOW = datetime(2026, 5, 12, 9, 0, tzinfo=BERLIN)
MS_PER_MINUTE = 60_000.0
# The time a breath cue takes to show in the heart rate.
HEART_LAG_S = 1


def _taster() -> Plan:
    routine = built_in_routines(load_catalog())["taster"]
    # Get ready 0-50 s, hold (left) 50-70 s, rest 70-120 s, hold (right) 120-140 s.
    return compile_plan(routine, PlanSettings(rest_breaths=5), ProgressionLevel(1, 4, ""))


TASTER = _taster()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


@dataclasses.dataclass(frozen=True)
class BreathSwing:
    """A heart at ``bpm`` that runs ``swing_bpm`` faster once a breath-in cue shows in it
    (``HEART_LAG_S`` after) and as much slower once a breath-out does; one RR interval a
    second, from the rate."""

    bpm: float = 64.0
    swing_bpm: float = 4.0  # how far each breath moves the heart rate

    def __call__(self, plan: Plan, seconds: range) -> Iterator[BandReading]:
        for second in seconds:
            swing = self.swing_bpm if breathing_in(plan, second - HEART_LAG_S) else -self.swing_bpm
            bpm = self.bpm + swing
            yield BandReading(round(bpm), True, (round(MS_PER_MINUTE / bpm, 1),))


@dataclasses.dataclass(frozen=True)
class Run(ScriptedRun):
    """One taster routine; ``stop_at_s`` None runs it to the end."""

    plan: Plan = TASTER
    device: str = BAND
    band: Band | None = BreathSwing()


# Last evening's routine, run to the end; this morning's, stopped in the second hold.
EVENING = Run("evening", at(YESTERDAY, 21, 30), pain_before=5, pain_after=3)
MORNING = Run(
    "morning",
    at(DAY, 7, 45),
    outcome=SessionState.STOPPED,
    stop_at_s=130.0,
    pain_before=4,
    band=BreathSwing(bpm=60.0),
)


def week_of_evenings(day: date = DAY) -> list[Run]:
    """A routine every evening of the week before ``day`` with pain easing day by day, and
    the two routines of the window: enough days for both trends and a streak."""
    runs = [
        Run(
            f"evening-{k}",
            at(day - timedelta(days=k), 21, 0),
            pain_before=5 + k // 2,
            pain_after=4 + k // 3,
            band=BreathSwing(bpm=66.0 + k, swing_bpm=3.0 + k % 3),
        )
        for k in range(6, 1, -1)
    ]
    return [*runs, EVENING, MORNING]


def events_of(runs: list[Run]) -> list[Event]:
    return [event for run in runs for event in run.events()]
