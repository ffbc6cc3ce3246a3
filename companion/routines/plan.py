"""Routine + settings + progression level -> a timeline of steps and cues, pure.

Every step lasts a whole number of breaths, so step boundaries and breath cues line up:
a hold of ``breaths`` lasts ``breaths * cycle_s``, a set of reps lasts one breath per rep.
Each exercise is preceded by a short rest (a transition) of ``rest_breaths``. Cues fall
on every inhale and exhale start, "hold-end" ends each exercise step and "routine-end"
ends the plan. Offsets are rounded to milliseconds so the JSON form is stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from companion.cues import CueName
from companion.json_records import WritesItself, fields_json
from companion.routines.catalog import REST, Exercise, Mode, Routine, Side
from companion.routines.haptics import CueRequest, Delivery, Vocabulary, compose
from companion.routines.pacer import DEFAULT_PATTERN, BreathPattern, BreathPhase, format_span

if TYPE_CHECKING:
    # Only named in signatures, and importing either here would close a cycle: the types
    # of the plan's JSON describe BandWrite by the record below, and progression reads the
    # session states of companion.events, which carries plans.
    from companion.routines.plan_json import BandWriteJson, CueWrite, PlanCue, PlanJson, PlanStep
    from companion.routines.progression import ProgressionLevel

MAX_REST_BREATHS = 5
# The profile's writes of a cue, as JSON (``DeviceProfile.writes_json``; for a plan not
# composed for a band).
CueWrites = Callable[[CueName], "list[CueWrite]"]


# The cues a plan lays down, in the order of cues due at the same instant: the step that
# ends is told before the next one starts. The engine adds its own (pain, safety).
SAME_INSTANT_ORDER = (CueName.HOLD_END, CueName.BREATH_IN, CueName.BREATH_OUT, CueName.ROUTINE_END)
_CUE_ORDER = {cue: order for order, cue in enumerate(SAME_INSTANT_ORDER)}
_PHASE_CUES = {BreathPhase.INHALE: CueName.BREATH_IN, BreathPhase.EXHALE: CueName.BREATH_OUT}


@dataclass(frozen=True)
class PlanSettings:
    # None: the routine's own pattern if it has one, else the default (4 s in, 6 s out).
    pattern: BreathPattern | None = None
    rest_breaths: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.rest_breaths <= MAX_REST_BREATHS:
            allowed = format_span(0, MAX_REST_BREATHS)
            raise ValueError(f"rest_breaths must be {allowed}, not {self.rest_breaths}")


@dataclass(frozen=True)
class PlannedStep:
    index: int
    name: str
    exercise: str  # a catalog id, or "rest" for a transition
    side: Side | None
    mode: Mode
    start_s: float
    end_s: float
    instructions: str
    breaths: int | None  # how many breaths a hold, flow or rest lasts
    reps: int | None  # how many reps, one per breath
    # The step's own breathing (an assessment's paces); None: the plan's pattern. Kept
    # when adaptive pacing re-times the plan.
    pattern: BreathPattern | None = None

    def __post_init__(self) -> None:
        if (self.breaths is None) == (self.reps is None):
            raise ValueError(f"step {self.index} needs exactly one of breaths and reps")

    @property
    def cycles(self) -> int:
        """How many breath cycles the step lasts."""
        count = self.breaths if self.breaths is not None else self.reps
        assert count is not None  # __post_init__ guarantees one of them
        return count

    def to_json(self) -> PlanStep:
        """The step as the plan's JSON lists it (its instructions are shown as it starts)."""
        shown: PlanStep = {
            "index": self.index,
            "name": self.name,
            "exercise": self.exercise,
            "side": self.side,
            "mode": self.mode,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "breaths": self.breaths,
            "reps": self.reps,
        }
        if self.pattern is not None:
            shown["pattern"] = self.pattern.to_json()
        return shown


@dataclass(frozen=True)
class PlannedCue:
    at_s: float
    cue: CueName
    step: int
    # How the cue reaches the band's one channel, once the plan is composed for a band.
    delivery: Delivery | None = None

    def to_json(self, profile_writes: list[CueWrite]) -> PlanCue:
        """The cue with its writes: as composed for the band, else ``profile_writes``."""
        delivery = self.delivery
        if delivery is None:
            return {"at_s": self.at_s, "cue": self.cue, "step": self.step, "writes": profile_writes}
        return {
            "at_s": self.at_s,
            "cue": self.cue,
            "step": self.step,
            "fate": delivery.fate,
            "reason": delivery.reason,
            "start_s": delivery.start_s,
            "writes": [
                {
                    "after_s": _ms(timed.at_s - self.at_s),
                    "characteristic": timed.write.characteristic,
                    "value": timed.write.value.hex(),
                }
                for timed in delivery.writes
            ],
        }


@dataclass(frozen=True)
class Plan(WritesItself):
    routine: str
    title: str
    level: int
    level_reason: str
    pattern: BreathPattern  # after retime_from: the pattern from the retimed step onward
    total_s: float
    steps: tuple[PlannedStep, ...]
    cues: tuple[PlannedCue, ...]
    # The band's patterns the cues were composed for; None until ``compose_plan``.
    vocabulary: Vocabulary | None = None

    def outline(self) -> Plan:
        """The plan without its cue timeline: what the dashboard paces from (the steps; cues
        reach it as events). A stalled dashboard's queue holds hundreds of events, so the
        plan it keeps must stay small (the whole one is tens of kB)."""
        return replace(self, cues=(), vocabulary=None)

    def to_json(self, cue_writes: CueWrites | None = None) -> PlanJson:
        """The plan as it is sent out with the session (the one JSON form).

        A composed plan lists each cue's writes as the band will get them (``after_s`` from
        the cue's ``at_s``) and what became of the cue (``fate``, ``reason``). An uncomposed
        plan's cues list the writes ``cue_writes`` gives for each (none without it: a band
        without haptics). An outline has no ``cues``. The band's whole write sequence is
        not part of the plan: it is ``band_script`` (the session host publishes it as its
        own event) and ``with_band_writes`` (what the store keeps and `companion plan`
        shows).
        """
        shown: PlanJson = {
            "routine": self.routine,
            "title": self.title,
            "level": self.level,
            "level_reason": self.level_reason,
            "total_s": self.total_s,
            "pattern": self.pattern.to_json(),
            "steps": [step.to_json() for step in self.steps],
        }
        if self.cues:
            uncomposed = {c.cue for c in self.cues if c.delivery is None}
            writes = {cue: cue_writes(cue) if cue_writes else [] for cue in uncomposed}
            shown["cues"] = [cue.to_json(writes.get(cue.cue, [])) for cue in self.cues]
        return shown


def _ms(seconds: float) -> float:
    return round(seconds, 3)


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


def _breath_line(exercise: Exercise, reps: int | None) -> str:
    move, release = exercise.move_on.word, exercise.move_on.opposite.word
    if exercise.mode is Mode.HOLD:
        return (
            f"Breathe {move} as you {exercise.move}, then breathe slowly and stay there. "
            f"When the hold ends, breathe {release} and {exercise.release}."
        )
    if exercise.mode is Mode.REPS:
        return (
            f"Breathe {move} as you {exercise.move} and pause; breathe {release} as you "
            f"{exercise.release}. One each breath, {reps} times."
        )
    return (
        f"Breathe {move} as you {exercise.move}; breathe {release} as you {exercise.release}. "
        "Keep going with your breath."
    )


def _work_steps(
    routine: Routine, pattern: BreathPattern, fraction: float
) -> list[tuple[PlannedStep, str]]:
    """Each exercise step (one per side), untimed, with the position to get into first."""
    work = []
    for step in routine.steps:
        exercise = step.exercise
        amount = step.amount if step.amount is not None else exercise.dose.at(fraction)
        reps = _half_up(amount) if exercise.mode is Mode.REPS else None
        breaths = None if reps is not None else (step.pattern or pattern).breaths_for(amount)
        position = step.variant.position if step.variant else exercise.position
        how = step.variant.how if step.variant else exercise.how
        variant = step.variant.label if step.variant else ""
        breath_line = _breath_line(exercise, reps)
        for side in step.sides or (None,):
            labels = [label for label in (side, variant) if label]
            name = f"{exercise.title} — {', '.join(labels)}" if labels else exercise.title
            parts = (exercise.side_how(side) if side else "", how, breath_line)
            planned = PlannedStep(
                index=0,
                name=name,
                exercise=exercise.id,
                side=side,
                mode=exercise.mode,
                start_s=0.0,
                end_s=0.0,
                instructions=" ".join(part for part in parts if part),
                breaths=breaths,
                reps=reps,
                pattern=step.pattern,
            )
            work.append((planned, position))
    return work


def _rest_before(step: PlannedStep, position: str, first: bool, breaths: int) -> PlannedStep:
    opening = "Settle in and follow the breathing cues. First" if first else "Rest. Next"
    return PlannedStep(
        index=0,
        name="Get ready" if first else "Rest",
        exercise=REST,
        side=None,
        mode=Mode.REST,
        start_s=0.0,
        end_s=0.0,
        instructions=f"{opening}: {step.name}. {position}",
        breaths=breaths,
        reps=None,
        pattern=step.pattern,  # a rest before a paced step already breathes at its pace
    )


def _sorted(cues: Iterable[PlannedCue]) -> tuple[PlannedCue, ...]:
    return tuple(sorted(cues, key=lambda c: (c.at_s, _CUE_ORDER[c.cue])))


def _lay_out(
    steps: Sequence[PlannedStep], origin_s: float, pattern: BreathPattern
) -> tuple[tuple[PlannedStep, ...], list[PlannedCue]]:
    """Time ``steps`` back to back from ``origin_s`` and derive their cues."""
    laid: list[PlannedStep] = []
    cues: list[PlannedCue] = []
    done = 0
    current = pattern
    for step in steps:
        own = step.pattern or pattern
        if own != current:
            # A step with its own pace starts a new run of whole breaths where the last ended.
            origin_s, current, done = origin_s + done * current.cycle_s, own, 0
        cycle = current.cycle_s
        # Times come from whole breath counts, never from summed durations, so they do
        # not drift and each step ends exactly where the next one starts.
        start = origin_s + done * cycle
        done += step.cycles
        end = origin_s + done * cycle
        laid.append(replace(step, start_s=_ms(start), end_s=_ms(end)))
        for offset, phase in current.phases_between(0.0, step.cycles * cycle):
            if phase in _PHASE_CUES:
                cues.append(PlannedCue(_ms(start + offset), _PHASE_CUES[phase], step.index))
        if step.mode is not Mode.REST:
            cues.append(PlannedCue(_ms(end), CueName.HOLD_END, step.index))
    cues.append(PlannedCue(laid[-1].end_s, CueName.ROUTINE_END, laid[-1].index))
    return tuple(laid), cues


def compile_plan(routine: Routine, settings: PlanSettings, progression: ProgressionLevel) -> Plan:
    pattern = settings.pattern or routine.pattern or DEFAULT_PATTERN
    drafts: list[PlannedStep] = []
    for number, (step, position) in enumerate(_work_steps(routine, pattern, progression.fraction)):
        if settings.rest_breaths:
            drafts.append(_rest_before(step, position, number == 0, settings.rest_breaths))
        drafts.append(step)
    drafts = [replace(step, index=index) for index, step in enumerate(drafts)]
    steps, cues = _lay_out(drafts, 0.0, pattern)
    return Plan(
        routine=routine.name,
        title=routine.title,
        level=progression.level,
        level_reason=progression.reason,
        pattern=pattern,
        total_s=steps[-1].end_s,
        steps=steps,
        cues=_sorted(cues),
    )


def retime_from(plan: Plan, from_step: int, pattern: BreathPattern) -> Plan:
    """The same plan with steps from ``from_step`` on re-timed to ``pattern``: each keeps its
    number of breaths (so a longer exhale makes holds longer), the first re-timed step
    starts where it did, and everything before it is untouched."""
    if not 0 <= from_step < len(plan.steps):
        known = format_span(0, len(plan.steps) - 1)
        raise ValueError(f"no step {from_step}; the plan has steps {known}")
    kept = [cue for cue in plan.cues if cue.step < from_step]
    steps, cues = _lay_out(plan.steps[from_step:], plan.steps[from_step].start_s, pattern)
    retimed = replace(
        plan,
        pattern=pattern,
        total_s=steps[-1].end_s,
        steps=plan.steps[:from_step] + steps,
        cues=_sorted(kept + cues),
    )
    # The rest of the timeline is composed again by the same rule (earlier cues keep theirs:
    # the rule looks only backwards and at the next cue).
    return compose_plan(retimed, plan.vocabulary) if plan.vocabulary is not None else retimed


def compose_plan(plan: Plan, vocabulary: Vocabulary | None) -> Plan:
    """The plan with each cue placed on the band's one haptic channel (``haptics.compose``):
    its writes at plan offsets, or why it was folded, delayed or dropped. Pure. Without a
    vocabulary (no band chosen) the plan is returned as it is."""
    if vocabulary is None:
        return plan
    deliveries = compose([CueRequest(c.at_s, c.cue) for c in plan.cues], vocabulary)
    cues = tuple(replace(c, delivery=d) for c, d in zip(plan.cues, deliveries, strict=True))
    return replace(plan, cues=cues, vocabulary=vocabulary)


@dataclass(frozen=True)
class BandWrite:
    """One write of the band's script: at a plan offset, as part of a cue's pattern."""

    at_s: float
    cue: CueName
    characteristic: str
    value: str  # hex, as device profiles and the band's own output write it

    def to_json(self) -> BandWriteJson:
        """The write field by field (the cue by its plain name): the one declaration of the
        band-write JSON is this record (``BandWriteJson`` describes it by it)."""
        return fields_json(self)


def band_script(plan: Plan) -> tuple[BandWrite, ...]:
    """Every write the band receives, in order: the composed channel. Empty for a plan not
    composed for a band."""
    timeline = sorted(
        (
            (timed, cue)
            for cue in plan.cues
            if cue.delivery is not None
            for timed in cue.delivery.writes
        ),
        key=lambda pair: pair[0].at_s,
    )
    return tuple(
        BandWrite(
            at_s=timed.at_s,
            cue=cue.cue,
            characteristic=timed.write.characteristic,
            value=timed.write.value.hex(),
        )
        for timed, cue in timeline
    )


def with_band_writes(plan: Plan, cue_writes: CueWrites | None = None) -> PlanJson:
    """The plan's JSON and, once composed for a band, its whole write sequence
    (``band_writes``): what the store keeps with a session and `companion plan --json`
    shows."""
    shown = plan.to_json(cue_writes)
    if plan.vocabulary is not None:
        shown["band_writes"] = [write.to_json() for write in band_script(plan)]
    return shown


# --- the human-readable form for `companion plan` --------------------------------------------


def _clock(seconds: float) -> str:
    whole = _half_up(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _seconds(seconds: float) -> str:
    return f"{round(seconds, 1):g}"


def _pattern_text(pattern: BreathPattern) -> str:
    phases = (
        ("in", pattern.inhale_s),
        ("hold", pattern.hold_in_s),
        ("out", pattern.exhale_s),
        ("hold", pattern.hold_out_s),
    )
    parts = ", ".join(f"{word} {_seconds(length)} s" for word, length in phases if length > 0)
    return f"{parts} ({pattern.breaths_per_minute:.3g} breaths a minute)"


def _count(step: PlannedStep) -> str:
    if step.reps is not None:
        return f"{step.reps} reps"
    pace = f" at {step.pattern.breaths_per_minute:.2g}/min" if step.pattern else ""
    return f"{step.breaths} breath{'' if step.breaths == 1 else 's'}{pace}"


def format_plan_text(plan: Plan) -> str:
    rows = [("#", "from", "to", "step", "count", "seconds")]
    rows += [
        (
            str(step.index),
            _clock(step.start_s),
            _clock(step.end_s),
            step.name,
            _count(step),
            _seconds(step.end_s - step.start_s),
        )
        for step in plan.steps
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    right_aligned = {0, 5}
    table = [
        "  ".join(
            cell.rjust(width) if column in right_aligned else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    reason = plan.level_reason[:1].upper() + plan.level_reason[1:]
    header = [
        f"{plan.title} ({plan.routine}): {_clock(plan.total_s)}",
        f"Breathing: {_pattern_text(plan.pattern)}",
        reason,
        "",
    ]
    return "\n".join(header + table)
