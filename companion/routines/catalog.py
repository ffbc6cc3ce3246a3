"""Exercises and routines: TOML data beside this module, read into frozen values.

Parsing is pure (``parse_catalog``, ``parse_routine`` take the decoded TOML); the
``load_*`` functions are the thin file-reading edge. Files are read by the one strict
reader, ``companion.strict_toml``: every problem raises
:class:`~companion.errors.RoutineError` naming the file, the field path and what is allowed.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from companion.errors import RoutineError, UnknownNameError
from companion.routines.pacer import BreathPattern, BreathPhase, PatternError, format_span
from companion.strict_toml import Table, decode, load

_LOGGER = logging.getLogger(__name__)

EXERCISES_FILE = "exercises.toml"
BUILT_IN = "built-in"
WARM_UP = "warm-up"
COOL_DOWN = "cool-down"
# Transitions in a plan use this id, so no exercise may take it.
REST = "rest"
# A taster is a demo of the loop, so its holds may be shorter than an exercise's minimum.
TASTER_MIN_HOLD_S = 10.0

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Mode(enum.StrEnum):
    HOLD = "hold"  # one static hold, counted in breaths
    REPS = "reps"  # repetitions, one per breath: move, pause briefly, release
    FLOW = "flow"  # continuous movement with the breath
    REST = "rest"  # a planned transition between exercises; no exercise has this mode

    @property
    def dose_key(self) -> str:
        """The field that says how much of an exercise in this mode to do."""
        return _DOSE_KEYS[self]


_DOSE_KEYS = {Mode.HOLD: "hold_s", Mode.REPS: "reps", Mode.FLOW: "duration_s"}
_EXERCISE_MODES = tuple(_DOSE_KEYS)


class Side(enum.StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"


@dataclass(frozen=True)
class DoseRange:
    """How much of an exercise is allowed: seconds for holds and flows, a count for reps."""

    low: float
    high: float

    def at(self, fraction: float) -> float:
        """The point ``fraction`` (0 = low end, 1 = high end) of the way through the range."""
        return self.low + fraction * (self.high - self.low)

    def __str__(self) -> str:
        return format_span(self.low, self.high)


@dataclass(frozen=True)
class SideAction:
    side: Side
    how: str


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    position: str
    how: str


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    mode: Mode
    dose: DoseRange
    position: str
    how: str
    move_on: BreathPhase  # the phase that carries the movement; the opposite one releases
    move: str
    release: str
    sides: tuple[SideAction, ...] = ()
    variants: tuple[Variant, ...] = ()
    cautions: tuple[str, ...] = ()

    @property
    def side_names(self) -> tuple[Side, ...]:
        return tuple(action.side for action in self.sides)

    def side_how(self, side: Side) -> str:
        return next(action.how for action in self.sides if action.side is side)

    def variant(self, name: str) -> Variant:
        return next(variant for variant in self.variants if variant.name == name)


@dataclass(frozen=True)
class Catalog:
    exercises: tuple[Exercise, ...]
    safety: tuple[str, ...]

    def get(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise UnknownNameError("exercise", exercise_id, [e.id for e in self.exercises])


@dataclass(frozen=True)
class RoutineStep:
    exercise: Exercise
    sides: tuple[Side, ...]  # empty when the exercise has no sides
    variant: Variant | None = None  # None: the exercise's usual form
    amount: float | None = None  # a pinned hold_s / reps / duration_s; None lets progression pick
    # This step's own breathing (an assessment's paces); None: the routine's or settings'.
    pattern: BreathPattern | None = None


@dataclass(frozen=True)
class Routine:
    name: str
    title: str
    description: str
    steps: tuple[RoutineStep, ...]
    pattern: BreathPattern | None = None  # None: the settings' or the default pattern
    taster: bool = False
    source: str = BUILT_IN  # "built-in" or the file it came from


def _table(data: Any, path: str, source: Path, allowed: tuple[str, ...] | None = None) -> Table:
    return Table(data, path, source, RoutineError, allowed)


def _amount_of(table: Table, key: str, mode: Mode) -> float:
    """A dose value: a whole number of reps, or seconds."""
    return float(table.integer(key)) if mode is Mode.REPS else table.number(key)


# --- the exercise catalog ---------------------------------------------------------------------

_EXERCISE_KEYS = (
    "title",
    "mode",
    *_DOSE_KEYS.values(),
    "position",
    "how",
    "move_on",
    "move",
    "release",
    "sides",
    "variants",
    "cautions",
)
_VARIANT_KEYS = ("label", "position", "how")


def _refuse_other_doses(table: Table, mode: Mode, who: str) -> None:
    for other in _DOSE_KEYS.values():
        if other != mode.dose_key and table.has(other):
            table.fail(other, f"{who} is a {mode.value} exercise; give {mode.dose_key}")


def _dose(table: Table, mode: Mode) -> DoseRange:
    _refuse_other_doses(table, mode, "this")
    bounds = table.table(mode.dose_key, ("min", "max"))
    if not (bounds.has("min") and bounds.has("max")):
        bounds.fail(None, "needs min and max")
    low, high = _amount_of(bounds, "min", mode), _amount_of(bounds, "max", mode)
    if not 0 < low <= high:
        bounds.fail(None, f"needs 0 < min <= max, not {low:g} and {high:g}")
    return DoseRange(low, high)


def _exercise(exercise_id: str, table: Table) -> Exercise:
    if exercise_id == REST or not _NAME.match(exercise_id):
        table.fail(
            None, "an exercise id is lower-case letters, digits, '-' and '_', and not 'rest'"
        )
    mode = table.choice("mode", _EXERCISE_MODES)
    sides_table = table.table("sides", tuple(side.value for side in Side))
    variants_table = table.table("variants")
    variants = []
    for name in variants_table.data:
        variant = variants_table.table(name, _VARIANT_KEYS)
        variants.append(
            Variant(name, variant.text("label"), variant.text("position"), variant.text("how"))
        )
    return Exercise(
        id=exercise_id,
        title=table.text("title"),
        mode=mode,
        dose=_dose(table, mode),
        position=table.text("position"),
        how=table.text("how"),
        move_on=table.choice("move_on", (BreathPhase.INHALE, BreathPhase.EXHALE)),
        move=table.text("move"),
        release=table.text("release"),
        sides=tuple(SideAction(Side(key), sides_table.text(key)) for key in sides_table.data),
        variants=tuple(variants),
        cautions=table.texts("cautions"),
    )


def parse_catalog(data: Mapping[str, Any], source: Path) -> Catalog:
    top = _table(data, "", source, ("safety", "exercises"))
    exercises_table = top.table("exercises")
    exercises = tuple(
        _exercise(key, exercises_table.table(key, _EXERCISE_KEYS)) for key in exercises_table.data
    )
    for required in (WARM_UP, COOL_DOWN):
        if required not in {e.id for e in exercises}:
            top.fail("exercises", f"needs a {required!r} exercise")
    safety = top.table("safety", ("notes",)).texts("notes")
    return Catalog(exercises, safety)


# --- routines ---------------------------------------------------------------------------------

_ROUTINE_KEYS = ("title", "description", "taster", "breathing", "steps")
_STEP_KEYS = ("exercise", "sides", "variant", *_DOSE_KEYS.values(), "breathing")
_PATTERN_KEYS = ("inhale_s", "hold_in_s", "exhale_s", "hold_out_s")


def _pattern(table: Table) -> BreathPattern | None:
    if not table.data:
        return None
    phases = {key: table.number(key) for key in _PATTERN_KEYS if table.has(key)}
    try:
        return BreathPattern(**phases)
    except PatternError as exc:
        table.fail(exc.field, exc.problem)


def _amount(step: Table, exercise: Exercise, taster: bool) -> float | None:
    key = exercise.mode.dose_key
    _refuse_other_doses(step, exercise.mode, exercise.id)
    if not step.has(key):
        return None
    amount = _amount_of(step, key, exercise.mode)
    allowed = exercise.dose
    if taster and exercise.mode is Mode.HOLD:
        allowed = DoseRange(min(TASTER_MIN_HOLD_S, allowed.low), allowed.high)
    if not allowed.low <= amount <= allowed.high:
        note = " in a taster" if allowed != exercise.dose else ""
        step.fail(key, f"{amount:g} is outside {allowed} for {exercise.id}{note}")
    return amount


def _sides(step: Table, exercise: Exercise) -> tuple[Side, ...]:
    if not step.has("sides"):
        return exercise.side_names
    if not exercise.sides:
        step.fail("sides", f"{exercise.id} has no sides")
    names = step.texts("sides")
    allowed = [side.value for side in exercise.side_names]
    for name in names:
        if name not in allowed:
            step.fail("sides", f"{name!r} is not a side of {exercise.id}; use {', '.join(allowed)}")
    if not names or len(set(names)) != len(names):
        step.fail("sides", f"list each side once, from {', '.join(allowed)}")
    return tuple(Side(name) for name in names)


def _step(step: Table, catalog: Catalog, taster: bool) -> RoutineStep:
    exercise_id = step.text("exercise")
    try:
        exercise = catalog.get(exercise_id)
    except UnknownNameError as exc:
        step.fail("exercise", f"{exercise_id!r} is not an exercise; known: {', '.join(exc.known)}")
    variant = None
    if step.has("variant"):
        name = step.text("variant")
        names = [v.name for v in exercise.variants]
        if name not in names:
            step.fail(
                "variant",
                f"{name!r} is not a variant of {exercise.id}; known: {', '.join(names) or 'none'}",
            )
        variant = exercise.variant(name)
    return RoutineStep(
        exercise,
        _sides(step, exercise),
        variant,
        _amount(step, exercise, taster),
        pattern=_pattern(step.table("breathing", _PATTERN_KEYS)),
    )


def parse_routine(
    name: str, data: Mapping[str, Any], catalog: Catalog, path: Path, *, built_in: bool = False
) -> Routine:
    """``path`` names the file in errors; ``built_in`` routines report "built-in" as source."""
    if not _NAME.match(name):
        raise RoutineError(
            path, "(file name)", f"{name!r}: use lower-case letters, digits, '-' and '_'"
        )
    top = _table(data, "", path, _ROUTINE_KEYS)
    taster = top.flag("taster")
    raw_steps = top.data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        top.fail("steps", "needs at least one [[steps]] table")
    steps = tuple(
        _step(_table(raw, f"steps[{i}]", path, _STEP_KEYS), catalog, taster)
        for i, raw in enumerate(raw_steps)
    )
    if not taster:
        # Warming up first and cooling down last is part of doing this gently.
        for index, wanted, what in ((0, WARM_UP, "starts"), (-1, COOL_DOWN, "ends")):
            if steps[index].exercise.id != wanted:
                top.fail(
                    f"steps[{index % len(steps)}].exercise",
                    f"a routine {what} with {wanted!r}, not {steps[index].exercise.id!r} "
                    "(only a taster, taster = true, may leave it out)",
                )
    return Routine(
        name=name,
        title=top.text("title"),
        description=top.text("description", default=""),
        steps=steps,
        pattern=_pattern(top.table("breathing", _PATTERN_KEYS)),
        taster=taster,
        source=BUILT_IN if built_in else str(path),
    )


# --- the file-reading edge ----------------------------------------------------------------


def _data_dir() -> Traversable:
    return resources.files(__package__ or "companion.routines") / "data"


def load_catalog() -> Catalog:
    """The built-in exercises."""
    entry = _data_dir() / EXERCISES_FILE
    source = Path(str(entry))
    return parse_catalog(decode(entry.read_bytes(), source, RoutineError), source)


def load_routine_file(path: Path, catalog: Catalog | None = None) -> Routine:
    """One user routine; its name is the file's stem."""
    return parse_routine(path.stem, load(path, RoutineError), catalog or load_catalog(), path)


def built_in_routines(catalog: Catalog) -> dict[str, Routine]:
    routines = {}
    for entry in sorted(_data_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml") and entry.name != EXERCISES_FILE:
            name = entry.name.removesuffix(".toml")
            path = Path(str(entry))
            data = decode(entry.read_bytes(), path, RoutineError)
            routines[name] = parse_routine(name, data, catalog, path, built_in=True)
    return routines


@dataclass(frozen=True)
class LoadedRoutines:
    """Every routine that could be read, and the user files that could not (skipped)."""

    routines: dict[str, Routine]
    problems: tuple[RoutineError, ...] = ()


def read_routines(user_dir: Path | None, catalog: Catalog | None = None) -> LoadedRoutines:
    """Built-in routines, then ``user_dir/*.toml`` on top (a user file replaces a built-in
    routine of the same name). A missing ``user_dir`` simply adds nothing; a user file
    that cannot be used is logged, kept in ``problems`` and skipped, so one typo never
    takes the built-in routines (or the other files) away."""
    catalog = catalog or load_catalog()
    routines = built_in_routines(catalog)
    if user_dir is None or not user_dir.is_dir():
        return LoadedRoutines(routines)
    problems = []
    for path in sorted(user_dir.glob("*.toml")):
        try:
            routine = load_routine_file(path, catalog)
        except RoutineError as exc:
            _LOGGER.warning("skipped a routine file: %s", exc)
            problems.append(exc)
            continue
        if routine.name in routines:
            _LOGGER.info("routine %s from %s replaces the built-in one", routine.name, path)
        routines[routine.name] = routine
    return LoadedRoutines(routines, tuple(problems))


def load_routines(user_dir: Path | None, catalog: Catalog | None = None) -> dict[str, Routine]:
    """The routines :func:`read_routines` finds (bad user files skipped and logged)."""
    return read_routines(user_dir, catalog).routines
