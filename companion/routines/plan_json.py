"""The plan as JSON (``Plan.to_json``, ``with_band_writes``), typed key by key.

``Plan.to_json`` and its parts are annotated with these, so mypy holds every key and value
they write to them, and web/openapi.py generates the plan's schema from them: the
description is the JSON the plan really has. The breathing pattern and the band's writes
are described by their own records (``BreathPattern``, ``BandWrite``), whose ``to_json``
writes their fields as they are, so their fields are declared once. Only typing and schema
metadata here; nothing runs, and pydantic is not imported (the store reads these types).
"""

from __future__ import annotations

from typing import Annotated, NotRequired

from annotated_types import Ge
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from companion.cues import CueName
from companion.routines.catalog import Mode, Side
from companion.routines.haptics import Fate
from companion.routines.pacer import BreathPattern
from companion.routines.plan import BandWrite
from companion.schema_of import SchemaOf

# ``BreathPattern.to_json``: the pattern record field by field.
PatternJson = Annotated[dict[str, float], SchemaOf(BreathPattern)]
# ``BandWrite.to_json``: the write record field by field.
BandWriteJson = Annotated[dict[str, str | float], SchemaOf(BandWrite)]


class CueWrite(TypedDict):
    """One write of a cue's pattern: ``after_s`` from the cue's ``at_s``, the value in hex."""

    after_s: float
    characteristic: str
    value: str


class PlanCue(TypedDict):
    """A cue of the plan (``PlannedCue.to_json``): once composed for a band, with what
    became of it on the band's one channel (``fate``, ``reason``) and when its pattern
    starts (``start_s``)."""

    at_s: float
    cue: CueName
    step: int
    writes: list[CueWrite]
    fate: NotRequired[Fate]
    reason: NotRequired[str]
    start_s: NotRequired[float]


class PlanStep(TypedDict):
    """A step of the plan (``PlannedStep.to_json``): its instructions are shown as it
    starts, and its own breathing pattern only when it has one."""

    index: Annotated[int, Ge(0)]
    name: str
    exercise: str
    side: Side | None
    mode: Mode
    start_s: float
    end_s: float
    breaths: int | None
    reps: int | None
    pattern: NotRequired[PatternJson]


class PlanJson(TypedDict):
    """A routine's plan as ``Plan.to_json`` writes it: its steps and breathing pattern;
    with the cue timeline (``cues``) where it is stored and in `companion session
    --jsonl`, without it on the dashboard's stream; the band's whole write sequence
    (``band_writes``) where a plan composed for a band is stored."""

    routine: str
    title: str
    level: int
    level_reason: str
    total_s: float
    pattern: PatternJson
    steps: list[PlanStep]
    cues: NotRequired[list[PlanCue]]
    band_writes: NotRequired[list[BandWriteJson]]
