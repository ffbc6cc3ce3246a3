"""The breathing watcher on the bus: a completed resonance routine is scored off the loop,
stored and announced; coherence is published while any routine runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from companion.ble.resonance_curve import ResonanceCurve
from companion.ble.wearer import Wearer
from companion.events import (
    CueFired,
    Event,
    HeartRateSample,
    Notice,
    SessionStarted,
    SessionState,
    SessionStateChanged,
    StepStarted,
)
from companion.heart.breathing_watch import (
    BreathingWatcher,
    CoherenceMeasured,
    CueSeen,
    ResonanceAssessed,
    blocks_from_run,
)
from companion.routines.catalog import load_routines
from companion.routines.plan import Plan, PlanSettings, compile_plan
from companion.routines.progression import ProgressionLevel

ROUTINES = load_routines(None)
ORIGIN = 100.0  # the routine's start on the monotonic clock
WALL = 1_800_000_000.0


def _plan(name: str) -> Plan:
    return compile_plan(ROUTINES[name], PlanSettings(), ProgressionLevel(1, 4, ""))


def _run(
    watcher: BreathingWatcher, plan: Plan, wearer: Wearer, final: SessionState, until_s: float
) -> None:
    """Feed the watcher a routine on virtual time, with the wearer's beats each second."""
    run_id = "run-1"
    watcher.on_event(
        SessionStarted(
            mono=ORIGIN,
            wall=WALL,
            run_id=run_id,
            routine=plan.routine,
            level=1,
            total_s=plan.total_s,
            pain_before=None,
            plan=plan,
        )
    )
    timeline: list[tuple[float, int, Any]] = []
    for step in plan.steps:
        if step.start_s < until_s:
            timeline.append((step.start_s, 0, step))
    for cue in plan.cues:
        if cue.at_s < until_s:
            timeline.append((cue.at_s, 1, cue))
    timeline += [(float(t), 2, None) for t in range(1, int(until_s) + 1)]
    for at_s, kind, item in sorted(timeline, key=lambda x: (x[0], x[1])):
        mono = ORIGIN + at_s
        if kind == 0:
            watcher.on_event(
                StepStarted(
                    mono=mono,
                    wall=WALL + at_s,
                    run_id=run_id,
                    step=item.index,
                    name=item.name,
                    exercise=item.exercise,
                    side=None,
                    start_s=item.start_s,
                    end_s=item.end_s,
                    instructions="",
                    breaths=item.breaths,
                )
            )
        elif kind == 1:
            wearer.feel_cue(mono, item.cue.value)
            watcher.on_event(
                CueFired(
                    mono=mono,
                    wall=WALL + at_s,
                    run_id=run_id,
                    step=item.step,
                    cue=item.cue.value,
                    planned_s=at_s,
                    actual_s=at_s,
                    on_wrist=True,
                )
            )
        else:
            beats = wearer.beats_until(mono)
            watcher.on_event(
                HeartRateSample(
                    mono=mono,
                    wall=WALL + at_s,
                    device="virtual",
                    hr=60,
                    contact=True,
                    energy_kj=None,
                    rr_ms=tuple(b.rr_s * 1000.0 for b in beats),
                )
            )
    watcher.on_event(
        SessionStateChanged(
            mono=ORIGIN + until_s, wall=WALL + until_s, run_id=run_id, state=final, step=None
        )
    )


class _Bus:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.saved: list[tuple[str, float, dict[str, Any]]] = []

    def save(self, session_id: str, at: float, result: dict[str, Any]) -> int:
        self.saved.append((session_id, at, result))
        return 41 + len(self.saved)

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def _watch(plan: Plan, wearer: Wearer, final: SessionState, until_s: float | None = None) -> _Bus:
    bus = _Bus()

    async def main() -> None:
        watcher = BreathingWatcher(bus.events.append, save=bus.save)
        _run(watcher, plan, wearer, final, plan.total_s if until_s is None else until_s)
        await watcher.async_settle(30.0)

    asyncio.run(main())
    return bus


@pytest.mark.parametrize("resonance", [4.5, 6.5])
def test_a_completed_resonance_routine_is_scored_stored_and_announced(resonance: float) -> None:
    bus = _watch(
        _plan("resonance"), Wearer(2, resonance=ResonanceCurve(resonance)), SessionState.COMPLETED
    )
    [assessed] = bus.of(ResonanceAssessed)
    assert assessed.result["verdict"] == "answered"
    assert abs(assessed.result["pace_per_min"] - resonance) <= 0.5
    assert assessed.assessment_id == 42
    assert [(s[0], s[2]) for s in bus.saved] == [("run-1", assessed.result)]
    [notice] = [n for n in bus.of(Notice) if n.topic == "resonance"]
    assert notice.message.startswith("Your resonance pace")
    assert assessed.to_json()["type"] == "resonance"


def test_a_stopped_assessment_is_not_scored() -> None:
    bus = _watch(
        _plan("resonance"), Wearer(3, resonance=ResonanceCurve(5.5)), SessionState.STOPPED, 400.0
    )
    assert bus.of(ResonanceAssessed) == [] and bus.saved == []


def test_a_routine_without_paced_blocks_is_not_scored_but_shows_coherence() -> None:
    bus = _watch(_plan("bedtime"), Wearer(2), SessionState.COMPLETED)
    assert bus.of(ResonanceAssessed) == []
    readings = bus.of(CoherenceMeasured)
    assert len(readings) >= 20
    later = [r.value for r in readings[len(readings) // 2 :]]
    assert sum(later) / len(later) >= 0.6
    assert readings[0].label == "a guide, not a measurement"
    assert readings[0].to_json()["type"] == "coherence"


def test_blocks_follow_the_steps_as_they_happened() -> None:
    plan_json = {
        "steps": [
            {"index": 0, "exercise": "warm-up"},
            {"index": 1, "exercise": "paced-breathing", "pattern": {"inhale_s": 4, "exhale_s": 6}},
            {
                "index": 2,
                "exercise": "paced-breathing",
                "pattern": {"inhale_s": 5.3, "exhale_s": 8},
            },
        ]
    }
    cues = [
        CueSeen(20.0, "breath-in", 1),
        CueSeen(24.0, "breath-out", 1),
        CueSeen(31.0, "breath-in", 2),
    ]
    blocks = blocks_from_run(plan_json, {0: 0.0, 1: 20.0, 2: 30.0}, cues, 50.0)
    assert [(b.pace_per_min, b.start_s, b.end_s) for b in blocks] == [
        (6.0, 20.0, 30.0),
        (4.5, 30.0, 50.0),
    ]
    assert blocks[0].inhale_s == (20.0,) and blocks[0].exhale_s == (24.0,)
    assert blocks_from_run(plan_json, {0: 0.0}, cues, 50.0) == ()
