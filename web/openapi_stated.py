"""The schemas of /api whose records are not typed yet (the morning summary, a plan's JSON,
the device list) and of the request bodies, stated by hand with the server's own constants
and patterns (web/schema_patterns.py). Each is checked against what the server does:
tests/web/test_openapi.py holds the patterns against the parsers, and the schemathesis run
(tests/e2e/test_hostile_input.py) sends what they call valid and invalid. The records the
session host answers with, and those of web/api_records.py, are not here: web/openapi.py
generates their schemas from the types.

One rule no JSON Schema can state, that a breathing pattern's four phases together make
3-12 breaths a minute, is given in words and as the extension ``x-breaths-per-minute``.
"""

from __future__ import annotations

from typing import Any, Final

from companion.events import SessionState
from companion.reminders.model import WEEKDAYS
from companion.routines.pacer import (
    EXHALE_RANGE_S,
    HOLD_RANGE_S,
    INHALE_RANGE_S,
    RATE_RANGE_PER_MIN,
    BreathPattern,
)
from companion.summary.advice import AdviceKey
from companion.summary.morning import WEEKDAY_NAMES, DayPart, TrendDirection
from web.prefs import HR_CEILING_BPM, ClockStyle, EnergyUnit
from web.schema_patterns import (
    HH_MM,
    weekday_item,
    weekday_list,
)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_PAIN = {"type": "integer", "minimum": 0, "maximum": 10}
_DEFAULT_PATTERN = BreathPattern()


def _seconds(bounds: tuple[float, float], default: float) -> dict[str, Any]:
    return {"type": "number", "minimum": bounds[0], "maximum": bounds[1], "default": default}


OPEN_OBJECT: Final = {"type": "object", "additionalProperties": True}
_HH_MM = {"type": "string", "pattern": HH_MM, "examples": ["07:30"]}
# What a new reminder's days may say: mon..sun or the full names, in any case.
DAY_WORDS: Final = (*WEEKDAYS, *(name.lower() for name in WEEKDAY_NAMES))
# Routine names the API takes (web/api.py and web/reminders_api.py refuse longer ones).
MAX_ROUTINE_NAME: Final = 200
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_PAIN_OR_NULL = {"oneOf": [_PAIN, {"type": "null"}]}
DATE: Final = {"type": "string", "format": "date"}
_DATE_TIME = {"type": "string", "format": "date-time"}


def _closed(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An object with exactly these properties, all present."""
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
        **extra,
    }


def _done_of(what: str) -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    return _closed({"planned": count, "done": count}, description=what)


def _trend(what: str) -> dict[str, Any]:
    return _closed(
        {
            "direction": {"enum": [d.value for d in TrendDirection]},
            "change": _NUMBER_OR_NULL,
            "days": {
                "type": "array",
                "maxItems": 7,
                "items": _closed({"day": DATE, "value": {"type": "number"}}),
            },
        },
        description=f"{what} over the seven days up to the summary's day (days with data only). "
        "unknown: fewer than three such days.",
    )


# The records not typed yet (the summary, the plan's JSON, devices) are
# stated here, with the server's own constants and patterns.
# A plan as Plan.to_json writes it (the session event; the stored session's "plan").
PLAN_JSON: Final = "PlanJson"
_PLAN_STEP = {
    "type": "object",
    "required": ["index", "name", "exercise", "side", "mode", "start_s", "end_s"],
    "properties": {
        "index": {"type": "integer", "minimum": 0},
        "name": {"type": "string"},
        "exercise": {"type": "string"},
        "side": {"type": ["string", "null"]},
        "mode": {"type": "string"},
        "start_s": {"type": "number"},
        "end_s": {"type": "number"},
        "breaths": {"type": ["integer", "null"]},
        "reps": {"type": ["integer", "null"]},
        "pattern": ref("BreathPattern"),
    },
}

STATED_SCHEMAS: Final[dict[str, Any]] = {
    PLAN_JSON: {
        "type": "object",
        "description": "A routine's plan: its steps and breathing pattern; with the cue "
        "timeline (cues, and band_writes when composed for a band) where it is stored and "
        "in `companion session --jsonl`, without it on the dashboard's stream.",
        "required": ["routine", "title", "level", "level_reason", "total_s", "pattern", "steps"],
        "properties": {
            "routine": {"type": "string"},
            "title": {"type": "string"},
            "level": {"type": "integer"},
            "level_reason": {"type": "string"},
            "total_s": {"type": "number"},
            "pattern": ref("BreathPattern"),
            "steps": {"type": "array", "items": _PLAN_STEP},
            "cues": {"type": "array", "items": {"type": "object"}},
            "band_writes": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "field": {"type": "string"},
            "known": {"type": "array", "items": {"type": "string"}},
        },
    },
    "RoutineName": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ROUTINE_NAME,
        "description": "The name of one of GET /api/routines. The served document lists "
        "them (as an enum) for callers allowed to read them.",
    },
    "Empty": {"type": "object", "maxProperties": 0},
    "SettingsUpdate": {
        "type": "object",
        "properties": {
            "pattern": {"oneOf": [ref("Pattern"), {"type": "null"}]},
            "hr_ceiling": ref("HrCeiling"),
            "units": ref("Units"),
            "wake_time": {**_HH_MM, "description": "HH:MM on a 24-hour clock."},
        },
        "additionalProperties": False,
    },
    "Pattern": {
        "type": "object",
        "description": "A breathing pattern; null means each routine's own. The four phases "
        f"together must make {RATE_RANGE_PER_MIN[0]:g} to {RATE_RANGE_PER_MIN[1]:g} breaths "
        f"a minute (one breath of {60 / RATE_RANGE_PER_MIN[1]:g} to "
        f"{60 / RATE_RANGE_PER_MIN[0]:g} s), or the server answers 422. Fields left out "
        "take their defaults.",
        "x-breaths-per-minute": {
            "minimum": RATE_RANGE_PER_MIN[0],
            "maximum": RATE_RANGE_PER_MIN[1],
        },
        "properties": {
            "inhale_s": _seconds(INHALE_RANGE_S, _DEFAULT_PATTERN.inhale_s),
            "hold_in_s": _seconds(HOLD_RANGE_S, _DEFAULT_PATTERN.hold_in_s),
            "exhale_s": _seconds(EXHALE_RANGE_S, _DEFAULT_PATTERN.exhale_s),
            "hold_out_s": _seconds(HOLD_RANGE_S, _DEFAULT_PATTERN.hold_out_s),
        },
        "additionalProperties": False,
    },
    "HrCeiling": {"type": "integer", "minimum": HR_CEILING_BPM[0], "maximum": HR_CEILING_BPM[1]},
    "Units": {
        "type": "object",
        "properties": {
            "energy": {"enum": [u.value for u in EnergyUnit]},
            "clock": {"enum": [c.value for c in ClockStyle]},
        },
        "additionalProperties": False,
    },
    "ResonanceAdopt": _closed({"id": {"type": "integer", "minimum": 1, "maximum": 999_999_999}}),
    "NewReminder": {
        "type": "object",
        "required": ["at", "routine"],
        "properties": {
            "at": {**_HH_MM, "description": "HH:MM on a 24-hour clock."},
            "days": {
                "description": "Weekdays (mon..sun or full names, any case) as a list or a "
                "comma-separated string; left out or null: every day.",
                "oneOf": [
                    {
                        "type": "array",
                        "items": {"type": "string", "pattern": weekday_item(DAY_WORDS)},
                        "minItems": 1,
                        "maxItems": len(WEEKDAYS),
                    },
                    {"type": "string", "pattern": weekday_list(DAY_WORDS, len(WEEKDAYS))},
                    {"type": "null"},
                ],
            },
            "routine": ref("RoutineName"),
        },
        "additionalProperties": False,
    },
    "ReminderChange": _closed({"enabled": {"type": "boolean"}}),
    "SummarySession": _closed(
        {
            "id": {"type": "string"},
            "routine": {"type": "string"},
            "title": {"type": "string"},
            "part": {"enum": [p.value for p in DayPart]},
            "started_at": _DATE_TIME,
            "ended_at": {"oneOf": [_DATE_TIME, {"type": "null"}]},
            "duration_s": _NUMBER_OR_NULL,
            "outcome": {"enum": [s.value for s in SessionState]},
            "steps": _done_of("Exercise steps (transitions left out)."),
            "pain_before": _PAIN_OR_NULL,
            "pain_after": _PAIN_OR_NULL,
            # Heart figures from clean beats, named as in the sessions API.
            "hr_min": _NUMBER_OR_NULL,
            "hr_mean": _NUMBER_OR_NULL,
            "hr_max": _NUMBER_OR_NULL,
            "rmssd_ms": _NUMBER_OR_NULL,
            "beats_kept": {"type": ["integer", "null"], "minimum": 0},
            "beats_rejected": {"type": ["integer", "null"], "minimum": 0},
            "breathing_rate_bpm": {
                **_NUMBER_OR_NULL,
                "description": "Breaths a minute from the heart rhythm; null unless confident.",
            },
            "breathing_confidence": {
                "oneOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}]
            },
        }
    ),
    "Summary": _closed(
        {
            "day": DATE,
            "generated_at": _DATE_TIME,
            "window": _closed(
                {"start": _DATE_TIME, "end": _DATE_TIME},
                description="Sessions that started from 18:00 the day before up to 18:00 on "
                "the day (or now, if earlier).",
            ),
            "sessions": {"type": "array", "items": ref("SummarySession")},
            "exercises": _closed(
                {
                    "sessions": {"type": "integer", "minimum": 0},
                    "steps": _done_of("Exercise steps."),
                    "holds": _done_of("Steps held for a number of breaths."),
                    "reps": _done_of("Repetitions of repeated movements."),
                }
            ),
            "heart_rate": _closed(
                {
                    "min": _NUMBER_OR_NULL,
                    "mean": _NUMBER_OR_NULL,
                    "max": _NUMBER_OR_NULL,
                    "resting": _NUMBER_OR_NULL,
                },
                description="Beats per minute during the window's sessions, worn samples only.",
            ),
            "rmssd_ms": _NUMBER_OR_NULL,
            "rmssd_trend": _trend("Each day's mean RMSSD"),
            "breathing_score": {
                "oneOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}],
                "description": "How closely the heart rhythm followed the breathing cues.",
            },
            "breathing_note": {
                "oneOf": [{"enum": ["not enough signal"]}, {"type": "null"}],
                "description": "Why there is no breathing score although the pacer ran.",
            },
            "pain": _closed(
                {
                    "before": _PAIN_OR_NULL,
                    "after": _PAIN_OR_NULL,
                    "trend": _trend("Each day's mean pain rating before sessions"),
                }
            ),
            "streak_days": {"type": "integer", "minimum": 0},
            "advice": _closed(
                {
                    "key": {"enum": [k.value for k in AdviceKey]},
                    "title": {"type": "string"},
                    "text": {"type": "string"},
                }
            ),
        },
        description="The morning summary: how last evening and this morning went, and the week.",
    ),
}
