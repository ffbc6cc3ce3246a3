"""The OpenAPI 3.1 description of /api, generated so it cannot drift from the server.

- Paths, methods and path parameters come from the app's own routes (``app.url_map``) and
  their converters: a route added later is described without editing a list of paths
  (tests/web/test_openapi.py fails until ``OPERATIONS`` says what it answers).
- The schemas of what the session host answers (``companion.session.status``: the status
  snapshot, the routine list, a session's status) and of the live stream's events
  (``companion.events``) are generated from those typed records by pydantic's JSON Schema
  generator, the same records the server turns into JSON; so are those of the answers in
  web/api_records.py (session, device, settings, reminder and resonance routes).
- The rest (records not typed yet, request bodies) are stated in web/openapi_stated.py.

Routine names are the one part that changes while the service runs (routine files in the
data dir), so the served document lists the names known at the moment it is asked for.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, cast

from flask import Flask
from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from companion.errors import CompanionError
from companion.events import Event
from companion.routines.plan import Plan
from companion.session.control import SessionControl
from companion.session.status import RoutineSummary, SessionStatus, Status
from web.api_records import ANSWERS, REQUESTS
from web.openapi_stated import (
    DATE,
    DAY_WORDS,
    MAX_ROUTINE_NAME,
    OPEN_OBJECT,
    PLAN_JSON,
    STATED_SCHEMAS,
    ref,
)
from web.schema_patterns import anchored, iso_day_on_or_after
from web.summary_view import FIRST_DAY

__all__ = [
    "DAY_WORDS",
    "MAX_ROUTINE_NAME",
    "accepted_routine_names",
    "openapi_document",
    "served_document",
]

_LOGGER = logging.getLogger(__name__)

_ERROR_TEXT: Final = {
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
# Every operation may answer these: the token and CSRF rules, and a core or store that is down.
_ALWAYS: Final = ("401", "403", "503")
_WITH_A_BODY: Final = ("400", "413", "415", "422")
# Where the events the bus carries are defined (a test finds every one of them here).
EVENT_MODULES: Final = ("companion.events", "companion.heart.breathing_watch")
_STATUS_EVENT: Final = "status"  # the snapshot a new stream starts with (web/stream.py)
_REF_PREFIX: Final = "#/components/schemas/"
_REF_TEMPLATE: Final = _REF_PREFIX + "{model}"


# --- what each route answers --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Answer:
    """A successful answer: its status, what it is, and its body (a component's name, an
    inline schema with a media type, or None for no body)."""

    description: str
    schema: str | None
    status: str = "200"
    media: str = "application/json"
    inline: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class Operation:
    summary: str
    answer: Answer
    errors: tuple[str, ...] = ()
    body: str | None = None  # the component the JSON body must match
    body_required: bool = True
    query: tuple[Mapping[str, Any], ...] = ()
    # Path parameters a converter cannot describe (the default converter takes any text).
    path: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)


def _ok(description: str, schema: str, status: str = "200") -> Answer:
    return Answer(description, schema, status)


def _query_int(name: str, low: int, high: int, default: int) -> Mapping[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": low, "maximum": high, "default": default},
    }


_COMMANDS: Final = {
    "pause": "Pause the running session",
    "resume": "Resume a paused session",
    "skip": "Skip to the next step",
    "stop": "Stop the session",
    "pain": "Stop now because of pain (recorded)",
}
_SUMMARY_DAY: Final = {
    "description": f"YYYY-MM-DD, from {FIRST_DAY.isoformat()} (the first day with a week "
    "before it); 404 for a day still to come.",
    "schema": {**DATE, "pattern": iso_day_on_or_after(FIRST_DAY)},
}

# What each endpoint (blueprint.view) takes and answers; paths, methods and path parameters
# come from the routes themselves.
OPERATIONS: Final[Mapping[str, Operation]] = {
    "api.openapi": Operation("This document", Answer("OpenAPI 3.1", None, inline=OPEN_OBJECT)),
    "api.csrf": Operation("The CSRF token for this browser session", _ok("Token", "Csrf")),
    "api.status": Operation("The session host's status snapshot", _ok("Status", "Status")),
    "api.routines": Operation(
        "Available routines",
        Answer("Routines", None, inline={"type": "array", "items": ref("RoutineSummary")}),
    ),
    "api.start_session": Operation(
        "Start a routine", _ok("Started", "SessionCreated", "201"), ("409",), "StartSession"
    ),
    **{
        f"api.session_{verb}": Operation(
            what,
            _ok(f"Session status after {verb}.", "SessionStatus"),
            ("409",),
            "Empty",
            body_required=False,
        )
        for verb, what in _COMMANDS.items()
    },
    "api.rate_after": Operation(
        "Rate pain after the most recent session",
        _ok("Recorded", "PainAfter"),
        ("409",),
        "PainAfter",
    ),
    "api.sessions": Operation(
        "Past sessions, newest first",
        _ok("Sessions", "SessionList"),
        ("400",),
        query=(_query_int("limit", 1, 200, 50), _query_int("offset", 0, 10**9, 0)),
    ),
    "api.session_detail": Operation("One session", _ok("Session", "SessionDetail"), ("404",)),
    "api.session_samples": Operation("Heart-rate samples", _ok("Samples", "Samples"), ("404",)),
    "api.session_csv": Operation(
        "Samples as CSV (a download)",
        Answer("CSV", None, media="text/csv", inline={"type": "string"}),
        ("404",),
    ),
    "api.get_settings": Operation("Settings", _ok("Settings", "Settings")),
    "api.put_settings": Operation(
        "Change some settings (keys left out keep their value)",
        _ok("Settings after the change", "Settings"),
        body="SettingsUpdate",
    ),
    "api.devices": Operation("Known devices", _ok("Devices", "KnownDevices")),
    "api.scan": Operation(
        "Scan for nearby bands",
        _ok("Devices found", "FoundDevices"),
        body="Scan",
        body_required=False,
    ),
    "api.choose": Operation(
        "Use this band from now on", _ok("Chosen", "Chosen"), ("404",), "Choose"
    ),
    "api.forget": Operation("Forget a known device", _ok("Forgotten", "Forgotten"), ("404",)),
    "api.stream": Operation(
        "Live events as Server-Sent Events",
        Answer("An event stream", None, media="text/event-stream", inline={"type": "string"}),
        ("429",),
    ),
    "resonance.assessments": Operation(
        "Resonance-breathing assessments, newest first",
        _ok("Assessments", "ResonanceList"),
        ("400",),
        query=(_query_int("limit", 1, 200, 50),),
    ),
    "resonance.adopt": Operation(
        "Use an assessment's pace as the saved breathing pattern",
        _ok("Adopted", "ResonanceAdopted"),
        ("404",),
        "ResonanceAdopt",
    ),
    "reminders.list_all": Operation("Reminders, by time of day", _ok("Reminders", "ReminderList")),
    "reminders.add": Operation(
        "Add a reminder (the running service schedules it at once)",
        _ok("Added", "Reminder", "201"),
        body="NewReminder",
    ),
    "reminders.one": Operation("One reminder", _ok("Reminder", "Reminder"), ("404",)),
    "reminders.change": Operation(
        "Turn a reminder on or off",
        _ok("The reminder after the change", "Reminder"),
        ("404",),
        "ReminderChange",
    ),
    "reminders.remove": Operation("Remove a reminder", Answer("Removed", None, "204"), ("404",)),
    "reminders.snooze": Operation(
        "Ring this reminder again in ten minutes",
        _ok("When it rings again", "Snoozed"),
        ("404", "409"),
        "Empty",
        body_required=False,
    ),
    "summary.today": Operation("Today's morning summary (so far)", _ok("Summary", "Summary")),
    "summary.of_day": Operation(
        "The morning summary of a day (local to the companion's time zone)",
        _ok("Summary", "Summary"),
        ("400", "404"),
        path={"day": _SUMMARY_DAY},
    ),
}


# --- schemas generated from the typed records -----------------------------------------------


class _RecordSchemas(GenerateJsonSchema):
    """pydantic's generator, without the titles it derives from field names; a plan is
    described as ``Plan.to_json`` writes it (web/openapi_stated.py), not field by field."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def field_is_required(self, field: Any, total: bool) -> bool:
        # An answer is sent whole: every field of a record, every key of a typed dict but
        # those it marks NotRequired. Bodies (validation) may leave out what has a default.
        if self.mode == "serialization":
            typed_dict = field["type"] == "typed-dict-field"
            return bool(field.get("required", total)) if typed_dict else True
        return super().field_is_required(field, total)

    def handle_ref_overrides(self, json_schema: Any) -> Any:
        # A reference to a stated schema (RoutineName) is not one of pydantic's own.
        if json_schema.get("$ref", "").removeprefix(_REF_PREFIX) in STATED_SCHEMAS:
            return json_schema
        return super().handle_ref_overrides(json_schema)

    def dataclass_schema(self, schema: Any) -> Any:
        if schema.get("cls") is Plan:
            return ref(PLAN_JSON)
        return super().dataclass_schema(schema)


def _event_kinds() -> dict[str, type[Event]]:
    """Every event the companion publishes, by the name it is streamed under."""
    for module in EVENT_MODULES:
        importlib.import_module(module)  # so the answer does not depend on what ran before
    found: dict[str, type[Event]] = {}
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__ in EVENT_MODULES:  # not an event a test made up
            found[cls.kind] = cls
    return dict(sorted(found.items()))


def _closed_records(schemas: dict[str, Any]) -> None:
    """Records are sent whole (``status.to_json``): their fields, and nothing else."""
    for schema in schemas.values():
        if schema.get("type") == "object" and "properties" in schema:
            schema.pop("title", None)
            schema["additionalProperties"] = False


def _as_streamed(schema: dict[str, Any], kind: str) -> None:
    """An event as ``Event.to_json`` sends it: named by ``type``, without the monotonic time."""
    properties = {"type": {"const": kind}, **schema["properties"]}
    properties.pop("mono", None)
    schema["properties"] = properties
    schema["required"] = ["type", *(name for name in schema["required"] if name != "mono")]


@functools.cache
def _generated_schemas() -> dict[str, Any]:
    events = _event_kinds()
    roots: list[tuple[str, Any]] = [
        *((kind.__name__, kind) for kind in ANSWERS),
        ("Status", Status),
        ("SessionStatus", SessionStatus),
        ("RoutineSummary", RoutineSummary),
        *((cls.__name__, cls) for cls in events.values()),
    ]
    keyed, found = TypeAdapter.json_schemas(
        [(name, "serialization", TypeAdapter(kind)) for name, kind in roots],
        ref_template=_REF_TEMPLATE,
        schema_generator=_RecordSchemas,
    )
    schemas: dict[str, Any] = dict(found.get("$defs", {}))
    clashes = set(schemas) & (set(STATED_SCHEMAS) | {kind.__name__ for kind in REQUESTS})
    if clashes:
        raise RuntimeError(f"stated and generated schemas share names: {sorted(clashes)}")
    for name, _kind in roots:
        reference = keyed[(name, "serialization")]
        if reference.get("$ref") != ref(name)["$ref"]:
            schemas[name] = reference  # a union: give it its own name
    for kind, cls in events.items():
        _as_streamed(schemas[cls.__name__], kind)
    _closed_records(schemas)
    # Request bodies as the server reads them: fields with a default may be left out.
    _, bodies = TypeAdapter.json_schemas(
        [(kind.__name__, "validation", TypeAdapter(kind)) for kind in REQUESTS],
        ref_template=_REF_TEMPLATE,
        schema_generator=_RecordSchemas,
    )
    schemas.update(bodies.get("$defs", {}))
    for schema in schemas.values():
        schema.pop("title", None)
    roots += [(kind.__name__, kind) for kind in REQUESTS]
    # Only what is reachable: pydantic may leave the parts of a type it was told to describe
    # otherwise (a plan's band writes) behind.
    wanted = _reachable(
        [*(name for name, _ in roots), *STATED_SCHEMAS],
        {**schemas, **STATED_SCHEMAS},
    )
    return {name: schema for name, schema in schemas.items() if name in wanted}


def _reachable(names: list[str], schemas: Mapping[str, Any]) -> set[str]:
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending.extend(_refs(schemas[name]))
    return seen


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"].rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def stream_event_kinds() -> list[str]:
    """The event names a live stream sends (``event: <kind>``), the status snapshot first."""
    return [_STATUS_EVENT, *_event_kinds()]


def _stream_events() -> dict[str, Any]:
    events = {kind: ref(cls.__name__) for kind, cls in _event_kinds().items()}
    return {_STATUS_EVENT: ref("Status"), **events}


# --- paths from the routes ------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<(?:(?P<converter>[a-z_]+)(?:\([^)]*\))?:)?(?P<name>[a-z_]+)>")
_NOT_OPERATIONS: Final = frozenset({"HEAD", "OPTIONS"})


def _converter_schema(app: Flask, converter: str | None) -> dict[str, Any]:
    cls = app.url_map.converters[converter or "default"]
    regex = getattr(cls, "regex", None)
    if cls.to_python is not app.url_map.converters["default"].to_python:
        # A converter that gives its view a number (``rid``): digits only, so 0 up to nines.
        digits = re.fullmatch(r"\[0-9\]\{1,(\d+)\}", regex or "")
        high = 10 ** int(digits.group(1)) - 1 if digits else None
        return {"type": "integer", "minimum": 0, **({"maximum": high} if high else {})}
    if converter is None or regex is None:
        return {"type": "string"}
    return {"type": "string", "pattern": anchored(regex)}


def _routes(app: Flask) -> Iterator[tuple[str, str, str, list[dict[str, Any]]]]:
    """(path, method, endpoint, path parameters) of every route under /api."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        operation = OPERATIONS.get(rule.endpoint)
        overrides = operation.path if operation else {}
        parameters = []
        for found in _PLACEHOLDER.finditer(rule.rule):
            name = found["name"]
            stated = overrides.get(name, {"schema": _converter_schema(app, found["converter"])})
            parameters.append({"name": name, "in": "path", "required": True, **stated})
        path = _PLACEHOLDER.sub(lambda m: "{" + m["name"] + "}", rule.rule)
        for method in sorted((rule.methods or set()) - _NOT_OPERATIONS):
            yield path, method.lower(), rule.endpoint, parameters


def _error(code: str) -> dict[str, Any]:
    return {
        "description": _ERROR_TEXT[code],
        "content": {"application/json": {"schema": ref("Error")}},
    }


def _undescribed(endpoint: str) -> Operation:
    # Shown, so nothing the server has is hidden; the test that every route is described
    # fails until OPERATIONS says what it answers.
    return Operation(f"({endpoint}: not described yet)", Answer("Not described yet", None))


def _operation(endpoint: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    stated = OPERATIONS.get(endpoint) or _undescribed(endpoint)
    answer = stated.answer
    ok: dict[str, Any] = {"description": answer.description}
    if answer.schema is not None or answer.inline is not None:
        schema = ref(answer.schema) if answer.schema else dict(answer.inline or {})
        ok["content"] = {answer.media: {"schema": schema}}
    if endpoint == "api.stream":
        ok["description"] = (
            f"An event stream; each event is named by its kind ({'|'.join(stream_event_kinds())})"
            " and carries the JSON of that kind (x-events)."
        )
        ok["content"][answer.media]["x-events"] = _stream_events()
    codes = [*_ALWAYS, *stated.errors]
    if stated.body is not None:
        codes += [code for code in _WITH_A_BODY if code not in codes]
    operation: dict[str, Any] = {
        "summary": stated.summary,
        "responses": {answer.status: ok, **{code: _error(code) for code in codes}},
    }
    if stated.body is not None:
        operation["requestBody"] = {
            "required": stated.body_required,
            "content": {"application/json": {"schema": ref(stated.body)}},
        }
    every = [*parameters, *(dict(q) for q in stated.query)]
    if every:
        operation["parameters"] = every
    return operation


def _paths(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, method, endpoint, parameters in sorted(_routes(app)):
        paths.setdefault(path, {})[method] = _operation(endpoint, parameters)
    return paths


def undescribed_endpoints(app: Flask) -> list[str]:
    """Routes under /api that OPERATIONS does not describe (there should be none)."""
    return sorted({endpoint for _, _, endpoint, _ in _routes(app) if endpoint not in OPERATIONS})


@functools.cache
def _describing_app() -> Flask:
    """An app built as the server builds its own, for its routes only (never served)."""
    from web.app import create_app  # web.app imports the API, which imports this module
    from web.settings import WebSettings

    return create_app(cast(SessionControl, _NoCore()), store_engine=None, settings=WebSettings())


class _NoCore:
    """Stands in for the session host in the describing app, which never handles a request."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the describing app has no session host ({name})")


def _document(app: Flask) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bedside back-care companion",
            "version": "0.1.0",
            "description": "Local API of the bedside companion. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"cookieAuth": [], "csrfHeader": []}, {}],
        "paths": _paths(app),
        "components": {
            "schemas": {**STATED_SCHEMAS, **_generated_schemas()},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "companion_session"},
                "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


def served_document(core: SessionControl, may_read: bool, app: Flask) -> dict[str, Any]:
    """The document as GET /api/openapi.json serves it: with the routine names there are now
    for callers who may read them; without (routine fields described in words) for anyone
    else, or when the core cannot say."""
    if not may_read:
        return openapi_document(app=app)
    try:
        names = [routine.name for routine in core.routines()]
    except (CompanionError, TimeoutError) as error:
        _LOGGER.warning("describing the API without routine names: %s", error)
        return openapi_document(app=app)
    return openapi_document(routine_names=names, app=app)


def accepted_routine_names(names: Iterable[str]) -> list[str]:
    """The names a start or a reminder can use: the API refuses blank and over-long ones."""
    return sorted(
        {n for n in names if isinstance(n, str) and n.strip() and len(n) <= MAX_ROUTINE_NAME}
    )


def openapi_document(
    routine_names: Iterable[str] | None = None, *, app: Flask | None = None
) -> dict[str, Any]:
    """A fresh copy, so no caller can change what the next one gets, of ``app``'s routes (by
    default an app built as the server builds its own). With ``routine_names`` (the routines
    there are now), routine fields take only those names."""
    document = copy.deepcopy(_document(app or _describing_app()))
    if routine_names is not None:
        names = accepted_routine_names(routine_names)
        routine = document["components"]["schemas"]["RoutineName"]
        # An empty enum would describe an operation nobody can call; say it in words instead.
        if names:
            routine["enum"] = names
    return document
