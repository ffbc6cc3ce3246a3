"""The resonance assessment routine: blocks with their own breathing paces."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from companion.cues import CueName
from companion.errors import RoutineError
from companion.heart.resonance import ASSESSMENT_PACES_PER_MIN, PACED_BREATHING
from companion.routines.catalog import load_catalog, load_routine_file, load_routines
from companion.routines.pacer import BreathPattern
from companion.routines.plan import (
    PlanSettings,
    compile_plan,
    format_plan_text,
    retime_from,
)
from companion.routines.progression import ProgressionLevel

ROUTINE = load_routines(None)["resonance"]
LEVEL = ProgressionLevel(1, 4, "")


def _blocks(settings: PlanSettings | None = None) -> list[tuple[float, float, float]]:
    plan = compile_plan(ROUTINE, settings or PlanSettings(), LEVEL)
    return [
        (round(s.pattern.breaths_per_minute, 1), s.end_s - s.start_s, s.pattern.inhale_s)
        for s in plan.steps
        if s.exercise == PACED_BREATHING and s.pattern is not None
    ]


def test_the_routine_paces_six_blocks_of_about_two_minutes_from_7_down_to_4_5() -> None:
    blocks = _blocks()
    assert [pace for pace, _, _ in blocks] == list(ASSESSMENT_PACES_PER_MIN)
    assert all(115.0 <= length <= 125.0 for _, length, _ in blocks)
    for step in ROUTINE.steps:
        if step.pattern is not None:
            assert step.pattern.inhale_s < step.pattern.exhale_s


def test_a_saved_breathing_pattern_does_not_change_the_blocks_paces() -> None:
    saved = PlanSettings(pattern=BreathPattern(inhale_s=5.0, exhale_s=7.0))
    assert _blocks(saved) == _blocks()


def test_each_block_is_cued_at_its_own_pace_and_its_rest_already_breathes_at_it() -> None:
    plan = compile_plan(ROUTINE, PlanSettings(), LEVEL)
    for step in plan.steps:
        if step.exercise != PACED_BREATHING:
            continue
        assert step.pattern is not None
        rest = plan.steps[step.index - 1]
        assert rest.exercise == "rest" and rest.pattern == step.pattern
        ins = [c.at_s for c in plan.cues if c.step == step.index and c.cue is CueName.BREATH_IN]
        gaps = {round(b - a, 2) for a, b in itertools.pairwise(ins)}
        assert gaps == {round(step.pattern.cycle_s, 2)}


def test_adaptive_pacing_leaves_the_blocks_paces_alone() -> None:
    plan = compile_plan(ROUTINE, PlanSettings(), LEVEL)
    longer = BreathPattern(inhale_s=4.0, exhale_s=8.0)
    retimed = retime_from(plan, 1, longer)
    before = [(s.pattern, s.end_s - s.start_s) for s in plan.steps if s.pattern]
    after = [(s.pattern, s.end_s - s.start_s) for s in retimed.steps if s.pattern]
    assert after == before
    assert retimed.steps[-1].end_s > plan.steps[-1].end_s  # the cool-down breathes slower


def test_the_plan_shows_each_blocks_pace_in_json_and_text() -> None:
    plan = compile_plan(ROUTINE, PlanSettings(), LEVEL)
    shown = plan.to_json()
    paced = [s for s in shown["steps"] if s["exercise"] == PACED_BREATHING]
    assert [s["pattern"]["inhale_s"] for s in paced] == [3.4, 3.7, 4.0, 4.4, 4.8, 5.3]
    assert all("pattern" not in s for s in shown["steps"] if s["exercise"] == "warm-up")
    assert "breaths at 5.5/min" in format_plan_text(plan)


def test_a_step_breathing_outside_the_bounds_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'title = "Mine"\n'
        '[[steps]]\nexercise = "warm-up"\n'
        '[[steps]]\nexercise = "paced-breathing"\nbreathing = { inhale_s = 20 }\n'
        '[[steps]]\nexercise = "cool-down"\n',
        encoding="utf-8",
    )
    with pytest.raises(RoutineError, match=r"steps\[1\]\.breathing\.inhale_s"):
        load_routine_file(path, load_catalog())
