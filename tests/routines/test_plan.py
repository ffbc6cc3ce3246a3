import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from companion.ble.profiles import load_profiles
from companion.cli import main as cli_main
from companion.cues import CueName
from companion.routines.catalog import (
    COOL_DOWN,
    REST,
    WARM_UP,
    Mode,
    Routine,
    RoutineStep,
    Side,
    load_catalog,
    load_routines,
)
from companion.routines.haptics import Vocabulary
from companion.routines.pacer import BreathPattern
from companion.routines.plan import (
    SAME_INSTANT_ORDER,
    Plan,
    PlannedCue,
    PlannedStep,
    PlanSettings,
    band_script,
    compile_plan,
    compose_plan,
    format_plan_text,
    retime_from,
    with_band_writes,
)
from companion.routines.progression import ProgressionLevel

CATALOG = load_catalog()
ROUTINES = load_routines(None, CATALOG)
LEVEL_1 = ProgressionLevel(1, 4, "level 1 of 4: starting gently")
TOP_LEVEL = ProgressionLevel(4, 4, "level 4 of 4: the top level")
DEFAULT = PlanSettings()
LONG_EXHALE = BreathPattern(inhale_s=4.0, exhale_s=8.0)
L, R = Side.LEFT, Side.RIGHT
IN, OUT, END, DONE = CueName.BREATH_IN, CueName.BREATH_OUT, CueName.HOLD_END, CueName.ROUTINE_END


def shape(plan: Plan) -> list[tuple[Any, ...]]:
    """Each step without its instructions, which other tests pin."""
    return [
        (s.index, s.name, s.exercise, s.side, s.mode, s.start_s, s.end_s, s.breaths, s.reps)
        for s in plan.steps
    ]


def cue_table(plan: Plan) -> list[tuple[float, CueName, int]]:
    return [(c.at_s, c.cue, c.step) for c in plan.cues]


def only(exercise_id: str, amount: float | None = None, **routine: Any) -> Routine:
    exercise = CATALOG.get(exercise_id)
    step = RoutineStep(exercise, exercise.side_names[:1], amount=amount)
    return Routine(name="one", title="One", description="", steps=(step,), **routine)


TASTER_STEPS = [
    (0, "Get ready", REST, None, Mode.REST, 0.0, 10.0, 1, None),
    (1, "Knee to chest — left", "knee-to-chest", L, Mode.HOLD, 10.0, 30.0, 2, None),
    (2, "Rest", REST, None, Mode.REST, 30.0, 40.0, 1, None),
    (3, "Knee to chest — right", "knee-to-chest", R, Mode.HOLD, 40.0, 60.0, 2, None),
]
TASTER_CUES = [
    (0.0, IN, 0),
    (4.0, OUT, 0),
    (10.0, IN, 1),
    (14.0, OUT, 1),
    (20.0, IN, 1),
    (24.0, OUT, 1),
    (30.0, END, 1),
    (30.0, IN, 2),
    (34.0, OUT, 2),
    (40.0, IN, 3),
    (44.0, OUT, 3),
    (50.0, IN, 3),
    (54.0, OUT, 3),
    (60.0, END, 3),
    (60.0, DONE, 3),
]


def test_taster_at_the_default_pattern_is_this_exact_timeline() -> None:
    plan = compile_plan(ROUTINES["taster"], DEFAULT, LEVEL_1)
    assert (plan.routine, plan.title, plan.level, plan.level_reason) == (
        "taster",
        "Taster",
        1,
        "level 1 of 4: starting gently",
    )
    assert (plan.pattern, plan.total_s) == (BreathPattern(), 60.0)
    assert shape(plan) == TASTER_STEPS
    assert cue_table(plan) == TASTER_CUES


def test_taster_lasts_about_a_minute_at_any_level() -> None:
    totals = {
        compile_plan(ROUTINES["taster"], DEFAULT, lvl).total_s for lvl in (LEVEL_1, TOP_LEVEL)
    }
    assert totals == {60.0}
    assert all(45.0 <= total <= 75.0 for total in totals)


@pytest.mark.parametrize(
    ("name", "pattern", "total_s"),
    [("bedtime", LONG_EXHALE, 360.0), ("morning", BreathPattern(), 450.0)],
)
def test_built_in_routines_at_level_one_last_a_few_minutes(
    name: str, pattern: BreathPattern, total_s: float
) -> None:
    plan = compile_plan(ROUTINES[name], DEFAULT, LEVEL_1)
    assert (plan.pattern, plan.total_s) == (pattern, total_s)


@pytest.mark.parametrize("name", sorted(ROUTINES))
@pytest.mark.parametrize("level", [1, 2, 3, 4])
@pytest.mark.parametrize("rest_breaths", [0, 1, 2])
def test_every_built_in_routine_compiles_to_contiguous_steps_and_sorted_cues(
    name: str, level: int, rest_breaths: int
) -> None:
    settings = PlanSettings(rest_breaths=rest_breaths)
    plan = compile_plan(ROUTINES[name], settings, ProgressionLevel(level, 4, ""))
    steps = plan.steps
    assert [s.index for s in steps] == list(range(len(steps)))
    assert steps[0].start_s == 0.0
    assert [s.start_s for s in steps[1:]] == [s.end_s for s in steps[:-1]]
    assert steps[-1].end_s == plan.total_s
    # A step with its own pace (the resonance assessment's blocks) lasts its own breaths.
    cycles = [s.cycles * (s.pattern or plan.pattern).cycle_s for s in steps]
    assert [s.end_s - s.start_s for s in steps] == pytest.approx(cycles)
    order = list(SAME_INSTANT_ORDER)
    assert list(plan.cues) == sorted(plan.cues, key=lambda c: (c.at_s, order.index(c.cue)))
    assert plan.cues[-1] == PlannedCue(plan.total_s, DONE, steps[-1].index)
    hold_ends = [(c.at_s, c.step) for c in plan.cues if c.cue is END]
    assert hold_ends == [(s.end_s, s.index) for s in steps if s.mode is not Mode.REST]
    breath_ins = [c for c in plan.cues if c.cue is IN]
    assert len(breath_ins) == sum(s.cycles for s in steps)
    assert {s.start_s for s in steps} <= {c.at_s for c in breath_ins}


@pytest.mark.parametrize("name", ["bedtime", "morning"])
def test_bedtime_and_morning_start_with_the_warm_up_and_end_with_the_cool_down(
    name: str,
) -> None:
    plan = compile_plan(ROUTINES[name], DEFAULT, LEVEL_1)
    work = [s.exercise for s in plan.steps if s.mode is not Mode.REST]
    assert (work[0], work[-1]) == (WARM_UP, COOL_DOWN)


@pytest.mark.parametrize(
    ("pattern", "level", "knee_breaths", "knee_seconds", "tilt_reps"),
    [
        (BreathPattern(), 1, 2, 20.0, 10),
        (BreathPattern(), 2, 2, 20.0, 12),  # 23.3 s -> 2 breaths; 11.7 reps -> 12
        (BreathPattern(), 3, 3, 30.0, 13),  # 26.7 s -> 3 breaths; 13.3 reps -> 13
        (BreathPattern(), 4, 3, 30.0, 15),
        (LONG_EXHALE, 1, 2, 24.0, 10),  # 20 s at 12 s a breath -> 2 breaths
        (LONG_EXHALE, 4, 3, 36.0, 15),  # 30 s at 12 s a breath -> 2.5 -> 3 breaths
    ],
)
def test_level_picks_holds_and_reps_in_range_and_holds_become_whole_breaths(
    pattern: BreathPattern, level: int, knee_breaths: int, knee_seconds: float, tilt_reps: int
) -> None:
    settings = PlanSettings(pattern=pattern, rest_breaths=0)
    progression = ProgressionLevel(level, 4, "")
    knee = compile_plan(only("knee-to-chest"), settings, progression).steps[0]
    tilt = compile_plan(only("pelvic-tilt"), settings, progression).steps[0]
    assert (knee.breaths, knee.reps, knee.end_s) == (knee_breaths, None, knee_seconds)
    assert (tilt.breaths, tilt.reps, tilt.end_s) == (None, tilt_reps, tilt_reps * pattern.cycle_s)


def test_a_pinned_amount_ignores_the_level() -> None:
    settings = PlanSettings(rest_breaths=0)
    plans = [
        compile_plan(only("knee-to-chest", 25.0), settings, lvl) for lvl in (LEVEL_1, TOP_LEVEL)
    ]
    assert [p.steps[0].breaths for p in plans] == [3, 3]


@pytest.mark.parametrize(
    ("settings", "routine_pattern", "expected"),
    [
        (PlanSettings(), None, BreathPattern()),
        (PlanSettings(), LONG_EXHALE, LONG_EXHALE),
        (
            PlanSettings(pattern=BreathPattern(exhale_s=7.0)),
            LONG_EXHALE,
            BreathPattern(exhale_s=7.0),
        ),
    ],
)
def test_settings_pattern_beats_the_routine_pattern_which_beats_the_default(
    settings: PlanSettings, routine_pattern: BreathPattern | None, expected: BreathPattern
) -> None:
    plan = compile_plan(only("knee-to-chest", pattern=routine_pattern), settings, LEVEL_1)
    assert plan.pattern == expected


def test_without_rest_breaths_exercises_follow_each_other_directly() -> None:
    plan = compile_plan(ROUTINES["taster"], PlanSettings(rest_breaths=0), LEVEL_1)
    assert [(s.name, s.start_s, s.end_s) for s in plan.steps] == [
        ("Knee to chest — left", 0.0, 20.0),
        ("Knee to chest — right", 20.0, 40.0),
    ]


@pytest.mark.parametrize("rest_breaths", [-1, 6])
def test_rest_breaths_stay_within_zero_to_five(rest_breaths: int) -> None:
    with pytest.raises(ValueError, match="rest_breaths"):
        PlanSettings(rest_breaths=rest_breaths)


def test_offsets_are_rounded_to_milliseconds() -> None:
    pattern = BreathPattern(inhale_s=4.1, exhale_s=6.2)
    plan = compile_plan(ROUTINES["taster"], PlanSettings(pattern=pattern), LEVEL_1)
    # 15 s holds are one 10.3 s breath; sums like 3 * 10.3 are not exact in binary.
    assert [s.end_s for s in plan.steps] == [10.3, 20.6, 30.9, 41.2]
    assert [c.at_s for c in plan.cues if c.step == 2] == [20.6, 24.7]


@pytest.mark.parametrize(
    ("exercise", "instructions"),
    [
        (
            "pelvic-tilt",
            "Tighten your belly a little and press the small of your back into the bed, so your "
            "tailbone lifts slightly. Keep it slow and small. Breathe out as you tilt and pause; "
            "breathe in as you relax. One each breath, 10 times.",
        ),
        (
            "spinal-rotation",
            "Let both knees fall slowly to the left, as far as is comfortable. Keep both "
            "shoulders on the bed. You should feel a gentle twist along your back. Breathe out "
            "as you let your knees go down, then breathe slowly and stay there. When the hold "
            "ends, breathe in and bring your knees back to the middle.",
        ),
        (
            "cat-cow",
            "To round, press your lower back into the bed and tuck your chin a little. To arch, "
            "let your lower back lift gently off the bed and open your chest. Breathe out as you "
            "round your back; breathe in as you arch gently. Keep going with your breath.",
        ),
    ],
)
def test_instructions_say_what_to_do_and_which_breath_carries_it(
    exercise: str, instructions: str
) -> None:
    plan = compile_plan(only(exercise), PlanSettings(rest_breaths=0), LEVEL_1)
    assert plan.steps[0].instructions == instructions


def test_a_variant_changes_the_name_position_and_how() -> None:
    cat_cow = CATALOG.get("cat-cow")
    step = RoutineStep(cat_cow, (), cat_cow.variant("hands-and-knees"))
    routine = Routine(name="one", title="One", description="", steps=(step,))
    rest, work = compile_plan(routine, DEFAULT, LEVEL_1).steps
    assert work.name == "Cat-cow — on hands and knees"
    assert work.instructions.startswith("To round, lift your back like a cat")
    assert rest.instructions == (
        "Settle in and follow the breathing cues. First: Cat-cow — on hands and knees. "
        "Kneel on all fours on the bed, hands under your shoulders and knees under your hips."
    )


def test_rests_between_exercises_name_what_comes_next() -> None:
    plan = compile_plan(ROUTINES["taster"], DEFAULT, LEVEL_1)
    assert plan.steps[2].instructions == (
        "Rest. Next: Knee to chest — right. "
        "Lie on your back with your knees bent and your feet flat on the bed."
    )


# --- retime_from -----------------------------------------------------------------------------


def test_retime_from_stretches_later_steps_keeping_their_breaths() -> None:
    plan = compile_plan(ROUTINES["taster"], DEFAULT, LEVEL_1)
    retimed = retime_from(plan, 2, LONG_EXHALE)
    assert retimed.pattern == LONG_EXHALE
    assert retimed.total_s == 66.0
    assert shape(retimed) == [
        *TASTER_STEPS[:2],
        (2, "Rest", REST, None, Mode.REST, 30.0, 42.0, 1, None),
        (3, "Knee to chest — right", "knee-to-chest", R, Mode.HOLD, 42.0, 66.0, 2, None),
    ]
    assert cue_table(retimed) == [
        *TASTER_CUES[:7],  # up to and including the hold-end of step 1
        (30.0, IN, 2),
        (34.0, OUT, 2),
        (42.0, IN, 3),
        (46.0, OUT, 3),
        (54.0, IN, 3),
        (58.0, OUT, 3),
        (66.0, END, 3),
        (66.0, DONE, 3),
    ]


@pytest.mark.parametrize("from_step", [0, 7, 13])
def test_retime_from_with_the_same_pattern_changes_nothing(from_step: int) -> None:
    plan = compile_plan(ROUTINES["morning"], DEFAULT, LEVEL_1)
    assert retime_from(plan, from_step, plan.pattern) == plan


def test_retime_from_keeps_everything_else_about_the_plan() -> None:
    plan = compile_plan(ROUTINES["bedtime"], DEFAULT, TOP_LEVEL)
    retimed = retime_from(plan, 5, BreathPattern(exhale_s=9.0))
    unchanged = ("routine", "title", "level", "level_reason")
    assert [getattr(retimed, f) for f in unchanged] == [getattr(plan, f) for f in unchanged]

    def untimed(steps: tuple[PlannedStep, ...]) -> list[PlannedStep]:
        return [dataclasses.replace(s, start_s=0.0, end_s=0.0) for s in steps]

    assert untimed(retimed.steps) == untimed(plan.steps)


@pytest.mark.parametrize("from_step", [-1, 4])
def test_retime_from_refuses_a_step_the_plan_does_not_have(from_step: int) -> None:
    plan = compile_plan(ROUTINES["taster"], DEFAULT, LEVEL_1)
    with pytest.raises(ValueError, match="no step"):
        retime_from(plan, from_step, LONG_EXHALE)


# --- JSON and text ---------------------------------------------------------------------------


# A write as a device profile gives it (``DeviceProfile.writes_json``).
BUZZ = {"after_s": 0.0, "characteristic": "2a06", "value": "02"}


def test_plan_json_has_exactly_the_agreed_fields_and_the_profile_writes() -> None:
    asked: list[str] = []

    def cue_writes(cue: str) -> list[dict[str, Any]]:
        asked.append(cue)
        return [dict(BUZZ)] if cue == "hold-end" else []

    plan = compile_plan(ROUTINES["taster"], PlanSettings(rest_breaths=0), LEVEL_1)
    buzz = [BUZZ]
    assert plan.to_json(cue_writes) == {
        "routine": "taster",
        "title": "Taster",
        "level": 1,
        "level_reason": "level 1 of 4: starting gently",
        "total_s": 40.0,
        "pattern": {"inhale_s": 4.0, "hold_in_s": 0.0, "exhale_s": 6.0, "hold_out_s": 0.0},
        "steps": [
            {
                "index": 0,
                "name": "Knee to chest — left",
                "exercise": "knee-to-chest",
                "side": "left",
                "mode": "hold",
                "start_s": 0.0,
                "end_s": 20.0,
                "breaths": 2,
                "reps": None,
            },
            {
                "index": 1,
                "name": "Knee to chest — right",
                "exercise": "knee-to-chest",
                "side": "right",
                "mode": "hold",
                "start_s": 20.0,
                "end_s": 40.0,
                "breaths": 2,
                "reps": None,
            },
        ],
        "cues": [
            {"at_s": 0.0, "cue": "breath-in", "step": 0, "writes": []},
            {"at_s": 4.0, "cue": "breath-out", "step": 0, "writes": []},
            {"at_s": 10.0, "cue": "breath-in", "step": 0, "writes": []},
            {"at_s": 14.0, "cue": "breath-out", "step": 0, "writes": []},
            {"at_s": 20.0, "cue": "hold-end", "step": 0, "writes": buzz},
            {"at_s": 20.0, "cue": "breath-in", "step": 1, "writes": []},
            {"at_s": 24.0, "cue": "breath-out", "step": 1, "writes": []},
            {"at_s": 30.0, "cue": "breath-in", "step": 1, "writes": []},
            {"at_s": 34.0, "cue": "breath-out", "step": 1, "writes": []},
            {"at_s": 40.0, "cue": "hold-end", "step": 1, "writes": buzz},
            {"at_s": 40.0, "cue": "routine-end", "step": 1, "writes": []},
        ],
    }
    assert sorted(asked) == ["breath-in", "breath-out", "hold-end", "routine-end"]


def test_plan_text_is_a_table_of_steps_with_times_breaths_and_the_level() -> None:
    plan = compile_plan(ROUTINES["taster"], DEFAULT, LEVEL_1)
    assert format_plan_text(plan) == "\n".join(
        [
            "Taster (taster): 1:00",
            "Breathing: in 4 s, out 6 s (6 breaths a minute)",
            "Level 1 of 4: starting gently",
            "",
            "#  from  to    step                   count      seconds",
            "0  0:00  0:10  Get ready              1 breath        10",
            "1  0:10  0:30  Knee to chest — left   2 breaths       20",
            "2  0:30  0:40  Rest                   1 breath        10",
            "3  0:40  1:00  Knee to chest — right  2 breaths       20",
        ]
    )


def test_plan_text_shows_reps_holds_in_the_pattern_and_fractional_seconds() -> None:
    pattern = BreathPattern(inhale_s=4.5, hold_in_s=1.0, exhale_s=6.0)
    plan = compile_plan(only("pelvic-tilt"), PlanSettings(pattern=pattern, rest_breaths=0), LEVEL_1)
    lines = format_plan_text(plan).splitlines()
    assert lines[1] == "Breathing: in 4.5 s, hold 1 s, out 6 s (5.22 breaths a minute)"
    assert lines[-1] == "0  0:00  1:55  Pelvic tilt  10 reps      115"


def test_planned_steps_need_exactly_one_of_breaths_and_reps() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        PlannedStep(0, "x", "x", None, Mode.HOLD, 0.0, 1.0, "", breaths=2, reps=3)


# --- composed for a band's one haptic channel -------------------------------------------------


def test_companion_plan_json_lists_the_exact_writes_with_no_two_patterns_overlapping(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        cli_main,
        ["plan", "bedtime", "--json", "--profile", "immediate-alert"],
        env={"COMPANION_DATA_DIR": str(tmp_path)},
    )

    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    band = shown["band_writes"]
    assert [w["at_s"] for w in band] == sorted(w["at_s"] for w in band)
    # Each cue's writes come in one unbroken run: no pattern is interleaved with another.
    runs = [cue for cue, _ in itertools.groupby((w["at_s"], w["cue"])[1] for w in band)]
    played = [c for c in shown["cues"] if c["fate"] in ("played", "delayed")]
    assert len(runs) == len(played)
    assert runs == [c["cue"] for c in sorted(played, key=lambda c: c["start_s"])]
    for cue in shown["cues"]:
        if cue["cue"] == "hold-end":
            assert cue["fate"] == "played"
            assert [w["value"] for w in cue["writes"]] == ["02", "00"]
    folded = [c for c in shown["cues"] if c["fate"] == "folded"]
    assert folded and all(c["writes"] == [] and c["reason"] for c in folded)


def test_retiming_a_composed_plan_composes_the_rest_by_the_same_rule() -> None:
    vocabulary = Vocabulary.from_profile(load_profiles(None)["immediate-alert"])
    plan = compose_plan(compile_plan(ROUTINES["taster"], DEFAULT, LEVEL_1), vocabulary)

    retimed = retime_from(plan, 2, LONG_EXHALE)

    assert retimed.vocabulary is vocabulary
    assert all(c.delivery is not None for c in retimed.cues)
    assert retimed.cues[: len([c for c in plan.cues if c.step < 2])] == tuple(
        c for c in plan.cues if c.step < 2
    )
    ends = [c for c in retimed.cues if c.cue is END]
    assert ends and all(c.delivery and c.delivery.fate.value == "played" for c in ends)


def test_composing_without_a_band_leaves_the_plan_as_it_was() -> None:
    plan = compile_plan(ROUTINES["taster"], DEFAULT, LEVEL_1)

    assert compose_plan(plan, None) is plan
    assert band_script(plan) == ()
    assert "band_writes" not in with_band_writes(plan)


def test_the_band_script_is_every_cues_writes_in_time_order_and_not_part_of_the_plan() -> None:
    vocabulary = Vocabulary.from_profile(load_profiles(None)["immediate-alert"])
    plan = compose_plan(compile_plan(ROUTINES["taster"], DEFAULT, LEVEL_1), vocabulary)

    script = band_script(plan)

    per_cue = sorted(
        (round(cue["at_s"] + w["after_s"], 3), cue["cue"], w["value"])
        for cue in plan.to_json()["cues"]
        for w in cue["writes"]
    )
    assert [(w.at_s, w.cue, w.value) for w in script] == per_cue
    assert [w.at_s for w in script] == sorted(w.at_s for w in script)
    assert "band_writes" not in plan.to_json()  # device detail stays out of the plan
    assert with_band_writes(plan) == {
        **plan.to_json(),
        "band_writes": [w.to_json() for w in script],
    }
