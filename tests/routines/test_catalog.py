import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from companion.errors import RoutineError, UnknownNameError
from companion.routines.catalog import (
    BUILT_IN,
    Catalog,
    DoseRange,
    Mode,
    Side,
    load_catalog,
    load_routine_file,
    load_routines,
    parse_catalog,
    read_routines,
)
from companion.routines.pacer import BreathPattern, BreathPhase
from companion.strict_toml import MAX_FILE_BYTES

DOCS = Path(__file__).parents[2] / "docs" / "routines.md"
CATALOG = load_catalog()
L, R, B = Side.LEFT, Side.RIGHT, Side.BOTH
DASH = "\N{EN DASH}"


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def write(text: str, name: str = "mine") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


# --- the exercise catalog --------------------------------------------------------------------


def test_catalog_holds_each_exercise_with_its_mode_range_sides_and_breath() -> None:
    shape = [
        (e.id, e.mode, e.dose, e.side_names, e.move_on, [v.name for v in e.variants])
        for e in CATALOG.exercises
    ]
    exhale = BreathPhase.EXHALE
    assert shape == [
        ("warm-up", Mode.FLOW, DoseRange(30, 60), (), exhale, []),
        ("knee-to-chest", Mode.HOLD, DoseRange(20, 30), (L, R, B), exhale, []),
        ("pelvic-tilt", Mode.REPS, DoseRange(10, 15), (), exhale, []),
        ("bridging", Mode.REPS, DoseRange(10, 15), (), exhale, []),
        ("spinal-rotation", Mode.HOLD, DoseRange(20, 30), (L, R), exhale, []),
        ("cat-cow", Mode.FLOW, DoseRange(45, 60), (), exhale, ["hands-and-knees"]),
        ("cool-down", Mode.HOLD, DoseRange(60, 120), (), exhale, []),
        ("paced-breathing", Mode.HOLD, DoseRange(60, 180), (), exhale, []),
    ]


def _shown_texts(catalog: Catalog) -> list[str]:
    texts = list(catalog.safety)
    for e in catalog.exercises:
        texts += [e.title, e.position, e.how, e.move, e.release, *e.cautions]
        texts += [action.how for action in e.sides]
        texts += [t for v in e.variants for t in (v.label, v.position, v.how)]
    return texts


def test_catalog_text_makes_no_medical_claims() -> None:
    claims = re.compile(r"\b(cure|cures|treat|treats|heal|heals|fix|fixes|guarantee)", re.I)
    assert [t for t in _shown_texts(CATALOG) if claims.search(t)] == []


def test_catalog_sentences_stay_short_enough_to_read_half_asleep() -> None:
    sentences = [s for t in _shown_texts(CATALOG) for s in re.split(r"(?<=[.!?]) ", t)]
    assert [s for s in sentences if len(s.split()) > 20] == []


def test_safety_notes_say_to_stop_on_sharp_pain() -> None:
    assert any("sharp pain" in note and "Stop" in note for note in CATALOG.safety)


def test_bridging_says_it_is_the_hardest_and_how_to_make_it_easier() -> None:
    bridging = CATALOG.get("bridging")
    assert any("hardest" in caution for caution in bridging.cautions)
    assert "easier" in bridging.how


def test_unknown_exercise_lookup_names_the_known_ones() -> None:
    with pytest.raises(UnknownNameError) as caught:
        CATALOG.get("squats")
    assert caught.value.known == sorted(e.id for e in CATALOG.exercises)


MINIMAL_EXERCISE = {
    "title": "T",
    "mode": "hold",
    "hold_s": {"min": 20, "max": 30},
    "position": "P",
    "how": "H",
    "move_on": "exhale",
    "move": "m",
    "release": "r",
}


def _catalog_with(exercise_id: str, **changes: Any) -> dict[str, Any]:
    exercise = {**MINIMAL_EXERCISE, **changes}
    exercises = {"warm-up": MINIMAL_EXERCISE, "cool-down": MINIMAL_EXERCISE}
    return {"exercises": {**exercises, exercise_id: exercise}}


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        (
            _catalog_with("x", mode="stretch"),
            "exercises.x.mode",
            "'stretch' is not one of hold, reps, flow",
        ),
        (
            _catalog_with("x", mode="rest"),
            "exercises.x.mode",
            "'rest' is not one of hold, reps, flow",
        ),
        (
            _catalog_with("x", reps={"min": 10, "max": 15}),
            "exercises.x.reps",
            "this is a hold exercise; give hold_s",
        ),
        (
            _catalog_with("x", hold_s={"min": 30, "max": 20}),
            "exercises.x.hold_s",
            "needs 0 < min <= max, not 30 and 20",
        ),
        (_catalog_with("x", hold_s={"min": 20}), "exercises.x.hold_s", "needs min and max"),
        (
            _catalog_with("x", move_on="hold-in"),
            "exercises.x.move_on",
            "'hold-in' is not one of inhale, exhale",
        ),
        (
            _catalog_with("x", sides={"up": "U"}),
            "exercises.x.sides.up",
            "unknown key; allowed: left, right, both",
        ),
        (
            _catalog_with("rest"),
            "exercises.rest",
            "an exercise id is lower-case letters, digits, '-' and '_', and not 'rest'",
        ),
        ({"exercises": {"x": MINIMAL_EXERCISE}}, "exercises", "needs a 'warm-up' exercise"),
    ],
)
def test_a_bad_catalog_names_the_field(data: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(RoutineError) as caught:
        parse_catalog(data, Path("exercises.toml"))
    assert (caught.value.field, caught.value.problem) == (field, problem)


# --- routines --------------------------------------------------------------------------------


def test_built_in_routines_are_bedtime_morning_resonance_and_taster() -> None:
    routines = load_routines(None)
    assert sorted(routines) == ["bedtime", "morning", "resonance", "taster"]
    assert {r.source for r in routines.values()} == {BUILT_IN}


def test_bedtime_breathes_out_longer_and_the_others_use_the_default() -> None:
    routines = load_routines(None)
    patterns = {name: r.pattern for name, r in routines.items()}
    assert patterns == {
        "bedtime": BreathPattern(inhale_s=4.0, exhale_s=8.0),
        "morning": None,
        "resonance": None,  # each of its blocks has its own pace instead
        "taster": None,
    }


@pytest.mark.parametrize(
    ("name", "exercises"),
    [
        (
            "bedtime",
            ["warm-up", "knee-to-chest", "spinal-rotation", "cat-cow", "cool-down"],
        ),
        (
            "morning",
            ["warm-up", "cat-cow", "pelvic-tilt", "bridging", "spinal-rotation", "cool-down"],
        ),
        ("taster", ["knee-to-chest"]),
    ],
)
def test_built_in_routines_do_their_exercises_in_order(name: str, exercises: list[str]) -> None:
    routine = load_routines(None)[name]
    assert [step.exercise.id for step in routine.steps] == exercises


def test_taster_is_flagged_as_a_demo_with_short_pinned_holds() -> None:
    taster = load_routines(None)["taster"]
    assert taster.taster
    assert [(s.sides, s.amount) for s in taster.steps] == [((L, R), 15.0)]


def test_user_routines_are_added_and_replace_built_ins_of_the_same_name(
    tmp_path: Path,
) -> None:
    body = '[[steps]]\nexercise = "knee-to-chest"\n'
    (tmp_path / "bedtime.toml").write_text(f'title = "Mine"\ntaster = true\n{body}')
    (tmp_path / "quick.toml").write_text(f'title = "Quick"\ntaster = true\n{body}')
    (tmp_path / "notes.txt").write_text("not a routine")
    routines = load_routines(tmp_path)
    assert sorted(routines) == ["bedtime", "morning", "quick", "resonance", "taster"]
    assert (routines["bedtime"].title, routines["bedtime"].source) == (
        "Mine",
        str(tmp_path / "bedtime.toml"),
    )


def test_a_missing_user_folder_leaves_the_built_ins(tmp_path: Path) -> None:
    assert sorted(load_routines(tmp_path / "nowhere")) == [
        "bedtime",
        "morning",
        "resonance",
        "taster",
    ]


def _documented_example() -> str:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    return str(blocks[0])


def test_the_documented_example_routine_loads(write: Any) -> None:
    routine = load_routine_file(write(_documented_example(), "firm-bed"))
    shape = [
        (s.exercise.id, s.sides, s.variant.name if s.variant else None, s.amount)
        for s in routine.steps
    ]
    assert (routine.name, routine.title, routine.pattern) == (
        "firm-bed",
        "Firm bed morning",
        BreathPattern(inhale_s=4.0, exhale_s=7.0),
    )
    assert shape == [
        ("warm-up", (), None, None),
        ("cat-cow", (), "hands-and-knees", 60.0),
        ("knee-to-chest", (L, R), None, None),
        ("pelvic-tilt", (), None, 12.0),
        ("cool-down", (), None, None),
    ]


def _routine(*steps: str, head: str = 'title = "Mine"') -> str:
    tables = [
        '[[steps]]\nexercise = "warm-up"',
        *(f"[[steps]]\n{step}" for step in steps),
        '[[steps]]\nexercise = "cool-down"',
    ]
    return "\n".join([head, *tables]) + "\n"


KNOWN = (
    "bridging, cat-cow, cool-down, knee-to-chest, paced-breathing, pelvic-tilt, "
    "spinal-rotation, warm-up"
)
STEP_KEYS = "exercise, sides, variant, hold_s, reps, duration_s, breathing"


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (
            _routine('exercise = "pelvic-tilt"', 'exercise = "knee-to-chest"\nhold_s = 45'),
            "steps[2].hold_s",
            f"45 is outside 20{DASH}30 for knee-to-chest",
        ),
        (
            _routine('exercise = "knee-to-chest"\nhold_s = 15'),
            "steps[1].hold_s",
            f"15 is outside 20{DASH}30 for knee-to-chest",
        ),
        (
            _routine('exercise = "pelvic-tilt"\nreps = 12.5'),
            "steps[1].reps",
            "must be a whole number, not the number 12.5",
        ),
        (
            _routine('exercise = "pelvic-tilt"\nreps = 20'),
            "steps[1].reps",
            f"20 is outside 10{DASH}15 for pelvic-tilt",
        ),
        (
            _routine('exercise = "knee-to-chest"\nreps = 12'),
            "steps[1].reps",
            "knee-to-chest is a hold exercise; give hold_s",
        ),
        (
            _routine('exercise = "cat-cow"\nduration_s = "long"'),
            "steps[1].duration_s",
            "must be a number, not text 'long'",
        ),
        (
            _routine('exercise = "squats"'),
            "steps[1].exercise",
            f"'squats' is not an exercise; known: {KNOWN}",
        ),
        (_routine("hold_s = 20"), "steps[1].exercise", "is required (text)"),
        (
            _routine('exercise = "knee-to-chest"\nhold = 20'),
            "steps[1].hold",
            f"unknown key; allowed: {STEP_KEYS}",
        ),
        (
            _routine('exercise = "spinal-rotation"\nsides = ["both"]'),
            "steps[1].sides",
            "'both' is not a side of spinal-rotation; use left, right",
        ),
        (
            _routine('exercise = "spinal-rotation"\nsides = ["left", "left"]'),
            "steps[1].sides",
            "list each side once, from left, right",
        ),
        (
            _routine('exercise = "spinal-rotation"\nsides = "left"'),
            "steps[1].sides",
            "must be a list of text, not text 'left'",
        ),
        (
            _routine('exercise = "pelvic-tilt"\nsides = ["left"]'),
            "steps[1].sides",
            "pelvic-tilt has no sides",
        ),
        (
            _routine('exercise = "cat-cow"\nvariant = "standing"'),
            "steps[1].variant",
            "'standing' is not a variant of cat-cow; known: hands-and-knees",
        ),
        (
            'title = "Mine"\n[[steps]]\nexercise = "knee-to-chest"\n'
            '[[steps]]\nexercise = "cool-down"\n',
            "steps[0].exercise",
            "a routine starts with 'warm-up', not 'knee-to-chest' "
            "(only a taster, taster = true, may leave it out)",
        ),
        (
            'title = "Mine"\n[[steps]]\nexercise = "warm-up"\n'
            '[[steps]]\nexercise = "knee-to-chest"\n',
            "steps[1].exercise",
            "a routine ends with 'cool-down', not 'knee-to-chest' "
            "(only a taster, taster = true, may leave it out)",
        ),
        (
            'title = "Mine"\ntaster = true\n[[steps]]\nexercise = "knee-to-chest"\nhold_s = 5\n',
            "steps[0].hold_s",
            f"5 is outside 10{DASH}30 for knee-to-chest in a taster",
        ),
        (
            _routine(head='title = "Mine"\ntaster = "yes"'),
            "taster",
            "must be true or false, not text 'yes'",
        ),
        (
            _routine(head='title = "Mine"\ncolour = "blue"'),
            "colour",
            "unknown key; allowed: title, description, taster, breathing, steps",
        ),
        (_routine(head='description = "no title"'), "title", "is required (text)"),
        (_routine(head='title = ""'), "title", "must be non-empty text, not text ''"),
        ('title = "Mine"\n', "steps", "needs at least one [[steps]] table"),
        ('title = "Mine"\nsteps = [1]\n', "steps[0]", "must be a table, not the number 1"),
        (
            _routine(head='title = "Mine"\n[breathing]\nexhale_s = 14'),
            "breathing.exhale_s",
            f"14 s is outside 2{DASH}12 s",
        ),
        (
            _routine(head='title = "Mine"\n[breathing]\ninhale_s = 2\nexhale_s = 2'),
            "breathing",
            f"a 4 s breath is 15 breaths a minute; allowed 3{DASH}12",
        ),
        (
            _routine(head='title = "Mine"\n[breathing]\nexhale = 8'),
            "breathing.exhale",
            "unknown key; allowed: inhale_s, hold_in_s, exhale_s, hold_out_s",
        ),
        (
            _routine(head='title = "Mine"\nbreathing = 8'),
            "breathing",
            "must be a table, not the number 8",
        ),
    ],
)
def test_a_bad_user_routine_names_the_file_and_field(
    write: Any, text: str, field: str, problem: str
) -> None:
    path = write(text)
    with pytest.raises(RoutineError) as caught:
        load_routine_file(path, CATALOG)
    assert (caught.value.path, caught.value.field, caught.value.problem) == (path, field, problem)


def test_a_routine_error_reads_as_one_line_with_file_field_and_problem(write: Any) -> None:
    path = write(_routine('exercise = "knee-to-chest"\nhold_s = 45'))
    with pytest.raises(RoutineError) as caught:
        load_routine_file(path, CATALOG)
    assert str(caught.value) == (
        f"routine {path}: field 'steps[1].hold_s': 45 is outside 20{DASH}30 for knee-to-chest"
    )


def test_a_file_that_is_not_toml_is_named(write: Any) -> None:
    path = write("title = \n")
    with pytest.raises(RoutineError) as caught:
        load_routine_file(path, CATALOG)
    assert (caught.value.path, caught.value.field) == (path, "(file)")
    assert caught.value.problem.startswith("not valid TOML: ")


def test_a_file_name_that_is_not_a_routine_name_is_refused(write: Any) -> None:
    path = write(_routine(), "My Routine")
    with pytest.raises(RoutineError) as caught:
        load_routine_file(path, CATALOG)
    assert (caught.value.field, caught.value.problem) == (
        "(file name)",
        "'My Routine': use lower-case letters, digits, '-' and '_'",
    )


GOOD_ROUTINE = 'title = "Quick"\ntaster = true\n[[steps]]\nexercise = "knee-to-chest"\n'


def test_one_bad_user_file_is_skipped_and_reported_and_the_rest_load(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('title = "B"\n')
    (tmp_path / "quick.toml").write_text(GOOD_ROUTINE)

    loaded = read_routines(tmp_path, CATALOG)

    assert sorted(loaded.routines) == ["bedtime", "morning", "quick", "resonance", "taster"]
    ((problem),) = loaded.problems
    assert (problem.path, problem.field) == (tmp_path / "broken.toml", "steps")
    assert sorted(load_routines(tmp_path, CATALOG)) == [
        "bedtime",
        "morning",
        "quick",
        "resonance",
        "taster",
    ]


def test_a_routine_linked_to_dev_zero_is_refused_without_reading_it(tmp_path: Path) -> None:
    (tmp_path / "zero.toml").symlink_to("/dev/zero")

    loaded = read_routines(tmp_path, CATALOG)

    assert sorted(loaded.routines) == ["bedtime", "morning", "resonance", "taster"]
    assert [(p.field, p.problem) for p in loaded.problems] == [("(file)", "is not a regular file")]


def test_a_fifo_named_like_a_routine_does_not_block_loading(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.toml")

    loaded = read_routines(tmp_path, CATALOG)

    assert [(p.path.name, p.problem) for p in loaded.problems] == [
        ("pipe.toml", "is not a regular file")
    ]


def test_a_routine_file_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text(GOOD_ROUTINE + "# padding\n" * (MAX_FILE_BYTES // 10))

    with pytest.raises(RoutineError) as caught:
        load_routine_file(path, CATALOG)

    assert caught.value.problem == f"is larger than {MAX_FILE_BYTES // 1024} KiB"


def test_a_routine_file_that_is_not_utf8_is_named(write: Any, tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'title = "Caf\xe9"\n')

    with pytest.raises(RoutineError) as caught:
        load_routine_file(path, CATALOG)

    assert caught.value.problem.startswith("is not UTF-8 text")


def test_built_in_data_files_are_valid_toml() -> None:
    data_dir = Path(__file__).parents[2] / "companion" / "routines" / "data"
    names = sorted(p.name for p in data_dir.glob("*.toml"))
    assert names == [
        "bedtime.toml",
        "exercises.toml",
        "morning.toml",
        "resonance.toml",
        "taster.toml",
    ]
    for path in data_dir.glob("*.toml"):
        tomllib.loads(path.read_text(encoding="utf-8"))
