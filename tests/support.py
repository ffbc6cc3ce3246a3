"""Small helpers shared across the tests: waiting on real asyncio and real processes, how
Chromium is launched, and a recorded session's plan, events (a scripted run) and how they
are stored."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import NamedTuple

import pytest
from sqlalchemy import Engine

from companion.cues import BREATH_CUES, CueName
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
from companion.routines.catalog import Mode, Side
from companion.routines.pacer import BreathPattern
from companion.routines.plan import Plan, PlannedCue, PlannedStep
from companion.store.writes import EventTranslator, apply_writes


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Wait until ``predicate()`` holds, failing the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.02)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.05)


# Debian's Chromium, as the browser tests drive it; these flags keep it off the network
# (this machine refuses outside connections) and quiet.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --- a recorded session ----------------------------------------------------------------------

KNEE_TO_CHEST = PlannedStep(
    index=0,
    name="Knee to chest",
    exercise="knee-to-chest",
    side=Side.LEFT,
    mode=Mode.HOLD,
    start_s=0.0,
    end_s=30.0,
    instructions="",
    breaths=3,
    reps=None,
)
PELVIC_TILT = PlannedStep(
    index=1,
    name="Pelvic tilt",
    exercise="pelvic-tilt",
    side=None,
    mode=Mode.REPS,
    start_s=30.0,
    end_s=60.0,
    instructions="",
    breaths=None,
    reps=5,
)


def bedtime_plan(*, level: int, level_reason: str) -> Plan:
    """A one-minute bedtime plan at the usual breathing pattern (4 s in, 6 s out): a 30 s
    knee-to-chest hold of 3 breaths, then 30 s of 5 pelvic tilts; no cues."""
    return Plan(
        routine="bedtime",
        title="Bedtime unwind",
        level=level,
        level_reason=level_reason,
        pattern=BreathPattern(),
        total_s=60.0,
        steps=(KNEE_TO_CHEST, PELVIC_TILT),
        cues=(),
    )


def session_started(
    run_id: str, wall: float, plan: Plan, *, pain_before: int | None
) -> SessionStarted:
    """The event of a session of ``plan`` starting at ``wall``."""
    return SessionStarted(
        mono=0.0,
        wall=wall,
        run_id=run_id,
        routine=plan.routine,
        level=plan.level,
        total_s=plan.total_s,
        pain_before=pain_before,
        plan=plan,
    )


def step_started(run_id: str, planned: PlannedStep, wall: float) -> StepStarted:
    """The event of ``planned`` beginning at ``wall``."""
    return StepStarted(
        mono=0.0,
        wall=wall,
        run_id=run_id,
        step=planned.index,
        name=planned.name,
        exercise=planned.exercise,
        side=planned.side,
        start_s=planned.start_s,
        end_s=planned.end_s,
        instructions=planned.instructions,
        breaths=planned.breaths,
    )


def cue_fired(run_id: str, planned: PlannedCue, wall: float) -> CueFired:
    """The event of ``planned`` firing on time, at ``wall``, and reaching the wrist."""
    return CueFired(
        mono=0.0,
        wall=wall,
        run_id=run_id,
        step=planned.step,
        cue=planned.cue,
        planned_s=planned.at_s,
        actual_s=planned.at_s,
        on_wrist=True,
    )


def breathing_in(plan: Plan, at_s: float) -> bool:
    """Whether the latest breath cue of ``plan`` at or before ``at_s`` was a breath-in."""
    latest = [c for c in plan.cues if c.cue in BREATH_CUES and c.at_s <= at_s]
    return bool(latest) and latest[-1].cue is CueName.BREATH_IN


class BandReading(NamedTuple):
    """What a band reports in one second."""

    hr: int
    contact: bool | None
    rr_ms: tuple[float, ...]


# How a band reads the wearer's heart through a session of a plan: one reading for each
# of the seconds given, in order.
Band = Callable[[Plan, range], Iterable[BandReading]]


@dataclasses.dataclass(frozen=True)
class ScriptedRun:
    """One routine as the engine and the band would report it: the session starting, its
    steps and cues up to the stop, a reading of ``band`` each whole second, then (unless
    still running) the outcome ``finish_lag_s`` after the stop and any pain rating 5 s on."""

    run_id: str
    start: datetime
    plan: Plan
    device: str
    band: Band | None  # None: no samples (not worn, or not needed)
    stop_at_s: float | None = None  # None: runs to the end
    outcome: SessionState = SessionState.COMPLETED
    pain_before: int | None = None
    pain_after: int | None = None
    finish_lag_s: float = 0.0

    @property
    def wall(self) -> float:
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        return self.plan.total_s if self.stop_at_s is None else self.stop_at_s

    def events(self) -> list[Event]:
        # Sorted by time; at one instant: the start, then steps and cues in the engine's
        # order (the ending step's cues, the next step, its cues), samples, the outcome,
        # the rating.
        started = session_started(self.run_id, self.wall, self.plan, pain_before=self.pain_before)
        timed: list[tuple[float, tuple[int, ...], Event]] = [(0.0, (0,), started)]
        for step in self.plan.steps:
            if step.start_s < self.end_s:
                begun = step_started(self.run_id, step, self.wall + step.start_s)
                timed.append((step.start_s, (1, step.index, 0), begun))
        # A stop before a hold's end drops its hold-end cue, as the engine does.
        for cue in self.plan.cues:
            if cue.at_s < self.end_s or (self.stop_at_s is None and cue.at_s <= self.end_s):
                fired = cue_fired(self.run_id, cue, self.wall + cue.at_s)
                timed.append((cue.at_s, (1, cue.step, 1), fired))
        timed += [(float(second), (2,), sample) for second, sample in self._samples()]
        if self.outcome is not SessionState.RUNNING:
            finished = SessionStateChanged(
                mono=0.0,
                wall=self.wall + self.end_s + self.finish_lag_s,
                run_id=self.run_id,
                state=self.outcome,
                step=None,
            )
            timed.append((self.end_s + self.finish_lag_s, (3,), finished))
            if self.pain_after is not None:
                rating = PainRated(
                    mono=0.0,
                    wall=self.wall + self.end_s + 5,
                    run_id=self.run_id,
                    moment="after",
                    pain=self.pain_after,
                )
                timed.append((self.end_s + 5, (4,), rating))
        return [event for _, _, event in sorted(timed, key=lambda item: (item[0], item[1]))]

    def _samples(self) -> Iterator[tuple[int, HeartRateSample]]:
        if self.band is None:
            return
        seconds = range(1, math.ceil(self.end_s))
        for second, reading in zip(seconds, self.band(self.plan, seconds), strict=True):
            yield (
                second,
                HeartRateSample(
                    mono=0.0,
                    wall=self.wall + second,
                    device=self.device,
                    hr=reading.hr,
                    contact=reading.contact,
                    energy_kj=None,
                    rr_ms=reading.rr_ms,
                ),
            )


def record(engine: Engine, events: Iterable[Event]) -> None:
    """Store events the way the recorder would, synchronously, in one transaction."""
    translator = EventTranslator()
    with engine.begin() as connection:
        for event in events:
            apply_writes(connection, translator.writes_for(event))


def skip_without_a_private_tmpfs() -> None:
    """Skip unless this user may mount a small tmpfs in a private namespace (``unshare -rm``),
    which the full-disk tests need to fill a disk of their own."""
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip("needs `unshare -rm` to mount a small tmpfs (user namespaces disabled)")
