"""The OpenAPI 3.1 description of /api, written by hand and kept honest by tests that
compare it with the app's routes and with the server's own checks: a request it calls valid
is accepted, one it calls invalid is refused (schemathesis in tests/e2e/test_hostile_input.py).

Routine names are the one part that changes while the service runs (routine files in the
data dir), so the served document lists the names known at the moment it is asked for.
One rule no JSON Schema can state, that a breathing pattern's four phases together make
3-12 breaths a minute, is given in words and as the extension ``x-breaths-per-minute``.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Iterable
from typing import Any, Final

from companion.errors import CompanionError
from companion.events import SessionState
from companion.reminders.model import WEEKDAYS
from companion.routines.pacer import (
    EXHALE_RANGE_S,
    HOLD_RANGE_S,
    INHALE_RANGE_S,
    RATE_RANGE_PER_MIN,
    BreathPattern,
)
from companion.session.control import SessionControl
from companion.summary.advice import AdviceKey
from companion.summary.morning import WEEKDAY_NAMES, DayPart, TrendDirection
from web.prefs import HR_CEILING_BPM, ClockStyle, EnergyUnit
from web.schema_patterns import HH_MM, iso_day_on_or_after, weekday_item, weekday_list
from web.summary_view import FIRST_DAY

_LOGGER = logging.getLogger(__name__)

SESSION_ID = r"^[A-Za-z0-9_-]{1,64}$"
ADDRESS = (
    r"^(?:[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"
    r"|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"
)

_ERROR_TEXT = {
    "400": "Malformed JSON, a body that is not an object, or a bad query parameter.",
    "401": "No token, or the wrong one (only when the server has a token).",
    "403": "Missing or wrong CSRF token, or a Host header that is not this machine.",
    "404": "No such record.",
    "409": "The command does not fit the current state (of the session, or of the service).",
    "413": "The body is larger than the server accepts.",
    "415": "The body is not application/json.",
    "422": "Well-formed JSON with a value that is missing or out of range.",
    "429": "Too many live streams are open.",
    "503": "The companion's core or store cannot answer right now.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _errors(*codes: str) -> dict[str, Any]:
    return {
        code: {"description": _ERROR_TEXT[code], "content": _json_content(_ref("Error"))}
        for code in ("401", "403", "503", *codes)
    }


def _op(
    summary: str,
    ok: tuple[str, str, dict[str, Any] | None],
    *errors: str,
    body: str | None = None,
    body_required: bool = True,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    status, description, content = ok
    answer: dict[str, Any] = {"description": description}
    if content is not None:  # None: an answer without a body (204)
        answer["content"] = content
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {status: answer, **_errors(*errors)},
    }
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": _json_content(_ref(body))}
        for code in ("400", "413", "415", "422"):
            operation["responses"].setdefault(
                code, {"description": _ERROR_TEXT[code], "content": _json_content(_ref("Error"))}
            )
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path_param(name: str, pattern: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": pattern},
    }


def _path_int(name: str, high: int) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0, "maximum": high},
    }


def _query_int(name: str, low: int, high: int, default: int) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": low, "maximum": high, "default": default},
    }


_PAIN = {"type": "integer", "minimum": 0, "maximum": 10}
_DEFAULT_PATTERN = BreathPattern()


def _seconds(bounds: tuple[float, float], default: float) -> dict[str, Any]:
    return {"type": "number", "minimum": bounds[0], "maximum": bounds[1], "default": default}


_OPEN_OBJECT = {"type": "object", "additionalProperties": True}
_HH_MM = {"type": "string", "pattern": HH_MM, "examples": ["07:30"]}
_HH_MM_OUT = {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$"}
_WEEKDAY = {"enum": list(WEEKDAYS)}
# What a new reminder's days may say: mon..sun or the full names, in any case.
DAY_WORDS: Final = (*WEEKDAYS, *(name.lower() for name in WEEKDAY_NAMES))
# Routine names the API takes (web/api.py and web/reminders_api.py refuse longer ones).
MAX_ROUTINE_NAME: Final = 200
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_PAIN_OR_NULL = {"oneOf": [_PAIN, {"type": "null"}]}
_DATE = {"type": "string", "format": "date"}
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
                "items": _closed({"day": _DATE, "value": {"type": "number"}}),
            },
        },
        description=f"{what} over the seven days up to the summary's day (days with data only). "
        "unknown: fewer than three such days.",
    )


_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "field": {"type": "string"},
            "known": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Status": {
        "type": "object",
        "description": "Snapshot from the core: link, device, battery, last heart rate and "
        "contact, session state, current step, plan, pacing, dropped packets, open notices.",
        "additionalProperties": True,
    },
    "Routine": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "total_s": {"type": "number"},
            "source": {"type": "string"},
        },
        "additionalProperties": True,
    },
    "RoutineName": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ROUTINE_NAME,
        "description": "The name of one of GET /api/routines. The served document lists "
        "them (as an enum) for callers allowed to read them.",
    },
    "StartSession": {
        "type": "object",
        "required": ["routine"],
        "properties": {
            "routine": _ref("RoutineName"),
            "pain_before": {"oneOf": [_PAIN, {"type": "null"}]},
        },
        "additionalProperties": False,
    },
    "SessionCreated": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string"}},
    },
    "SessionStatus": _OPEN_OBJECT,
    "PainAfter": {
        "type": "object",
        "required": ["pain_after"],
        "properties": {"pain_after": _PAIN},
        "additionalProperties": False,
    },
    "Empty": {"type": "object", "maxProperties": 0},
    "SessionList": {
        "type": "object",
        "required": ["sessions", "limit", "offset"],
        "properties": {
            "sessions": {"type": "array", "items": _ref("SessionSummary")},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    },
    "SessionSummary": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string"},
            "routine": {"type": "string"},
            "started_at": {"type": "number"},
            "ended_at": {"type": ["number", "null"]},
            "outcome": {"type": "string"},
            "pain_before": {"type": ["integer", "null"]},
            "pain_after": {"type": ["integer", "null"]},
        },
        "additionalProperties": True,
    },
    "SessionDetail": {
        "allOf": [_ref("SessionSummary")],
        "description": "The session with its steps, cues (planned and actual) and link events.",
    },
    "Samples": {
        "type": "object",
        "required": ["session_id", "samples"],
        "properties": {
            "session_id": {"type": "string"},
            "samples": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"t": {"type": "number"}, "hr": {"type": "integer"}},
                    "additionalProperties": True,
                },
            },
        },
    },
    "Settings": {
        "type": "object",
        "required": ["pattern", "hr_ceiling", "units", "wake_time"],
        "properties": {
            "pattern": {"oneOf": [_ref("Pattern"), {"type": "null"}]},
            "hr_ceiling": _ref("HrCeiling"),
            "units": _ref("Units"),
            "wake_time": {
                **_HH_MM_OUT,
                "description": "When the morning summary is made each day (default 07:00).",
            },
        },
    },
    "SettingsUpdate": {
        "type": "object",
        "properties": {
            "pattern": {"oneOf": [_ref("Pattern"), {"type": "null"}]},
            "hr_ceiling": _ref("HrCeiling"),
            "units": _ref("Units"),
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
    "DeviceList": {
        "type": "object",
        "required": ["devices"],
        "properties": {"devices": {"type": "array", "items": _OPEN_OBJECT}},
    },
    "Scan": {
        "type": "object",
        "properties": {"timeout_s": {"type": "number", "minimum": 1, "maximum": 20}},
        "additionalProperties": False,
    },
    "ResonanceList": _closed(
        {
            "assessments": {
                "type": "array",
                "description": "Every resonance-breathing assessment, newest first; each "
                "has verdict, pace_per_min (null unless answered), confidence, the pattern "
                "it was paced with, a message and per-pace figures.",
                "items": _OPEN_OBJECT,
            }
        }
    ),
    "ResonanceAdopt": _closed({"id": {"type": "integer", "minimum": 1, "maximum": 999_999_999}}),
    "ResonanceAdopted": _closed(
        {
            "id": {"type": "integer"},
            "pace_per_min": {"type": "number"},
            "pattern": _ref("Pattern"),
            "applies": {"type": "string"},
        }
    ),
    "Choose": {
        "type": "object",
        "required": ["address"],
        "properties": {
            "address": {"oneOf": [{"type": "string", "pattern": ADDRESS}, {"type": "null"}]}
        },
        "additionalProperties": False,
    },
    "Chosen": {
        "type": "object",
        "required": ["address"],
        "properties": {"address": {"type": ["string", "null"]}},
    },
    "Forgotten": {
        "type": "object",
        "required": ["forgotten"],
        "properties": {"forgotten": {"type": "string"}},
    },
    "Reminder": _closed(
        {
            "id": {"type": "integer"},
            "at": _HH_MM_OUT,
            "days": {"type": "array", "items": _WEEKDAY, "minItems": 1, "maxItems": 7},
            "routine": {"type": "string"},
            "enabled": {"type": "boolean"},
        }
    ),
    "ReminderList": _closed({"reminders": {"type": "array", "items": _ref("Reminder")}}),
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
            "routine": _ref("RoutineName"),
        },
        "additionalProperties": False,
    },
    "ReminderChange": _closed({"enabled": {"type": "boolean"}}),
    "Snoozed": _closed(
        {"at": {"type": "number", "description": "When it rings again (Unix time)."}}
    ),
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
            "day": _DATE,
            "generated_at": _DATE_TIME,
            "window": _closed(
                {"start": _DATE_TIME, "end": _DATE_TIME},
                description="Sessions that started from 18:00 the day before up to 18:00 on "
                "the day (or now, if earlier).",
            ),
            "sessions": {"type": "array", "items": _ref("SummarySession")},
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
    "Csrf": {
        "type": "object",
        "required": ["csrf_token"],
        "properties": {"csrf_token": {"type": "string"}},
    },
}


def _ok(description: str, schema: str, status: str = "200") -> tuple[str, str, dict[str, Any]]:
    return status, description, _json_content(_ref(schema))


def _command(verb: str, what: str) -> dict[str, Any]:
    return {
        "post": _op(
            what,
            _ok(f"Session status after {verb}.", "SessionStatus"),
            "409",
            body="Empty",
            body_required=False,
        )
    }


_SID = [_path_param("session_id", SESSION_ID)]
_RID = [_path_int("reminder_id", 999_999_999)]


def _paths() -> dict[str, Any]:
    return {
        "/api/openapi.json": {
            "get": _op("This document", ("200", "OpenAPI 3.1", _json_content(_OPEN_OBJECT)))
        },
        "/api/csrf": {"get": _op("The CSRF token for this browser session", _ok("Token", "Csrf"))},
        "/api/status": {"get": _op("Core status snapshot", _ok("Status", "Status"))},
        "/api/routines": {
            "get": _op(
                "Available routines",
                ("200", "Routines", _json_content({"type": "array", "items": _ref("Routine")})),
            )
        },
        "/api/session": {
            "post": _op(
                "Start a routine",
                _ok("Started", "SessionCreated", "201"),
                "409",
                body="StartSession",
            )
        },
        "/api/session/pause": _command("pause", "Pause the running session"),
        "/api/session/resume": _command("resume", "Resume a paused session"),
        "/api/session/skip": _command("skip", "Skip to the next step"),
        "/api/session/stop": _command("stop", "Stop the session"),
        "/api/session/pain": _command("pain", "Stop now because of pain (recorded)"),
        "/api/session/rating": {
            "post": _op(
                "Rate pain after the most recent session",
                _ok("Recorded", "PainAfter"),
                "409",
                body="PainAfter",
            )
        },
        "/api/sessions": {
            "get": _op(
                "Past sessions, newest first",
                _ok("Sessions", "SessionList"),
                "400",
                parameters=[_query_int("limit", 1, 200, 50), _query_int("offset", 0, 10**9, 0)],
            )
        },
        "/api/sessions/{session_id}": {
            "get": _op("One session", _ok("Session", "SessionDetail"), "404", parameters=_SID)
        },
        "/api/sessions/{session_id}/samples": {
            "get": _op("Heart-rate samples", _ok("Samples", "Samples"), "404", parameters=_SID)
        },
        "/api/sessions/{session_id}.csv": {
            "get": _op(
                "Samples as CSV (a download)",
                ("200", "CSV", {"text/csv": {"schema": {"type": "string"}}}),
                "404",
                parameters=_SID,
            )
        },
        "/api/settings": {
            "get": _op("Settings", _ok("Settings", "Settings")),
            "put": _op(
                "Change some settings (keys left out keep their value)",
                _ok("Settings after the change", "Settings"),
                body="SettingsUpdate",
            ),
        },
        "/api/resonance": {
            "get": _op(
                "Resonance-breathing assessments, newest first",
                _ok("Assessments", "ResonanceList"),
                "400",
                parameters=[_query_int("limit", 1, 200, 50)],
            )
        },
        "/api/resonance/adopt": {
            "post": _op(
                "Use an assessment's pace as the saved breathing pattern",
                _ok("Adopted", "ResonanceAdopted"),
                "404",
                body="ResonanceAdopt",
            )
        },
        "/api/devices": {"get": _op("Known devices", _ok("Devices", "DeviceList"))},
        "/api/devices/scan": {
            "post": _op(
                "Scan for nearby bands",
                _ok("Devices found", "DeviceList"),
                body="Scan",
                body_required=False,
            )
        },
        "/api/devices/choose": {
            "post": _op("Use this band from now on", _ok("Chosen", "Chosen"), "404", body="Choose")
        },
        "/api/devices/{address}": {
            "delete": _op(
                "Forget a known device",
                _ok("Forgotten", "Forgotten"),
                "404",
                parameters=[_path_param("address", ADDRESS)],
            )
        },
        "/api/reminders": {
            "get": _op("Reminders, by time of day", _ok("Reminders", "ReminderList")),
            "post": _op(
                "Add a reminder (the running service schedules it at once)",
                _ok("Added", "Reminder", "201"),
                body="NewReminder",
            ),
        },
        "/api/reminders/{reminder_id}": {
            "get": _op("One reminder", _ok("Reminder", "Reminder"), "404", parameters=_RID),
            "patch": _op(
                "Turn a reminder on or off",
                _ok("The reminder after the change", "Reminder"),
                "404",
                body="ReminderChange",
                parameters=_RID,
            ),
            "delete": _op("Remove a reminder", ("204", "Removed", None), "404", parameters=_RID),
        },
        "/api/reminders/{reminder_id}/snooze": {
            "post": _op(
                "Ring this reminder again in ten minutes",
                _ok("When it rings again", "Snoozed"),
                "404",
                "409",
                body="Empty",
                body_required=False,
                parameters=_RID,
            )
        },
        "/api/summary": {
            "get": _op("Today's morning summary (so far)", _ok("Summary", "Summary")),
        },
        "/api/summary/{day}": {
            "get": _op(
                "The morning summary of a day (local to the companion's time zone)",
                _ok("Summary", "Summary"),
                "400",
                "404",
                parameters=[
                    {
                        "name": "day",
                        "in": "path",
                        "required": True,
                        "description": f"YYYY-MM-DD, from {FIRST_DAY.isoformat()} (the first "
                        "day with a week before it); 404 for a day still to come.",
                        "schema": {**_DATE, "pattern": iso_day_on_or_after(FIRST_DAY)},
                    }
                ],
            )
        },
        "/api/stream": {
            "get": _op(
                "Live events as Server-Sent Events (event: hr|cue|state|link|step|session|"
                "notice|reminder|pacing|rating|battery|dropped|status)",
                ("200", "An event stream", {"text/event-stream": {"schema": {"type": "string"}}}),
                "429",
            )
        },
    }


@functools.cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bedside back-care companion",
            "version": "0.1.0",
            "description": "Local API of the bedside companion. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"cookieAuth": [], "csrfHeader": []}, {}],
        "paths": _paths(),
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "companion_session"},
                "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


def served_document(core: SessionControl, may_read: bool) -> dict[str, Any]:
    """The document as GET /api/openapi.json serves it: with the routine names there are now
    for callers who may read them; without (routine fields described in words) for anyone
    else, or when the core cannot say."""
    if not may_read:
        return openapi_document()
    try:
        names = [str(routine.get("name")) for routine in core.routines()]
    except (CompanionError, TimeoutError) as error:
        _LOGGER.warning("describing the API without routine names: %s", error)
        return openapi_document()
    return openapi_document(routine_names=names)


def accepted_routine_names(names: Iterable[str]) -> list[str]:
    """The names a start or a reminder can use: the API refuses blank and over-long ones."""
    return sorted(
        {n for n in names if isinstance(n, str) and n.strip() and len(n) <= MAX_ROUTINE_NAME}
    )


def openapi_document(routine_names: Iterable[str] | None = None) -> dict[str, Any]:
    """A fresh copy, so no caller can change what the next one gets. With ``routine_names``
    (the routines there are now), routine fields take only those names."""
    document = copy.deepcopy(_document())
    if routine_names is not None:
        names = accepted_routine_names(routine_names)
        routine = document["components"]["schemas"]["RoutineName"]
        # An empty enum would describe an operation nobody can call; say it in words instead.
        if names:
            routine["enum"] = names
    return document
