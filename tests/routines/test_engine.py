"""The session engine under a fake clock: deadlines, pause, skip, stop, pain, safety, pacing."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from companion.bus import EventBus
from companion.cues import CueName
from companion.errors import SessionError
from companion.events import (
    CueFired,
    Event,
    HeartRateSample,
    Notice,
    PacingAdapted,
    SessionState,
    SessionStateChanged,
    StepStarted,
)
from companion.routines.catalog import load_routines
from companion.routines.engine import SessionRunner
from companion.routines.pacer import BreathPattern
from companion.routines.plan import Plan, PlanSettings, compile_plan, retime_from
from companion.routines.progression import ProgressionPolicy, progression_level
from companion.routines.watch import PacingSettings, SafetySettings


@dataclass
class FakeTimer:
    """A clock that only moves when told to, firing callbacks in deadline order."""

    now: float = 1000.0
    _queue: list[tuple[float, int, Callable[[], None], list[bool]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> FakeHandle:
        cancelled = [False]
        heapq.heappush(self._queue, (when, next(self._ids), callback, cancelled))
        return FakeHandle(cancelled)

    def advance(self, seconds: float, *, lateness: float = 0.0) -> None:
        """Move time on, firing what falls due; ``lateness`` delays each firing, as a busy
        loop would."""
        target = self.now + seconds
        while self._queue and self._queue[0][0] <= target:
            when, _, callback, cancelled = heapq.heappop(self._queue)
            if cancelled[0]:
                continue
            self.now = max(self.now, when + lateness)
            callback()
        self.now = max(self.now, target)


@dataclass
class FakeHandle:
    cancelled: list[bool]

    def cancel(self) -> None:
        self.cancelled[0] = True


FIRST_LEVEL = progression_level([], ProgressionPolicy())


def taster_plan(pattern: BreathPattern | None = None) -> Plan:
    routine = load_routines(None)["taster"]
    return compile_plan(routine, PlanSettings(pattern=pattern), FIRST_LEVEL)


@dataclass
class Harness:
    runner: SessionRunner
    timer: FakeTimer
    events: list[Event]
    wrist: list[str]

    def cues(self) -> list[CueFired]:
        return [e for e in self.events if isinstance(e, CueFired)]

    def states(self) -> list[SessionState]:
        return [e.state for e in self.events if isinstance(e, SessionStateChanged)]

    def heart_rate(self, hr: int, contact: bool | None = True) -> None:
        self.runner.on_heart_rate(
            HeartRateSample(
                mono=self.timer.now, wall=0.0, device="x", hr=hr, contact=contact,
                energy_kj=None, rr_ms=(),
            )
        )  # fmt: skip


def make(
    plan: Plan | None = None,
    *,
    wrist_ok: bool = True,
    safety: SafetySettings | None = None,
    pacing: PacingSettings | None = None,
) -> Harness:
    timer = FakeTimer()
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    wrist: list[str] = []

    def to_wrist(cue: str) -> bool:
        wrist.append(cue)
        return wrist_ok

    runner = SessionRunner(
        plan or taster_plan(),
        run_id="run-1",
        timer=timer,
        wall=lambda: timer.now + 1.7e9,
        bus=bus,
        wrist=to_wrist,
        replan=retime_from,
        safety=safety,
        pacing=pacing,
    )
    return Harness(runner, timer, events, wrist)


def test_every_planned_cue_fires_at_its_offset_and_the_routine_completes() -> None:
    h = make()
    plan = h.runner.plan
    h.runner.start()
    h.timer.advance(plan.total_s + 1)

    fired = [(c.cue, c.step, c.planned_s, c.actual_s) for c in h.cues()]
    assert fired == [(c.cue.value, c.step, c.at_s, c.at_s) for c in plan.cues]
    assert h.wrist == [c.cue.value for c in plan.cues]
    assert h.states() == [SessionState.RUNNING, SessionState.COMPLETED]
    steps = [e.step for e in h.events if isinstance(e, StepStarted)]
    assert steps == [s.index for s in plan.steps]


def test_a_late_cue_does_not_shift_the_ones_after_it() -> None:
    h = make()
    h.runner.start()
    h.timer.advance(12.0, lateness=0.8)  # the loop was busy: each firing 0.8 s late
    h.timer.advance(60.0)

    after_late = [c for c in h.cues() if c.planned_s > 12.0]
    assert after_late and all(c.actual_s == c.planned_s for c in after_late)
    late = [c for c in h.cues() if c.planned_s <= 12.0]
    assert all(c.actual_s == pytest.approx(c.planned_s + 0.8) for c in late)


def test_a_pause_shifts_the_rest_by_exactly_the_pause() -> None:
    h = make()
    h.runner.start()
    h.timer.advance(15.0)
    h.runner.pause()
    h.timer.advance(42.0)
    assert [c.planned_s for c in h.cues()] == [0.0, 4.0, 10.0, 14.0]
    h.runner.resume()
    h.timer.advance(100.0)

    cue_times = [c.mono for c in h.cues() if c.planned_s == 20.0]
    assert cue_times == [1000.0 + 20.0 + 42.0]
    assert h.states() == [
        SessionState.RUNNING, SessionState.PAUSED, SessionState.RUNNING, SessionState.COMPLETED
    ]  # fmt: skip


def test_skip_moves_to_the_next_step_and_pulls_the_rest_forward() -> None:
    h = make()
    h.runner.start()
    h.timer.advance(12.0)  # in step 1 (knee to chest, left), which runs 10-30 s
    h.runner.skip()
    h.timer.advance(0.0)

    assert h.runner.step is not None and h.runner.step.index == 2
    h.timer.advance(100.0)
    step3 = next(c for c in h.cues() if c.step == 3)
    # Step 3 was planned at 40 s; 18 s of step 1 were skipped.
    assert step3.mono == pytest.approx(1000.0 + 40.0 - 18.0)
    assert not any(c.cue == "hold-end" and c.step == 1 for c in h.cues())


def test_pain_stops_at_once_with_the_pain_buzz_and_records_the_step() -> None:
    h = make()
    h.runner.start()
    h.timer.advance(21.0)
    h.runner.pain()
    h.timer.advance(100.0)

    assert h.wrist[-1] == "pain"
    last_cue = h.cues()[-1]
    assert (last_cue.cue, last_cue.step) == (CueName.PAIN, 1)
    assert last_cue.to_json()["cue"] == "pain"
    final = [e for e in h.events if isinstance(e, SessionStateChanged)][-1]
    assert (final.state, final.step) == (SessionState.PAIN, 1)
    assert max(c.planned_s for c in h.cues() if c.cue != "pain") == 20.0


def test_stop_ends_the_routine_and_further_commands_are_refused() -> None:
    h = make()
    h.runner.start()
    h.timer.advance(5.0)
    h.runner.stop()

    assert h.states()[-1] == SessionState.STOPPED
    for command in (h.runner.pause, h.runner.stop, h.runner.pain, h.runner.skip):
        with pytest.raises(SessionError):
            command()


def test_cues_carry_on_in_the_feed_when_the_wrist_is_unreachable() -> None:
    h = make(wrist_ok=False)
    h.runner.start()
    h.timer.advance(100.0)

    assert h.cues() and not any(c.on_wrist for c in h.cues())
    assert h.states()[-1] == SessionState.COMPLETED


def test_a_heart_rate_above_the_ceiling_for_a_while_pauses_with_a_message() -> None:
    h = make(safety=SafetySettings(ceiling_bpm=100, sustained_s=5.0))
    h.runner.start()
    for _ in range(8):
        h.timer.advance(1.0)
        h.heart_rate(112)

    assert h.runner.state == SessionState.PAUSED
    assert "safety" in h.wrist
    notice = next(e for e in h.events if isinstance(e, Notice))
    assert notice.topic == "safety" and "above 100 bpm" in notice.message


def test_a_rise_well_above_the_sessions_own_baseline_pauses() -> None:
    h = make(safety=SafetySettings(ceiling_bpm=200, rise_above_baseline_bpm=25, sustained_s=5.0,
                                   baseline_window_s=10.0))  # fmt: skip
    h.runner.start()
    for _ in range(12):
        h.timer.advance(1.0)
        h.heart_rate(60)
    for _ in range(4):
        h.timer.advance(1.0)
        h.heart_rate(90)
    assert h.runner.state == SessionState.RUNNING
    for _ in range(3):
        h.timer.advance(1.0)
        h.heart_rate(90)

    assert h.runner.state == SessionState.PAUSED


def test_readings_without_skin_contact_are_ignored_by_the_safety_rules() -> None:
    h = make(safety=SafetySettings(ceiling_bpm=100, sustained_s=2.0))
    h.runner.start()
    for _ in range(10):
        h.timer.advance(1.0)
        h.heart_rate(150, contact=False)

    assert h.runner.state == SessionState.RUNNING


def test_a_raised_heart_rate_lengthens_the_exhale_from_the_next_step_and_it_returns() -> None:
    h = make(
        safety=SafetySettings(baseline_window_s=5.0, ceiling_bpm=200, rise_above_baseline_bpm=80),
        pacing=PacingSettings(above_baseline_bpm=8, settled_within_bpm=3, sustained_s=4.0),
    )
    h.runner.start()
    for _ in range(6):
        h.timer.advance(1.0)
        h.heart_rate(60)
    for _ in range(5):
        h.timer.advance(1.0)
        h.heart_rate(75)

    adapted = [e for e in h.events if isinstance(e, PacingAdapted)]
    assert [a.exhale_s for a in adapted] == [7.0]
    assert h.runner.plan.pattern.exhale_s == 6.0  # never mid-step: step 1 keeps its pace
    h.timer.advance(20.0)  # into step 2 (a one-breath rest), the first after the change
    rest = h.runner.plan.steps[2]
    assert h.runner.plan.pattern.exhale_s == 7.0
    assert (rest.start_s, rest.end_s) == (30.0, 41.0)
    h.timer.advance(4.0)
    breath_out = next(c for c in h.cues() if c.step == 2 and c.cue == "breath-out")
    assert breath_out.planned_s == 34.0

    for _ in range(5):
        h.timer.advance(1.0)
        h.heart_rate(60)
    adapted = [e for e in h.events if isinstance(e, PacingAdapted)]
    assert [a.exhale_s for a in adapted] == [7.0, 6.0]
