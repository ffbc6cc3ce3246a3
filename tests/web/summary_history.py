"""Histories for the summary tests: taster routines as the engine and a band would report
them, to be stored through the recorder's own translation (``conftest.record``).

The wearer's heart follows the breathing cues (faster after breathing in, slower after
breathing out), so heart-rate variability and the breath-following score have something
to find.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from companion.cues import CueName
from companion.events import (
    CueFired,
    Event,
    HeartRateSample,
    PainRated,
    SessionStarted,
    SessionState,
    SessionStateChanged,
    StepStarted,
)
from companion.routines.catalog import built_in_routines, load_catalog
from companion.routines.plan import Plan, PlanSettings, compile_plan
from companion.routines.progression import ProgressionLevel
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
class Run:
    """One taster routine; ``stop_at_s`` None runs it to the end."""

    run_id: str
    start: datetime
    outcome: SessionState = SessionState.COMPLETED
    stop_at_s: float | None = None
    pain_before: int | None = None
    pain_after: int | None = None
    bpm: float = 64.0
    swing_bpm: float = 4.0  # how far each breath moves the heart rate

    @property
    def wall(self) -> float:
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        return TASTER.total_s if self.stop_at_s is None else self.stop_at_s

    def events(self) -> list[Event]:
        timed: list[tuple[float, int, Event]] = [(0.0, 0, self._started())]
        for step in TASTER.steps:
            if step.start_s < self.end_s:
                timed.append((step.start_s, 2, self._step(step.index)))
        # A stop before a hold's end drops its hold-end cue, as the engine does.
        for cue in TASTER.cues:
            if cue.at_s < self.end_s or (self.stop_at_s is None and cue.at_s <= self.end_s):
                timed.append((cue.at_s, 1, self._cue(cue.cue.value, cue.step, cue.at_s)))
        for second in range(1, int(self.end_s)):
            timed.append((float(second), 3, self._sample(second)))
        timed.append((self.end_s, 4, self._finished()))
        if self.pain_after is not None:
            rating = PainRated(
                mono=0.0,
                wall=self.wall + self.end_s + 5,
                run_id=self.run_id,
                moment="after",
                pain=self.pain_after,
            )
            timed.append((self.end_s + 5, 5, rating))
        return [event for _, _, event in sorted(timed, key=lambda item: (item[0], item[1]))]

    def _started(self) -> SessionStarted:
        return SessionStarted(
            mono=0.0,
            wall=self.wall,
            run_id=self.run_id,
            routine=TASTER.routine,
            level=1,
            total_s=TASTER.total_s,
            pain_before=self.pain_before,
            plan=TASTER,
        )

    def _step(self, index: int) -> StepStarted:
        step = TASTER.steps[index]
        return StepStarted(
            mono=0.0,
            wall=self.wall + step.start_s,
            run_id=self.run_id,
            step=index,
            name=step.name,
            exercise=step.exercise,
            side=step.side,
            start_s=step.start_s,
            end_s=step.end_s,
            instructions=step.instructions,
            breaths=step.breaths,
        )

    def _cue(self, name: str, step: int, at_s: float) -> CueFired:
        return CueFired(
            mono=0.0,
            wall=self.wall + at_s,
            run_id=self.run_id,
            step=step,
            cue=name,
            planned_s=at_s,
            actual_s=at_s,
            on_wrist=True,
        )

    def _breathing_in(self, second: int) -> bool:
        breaths = [c for c in TASTER.cues if c.cue in (CueName.BREATH_IN, CueName.BREATH_OUT)]
        latest = [c for c in breaths if c.at_s <= second - HEART_LAG_S]
        return bool(latest) and latest[-1].cue is CueName.BREATH_IN

    def _sample(self, second: int) -> HeartRateSample:
        bpm = self.bpm + (self.swing_bpm if self._breathing_in(second) else -self.swing_bpm)
        return HeartRateSample(
            mono=0.0,
            wall=self.wall + second,
            device=BAND,
            hr=round(bpm),
            contact=True,
            energy_kj=None,
            rr_ms=(round(MS_PER_MINUTE / bpm, 1),),
        )

    def _finished(self) -> SessionStateChanged:
        return SessionStateChanged(
            mono=0.0,
            wall=self.wall + self.end_s,
            run_id=self.run_id,
            state=self.outcome,
            step=None,
        )


# Last evening's routine, run to the end; this morning's, stopped in the second hold.
EVENING = Run("evening", at(YESTERDAY, 21, 30), pain_before=5, pain_after=3)
MORNING = Run(
    "morning",
    at(DAY, 7, 45),
    outcome=SessionState.STOPPED,
    stop_at_s=130.0,
    pain_before=4,
    bpm=60.0,
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
            bpm=66.0 + k,
            swing_bpm=3.0 + k % 3,
        )
        for k in range(6, 1, -1)
    ]
    return [*runs, EVENING, MORNING]


def events_of(runs: list[Run]) -> list[Event]:
    return [event for run in runs for event in run.events()]
