"""Small helpers shared across the tests: waiting on real asyncio and real processes, how
Chromium is launched, and a recorded session's plan and how it is stored."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Iterable

import pytest
from sqlalchemy import Engine

from companion.events import Event, SessionStarted, StepStarted
from companion.routines.catalog import Mode, Side
from companion.routines.pacer import BreathPattern
from companion.routines.plan import Plan, PlannedStep
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
