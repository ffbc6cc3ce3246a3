"""The OpenAPI document matches the routes the app really has."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import importlib
import json
import pkgutil
import re
import sys
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

import companion
from companion.ble.found import NO_RSSI, FoundDevice
from companion.ble.profiles import load_profiles
from companion.ble.resonance_curve import ResonanceCurve, beats_following
from companion.ble.wearer import Wearer
from companion.bus import EventBus
from companion.events import BandScript, Event, Notice, SessionStarted, SessionState
from companion.heart.breathing_watch import ResonanceAssessed
from companion.heart.resonance import assess, assessment_blocks, block_cues
from companion.json_records import to_json
from companion.routines.catalog import built_in_routines, load_catalog
from companion.routines.haptics import Vocabulary
from companion.routines.pacer import RATE_RANGE_PER_MIN, BreathPattern
from companion.routines.plan import PlanSettings, compile_plan, compose_plan, with_band_writes
from companion.routines.progression import ProgressionLevel
from companion.routines.watch import SafetySettings
from companion.session.host import FIRST_LEVEL, CoreSettings, SessionHost
from companion.session.status import RoutineSummary, SessionNow
from companion.store.resonance import save_assessment
from tests.web.conftest import (
    ROUTINES,
    T0,
    FakeCore,
    hr_event,
    record,
    schema_problems,
    session_events,
)
from web import WebSettings, create_app
from web.openapi import (
    DAY_WORDS,
    accepted_routine_names,
    openapi_document,
    stream_event_kinds,
    undescribed_endpoints,
)
from web.problems import UnprocessableError
from web.reminders_api import check_days
from web.schema_patterns import HH_MM, PYTHON_WHITESPACE
from web.summary_view import FIRST_DAY, DayError, parse_day
from web.timeofday import parse_hh_mm

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_IGNORED_METHODS = {"HEAD", "OPTIONS"}


def routes_under_api(app: Flask) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = _PARAM.sub(r"{\1}", rule.rule)
            found.setdefault(path, set()).update(
                m for m in rule.methods or () if m not in _IGNORED_METHODS
            )
    return found


def documented(document: dict[str, Any]) -> dict[str, set[str]]:
    return {path: {m.upper() for m in ops} for path, ops in document["paths"].items()}


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def test_the_document_is_served_as_json(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data())["openapi"] == "3.1.0"


def test_every_route_and_method_is_documented_and_nothing_else(app: Flask) -> None:
    assert documented(openapi_document()) == routes_under_api(app)


def test_every_route_under_api_says_what_it_answers(app: Flask) -> None:
    assert undescribed_endpoints(app) == []
    for path, operations in openapi_document(app=app)["paths"].items():
        for method, operation in operations.items():
            assert "not described" not in operation["summary"], (method, path)


def test_a_route_added_later_is_in_the_document_without_editing_it(app: Flask) -> None:
    app.add_url_rule("/api/sessions/<sid:session_id>/notes", "api.notes", lambda session_id: "")

    described = openapi_document(app=app)["paths"]["/api/sessions/{session_id}/notes"]["get"]

    assert undescribed_endpoints(app) == ["api.notes"]
    assert described["parameters"] == [
        {
            "name": "session_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^(?:[A-Za-z0-9_-]{1,64})$"},
        }
    ]


def test_the_stream_names_every_event_kind_the_companion_has() -> None:
    stream = openapi_document()["paths"]["/api/stream"]["get"]["responses"]["200"]
    events = stream["content"]["text/event-stream"]["x-events"]

    assert {"cue_delivered", "hr_stale", "status"} <= set(events)
    assert set(events) == set(stream_event_kinds())
    for kind, schema in events.items():
        if kind != "status":
            named = schema["$ref"].removeprefix("#/components/schemas/")
            assert STREAM_SCHEMAS[named]["properties"]["type"] == {"const": kind}


STREAM_SCHEMAS = openapi_document()["components"]["schemas"]


def test_exactly_the_events_the_dashboard_receives_are_described() -> None:
    for module in pkgutil.walk_packages(companion.__path__, "companion."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    on_dashboard, off_dashboard = set(), set()
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("companion."):
            (on_dashboard if cls.on_dashboard else off_dashboard).add(cls)
    stream = openapi_document()["paths"]["/api/stream"]["get"]["responses"]["200"]
    described = stream["content"]["text/event-stream"]["x-events"]

    assert {cls.kind for cls in on_dashboard} == set(stream_event_kinds()) - {"status"}
    assert set(described) == set(stream_event_kinds())
    # The band's script stays on the bus (the store, `companion session --jsonl`).
    assert BandScript in off_dashboard
    assert "band_script" not in described
    assert not {cls.__name__ for cls in off_dashboard} & set(STREAM_SCHEMAS)


def test_every_reference_resolves() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]

    missing = [r for r in refs(document) if r.removeprefix("#/components/schemas/") not in schemas]

    assert missing == []


def test_path_parameters_are_declared_for_every_templated_path() -> None:
    for path, operations in openapi_document()["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_every_operation_documents_its_errors_as_json() -> None:
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403", "503"} <= set(responses), (method, path)
            for status, answer in responses.items():
                if status.startswith("4") or status.startswith("5"):
                    assert list(answer["content"]) == ["application/json"], (method, path, status)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= set(responses), (method, path)


def test_callers_cannot_change_the_next_document() -> None:
    openapi_document()["paths"].clear()

    assert "/api/status" in openapi_document()["paths"]


# --- the served document: routine names as they are now ----------------------------------------

ROUTINE_NAMES = sorted(r.name for r in ROUTINES)


def routine_schema(document: dict[str, Any]) -> dict[str, Any]:
    schema = document["components"]["schemas"]["RoutineName"]
    assert isinstance(schema, dict)
    return schema


def test_the_document_is_served_with_the_routines_there_are_now(client: FlaskClient) -> None:
    served = client.get("/api/openapi.json").get_json()

    assert served == openapi_document(routine_names=ROUTINE_NAMES)
    assert routine_schema(served)["enum"] == ROUTINE_NAMES
    assert served["components"]["schemas"]["StartSession"]["properties"]["routine"] == {
        "$ref": "#/components/schemas/RoutineName"
    }
    assert served["components"]["schemas"]["NewReminder"]["properties"]["routine"] == {
        "$ref": "#/components/schemas/RoutineName"
    }


def test_a_routine_file_added_later_is_in_the_next_document(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "tests.web.conftest.ROUTINES",
        [*ROUTINES[:2], dataclasses.replace(ROUTINES[0], name="my-evening")],
    )

    served = client.get("/api/openapi.json").get_json()

    assert "my-evening" in routine_schema(served)["enum"]


def test_without_a_login_the_names_are_not_shown(core: FakeCore, engine: Engine) -> None:
    settings = WebSettings(host="0.0.0.0", token="a-long-shared-secret-for-tests")
    app = create_app(core, store_engine=engine, settings=settings)

    anonymous = app.test_client().get("/api/openapi.json").get_json()
    with_token = (
        app.test_client()
        .get("/api/openapi.json", headers={"Authorization": f"Bearer {settings.token}"})
        .get_json()
    )

    assert "enum" not in routine_schema(anonymous)
    assert routine_schema(with_token)["enum"] == ROUTINE_NAMES


class SilentCore(FakeCore):
    def routines(self) -> list[RoutineSummary]:
        raise TimeoutError("the core did not answer")


def test_when_the_core_cannot_list_routines_the_document_is_still_served(
    engine: Engine,
) -> None:
    app = create_app(SilentCore(), store_engine=engine, settings=WebSettings())

    response = app.test_client().get("/api/openapi.json")

    assert response.status_code == 200
    assert response.get_json() == openapi_document()


@pytest.mark.parametrize(
    ("names", "listed"),
    [
        (["morning", "bedtime", "morning"], ["bedtime", "morning"]),
        (["ok", "", "   ", "x" * 201, "y" * 200], ["ok", "y" * 200]),
    ],
)
def test_only_names_the_api_accepts_are_listed(names: list[str], listed: list[str]) -> None:
    assert accepted_routine_names(names) == listed


def test_with_no_usable_routine_names_the_field_is_described_in_words() -> None:
    schema = routine_schema(openapi_document(routine_names=[" "]))

    assert "enum" not in schema
    assert schema["type"] == "string"


# --- patterns that accept exactly what the server's parsers accept ------------------------------


def matches(pattern: str, value: str) -> bool:
    """JSON Schema's reading (ECMA-262, by jsonschema-rs, as schemathesis checks values):
    unlike Python's, its "$" does not match before a final newline."""
    return bool(jsonschema_rs.validator_for({"type": "string", "pattern": pattern}).is_valid(value))


def test_the_whitespace_the_patterns_name_is_what_str_strip_removes() -> None:
    everything = map(chr, range(sys.maxunicode + 1))
    assert [c for c in everything if c.isspace()] == list(PYTHON_WHITESPACE)


def test_only_ascii_letters_lower_to_the_letters_of_day_names() -> None:
    letters = set("".join(DAY_WORDS))
    lowering = {
        c for c in map(chr, range(sys.maxunicode + 1)) if c.lower() in letters and len(c) == 1
    }
    assert lowering == letters | {c.upper() for c in letters}


def days_accepted(value: object) -> bool:
    try:
        check_days(value)
    except UnprocessableError:
        return False
    return True


NEW_REMINDER = openapi_document()["components"]["schemas"]["NewReminder"]
DAYS_AS_LIST, DAYS_AS_TEXT, _ = NEW_REMINDER["properties"]["days"]["anyOf"]
DAY_PIECES = st.sampled_from(
    [*DAY_WORDS, "MON", "Tue", "SUNDAY", "monday ", "mo", "mond", "sun day", "x", "", ",", " ",
     "\t", "\u00a0", "\u3000", "\u200b", "\ufeff", "\x1c", "\n"]
)  # fmt: skip


@given(st.lists(DAY_PIECES, max_size=12).map("".join))
@settings(max_examples=400, deadline=None)
def test_the_days_text_pattern_is_exactly_what_the_server_accepts(text: str) -> None:
    assert matches(DAYS_AS_TEXT["pattern"], text) == days_accepted(text)


@given(st.lists(st.lists(DAY_PIECES, max_size=3).map("".join), max_size=9))
@settings(max_examples=300, deadline=None)
def test_the_days_list_schema_is_exactly_what_the_server_accepts(days: list[str]) -> None:
    described = jsonschema_rs.validator_for(DAYS_AS_LIST).is_valid(days)

    assert described == days_accepted(days)


def time_accepted(text: str) -> bool:
    try:
        parse_hh_mm(text)
    except ValueError:
        return False
    return True


def test_the_time_of_day_pattern_is_exactly_what_the_server_accepts() -> None:
    candidates = [f"{h}:{m:02d}" for h in range(100) for m in range(100)]
    candidates += [f"{h:02d}:{m}" for h in range(24) for m in range(10)]
    candidates += [
        "7:3",
        "07:30 ",
        " 07:30",
        "07:30\n",
        "0730",
        "07-30",
        "\u0660\u0667:\u0663\u0660",
        "07:30:00",
    ]

    disagree = [t for t in candidates if matches(HH_MM, t) != time_accepted(t)]

    assert disagree == []


SUMMARY_DAY = openapi_document()["paths"]["/api/summary/{day}"]["get"]["parameters"][0]["schema"]
FAR_FUTURE = datetime.date(9999, 12, 31)


def day_accepted(text: str) -> bool:
    try:
        parse_day(text, FAR_FUTURE)
    except DayError:
        return False
    return True


def day_described(text: str) -> bool:
    validator = jsonschema_rs.validator_for(SUMMARY_DAY, validate_formats=True)
    return bool(validator.is_valid(text))


def test_the_summary_day_schema_is_exactly_the_days_the_server_summarises() -> None:
    start = datetime.date(1969, 1, 1)
    around_the_first_day = [(start + datetime.timedelta(days=n)).isoformat() for n in range(800)]
    odd = ["0001-01-01", "1443-01-01", "1970-01-07", "1970-01-08", "9999-12-31",
           "2024-02-29", "2023-02-29", "2026-13-01", "2026-00-10", "2026-1-1", "20260101",
           "2026-01-01 "]  # fmt: skip

    disagree = [d for d in around_the_first_day + odd if day_described(d) != day_accepted(d)]

    assert disagree == []
    assert not day_described(FIRST_DAY.isoformat().replace("08", "07"))


@given(st.dates())
@settings(max_examples=300, deadline=None)
def test_any_day_is_described_as_the_server_reads_it(day: datetime.date) -> None:
    assert day_described(day.isoformat()) == day_accepted(day.isoformat())


def test_the_breathing_rate_rule_is_stated_as_the_pacer_enforces_it() -> None:
    pattern = openapi_document()["components"]["schemas"]["Pattern"]

    rule = pattern["x-breaths-per-minute"]

    assert (rule["minimum"], rule["maximum"]) == RATE_RANGE_PER_MIN
    defaults = {name: field["default"] for name, field in pattern["properties"].items()}
    assert defaults == BreathPattern().to_json()


# --- the session host's answers against the schemas generated from their types ---------------


def status_problems(value: Any, name: str = "Status") -> list[str]:
    return schema_problems(name, to_json(value))


async def test_the_real_hosts_status_fits_the_generated_status_schema() -> None:
    bus = EventBus()
    host = SessionHost(
        bus=bus,
        link=None,
        routines=built_in_routines(load_catalog()),
        profile_for_plans=None,
        settings=CoreSettings(pattern=None, safety=SafetySettings()),
        progression=first_level,
    )
    assert status_problems(host.status()) == []

    bus.publish(hr_event(64))
    bus.publish(Notice(mono=0.0, wall=T0, level="info", topic="band", message="Hello."))
    await host.start_session("taster", pain_before=3)
    await asyncio.sleep(0.01)  # the first step begins on the loop
    status = host.status()
    assert isinstance(status.session, SessionNow) and status.session.step is not None
    assert status_problems(status) == []
    assert status_problems(host.command("pause"), "SessionStatus") == []
    assert status_problems(host.command("stop"), "SessionStatus") == []
    assert schema_problems("RoutineSummary", to_json(host.routine_list()[0])) == []
    host.interrupt("the test is over")


async def first_level(_routine: str) -> ProgressionLevel:
    return FIRST_LEVEL


def test_a_session_event_fits_its_schema_with_the_whole_plan_and_with_the_outline() -> None:
    routine = built_in_routines(load_catalog())["taster"]
    vocabulary = Vocabulary.from_profile(load_profiles(None)["immediate-alert"])
    plan = compose_plan(compile_plan(routine, PlanSettings(), FIRST_LEVEL), vocabulary)
    event = SessionStarted(
        mono=0.0, wall=T0, run_id="r", routine="taster", level=1, total_s=plan.total_s,
        pain_before=None, plan=plan,
    )  # fmt: skip

    for shown in (event, dataclasses.replace(event, plan=plan.outline())):
        assert schema_problems("SessionStarted", shown.to_json()) == []
    assert event.to_json()["plan"]["cues"][0]["writes"]


def test_the_plan_as_stored_and_uncomposed_fits_the_plan_json_schema() -> None:
    routine = built_in_routines(load_catalog())["taster"]
    profile = load_profiles(None)["immediate-alert"]
    plan = compile_plan(routine, PlanSettings(), FIRST_LEVEL)
    stored = with_band_writes(compose_plan(plan, Vocabulary.from_profile(profile)))
    uncomposed = plan.to_json(profile.writes_json)

    assert stored["band_writes"] and {"fate", "start_s"} <= set(stored["cues"][0])
    assert schema_problems("PlanJson", stored) == []
    assert uncomposed["cues"][0]["writes"] and schema_problems("PlanJson", uncomposed) == []
    step = stored["steps"][0]
    assert schema_problems("PlanJson", {**stored, "steps": [{**step, "mode": "nap"}]}) != []
    cue = stored["cues"][0]
    assert schema_problems("PlanJson", {**stored, "cues": [{**cue, "fate": "lost"}]}) != []


def test_the_fake_core_answers_with_what_the_schema_describes(core: FakeCore) -> None:
    assert status_problems(core.status()) == []
    core.start_session("bedtime", 4)
    core.publish(hr_event(70))
    assert status_problems(core.status()) == []
    assert status_problems(core.command("pain"), "SessionStatus") == []
    assert all(schema_problems("RoutineSummary", to_json(r)) == [] for r in core.routines())


def test_history_answers_fit_their_generated_schemas(
    browser_client: FlaskClient, engine: Engine
) -> None:
    record(engine, session_events("kept", T0, SessionState.COMPLETED))

    listed = browser_client.get("/api/sessions").get_json()
    detail = browser_client.get("/api/sessions/kept").get_json()
    samples = browser_client.get("/api/sessions/kept/samples").get_json()

    assert [row["id"] for row in listed["sessions"]] == ["kept"]
    assert schema_problems("SessionList", listed) == []
    assert detail["steps"] and detail["cues"] and detail["link_events"] and detail["plan"]
    assert schema_problems("SessionDetail", detail) == []
    assert samples["samples"] and schema_problems("Samples", samples) == []
    assert schema_problems("Samples", {**samples, "extra": 1}) != []


def test_a_session_detail_is_described_field_by_field_down_to_its_rows(
    browser_client: FlaskClient, engine: Engine
) -> None:
    record(engine, session_events("kept", T0, SessionState.COMPLETED))
    detail = browser_client.get("/api/sessions/kept").get_json()
    step, cue, link = detail["steps"][0], detail["cues"][0], detail["link_events"][0]

    assert schema_problems("SessionDetail", {**detail, "notes": ""}) != []
    assert schema_problems("SessionDetail", {**detail, "steps": [{**step, "idx": "0"}]}) != []
    assert schema_problems("SessionDetail", {**detail, "cues": [{**cue, "on_wrist": 1}]}) != []
    unknown_link = {key: value for key, value in link.items() if key != "state"}
    assert schema_problems("SessionDetail", {**detail, "link_events": [unknown_link]}) != []
    assert schema_problems("SessionDetail", {**detail, "plan": {"steps": []}}) != []


def test_device_answers_fit_their_generated_schemas(
    browser_client: FlaskClient, engine: Engine, core: FakeCore
) -> None:
    record(engine, session_events("kept", T0, SessionState.COMPLETED))
    core.found = [
        FoundDevice(address="AA:BB:CC:DD:EE:01", name=None, rssi=-70, profile=None),
        FoundDevice(address="AA:BB:CC:DD:EE:02", name="Band", rssi=NO_RSSI, profile="generic",
                    connected=True),
    ]  # fmt: skip

    known = browser_client.get("/api/devices").get_json()
    found = browser_client.post("/api/devices/scan", json={"timeout_s": 1}).get_json()

    assert known["devices"] and schema_problems("KnownDevices", known) == []
    assert found["devices"] == [
        {"address": "AA:BB:CC:DD:EE:01", "name": None, "rssi": -70, "profile": None,
         "connected": False},
        {"address": "AA:BB:CC:DD:EE:02", "name": "Band", "rssi": -127, "profile": "generic",
         "connected": True},
    ]  # fmt: skip
    assert schema_problems("FoundDevices", found) == []
    without_time = {k: v for k, v in known["devices"][0].items() if k != "last_seen"}
    assert schema_problems("KnownDevices", {"devices": [without_time]}) != []
    assert schema_problems("FoundDevices", {"devices": [{"address": "x", "rssi": "-1"}]}) != []


def test_stored_resonance_assessments_are_answered_as_described_down_to_each_pace(
    browser_client: FlaskClient, engine: Engine
) -> None:
    blocks = assessment_blocks()
    cues = block_cues(blocks)
    wearer = Wearer(1, resonance=ResonanceCurve(6.5))
    answered = assess(blocks, *beats_following(wearer, cues, blocks[-1].end_s + 5.0))
    unanswered = assess(blocks, [], [])  # no beats: every pace too poor, its figures null
    record(engine, session_events("kept", T0, SessionState.COMPLETED))
    save_assessment(engine, "kept", T0 + 600, answered.to_json())
    save_assessment(engine, None, T0 + 660, unanswered.to_json())

    listed = browser_client.get("/api/resonance").get_json()

    newer, older = listed["assessments"]
    assert older["answered"] and older["pace_per_min"] == 6.5 and not newer["answered"]
    # Each pace goes out as the scorer wrote it, figures and all.
    assert older["paces"] == json.loads(json.dumps(answered.to_json()["paces"]))
    assert {p["quality"] for p in older["paces"]} == {"good"}
    assert newer["paces"] and all(p["swing_bpm"] is None for p in newer["paces"])
    assert schema_problems("ResonanceList", listed) == []
    pace = older["paces"][0]
    for wrong in (
        {**pace, "quality": "splendid"},
        {**pace, "swing_bpm": "20"},
        {**pace, "beats_kept": 1.5},
        {key: value for key, value in pace.items() if key != "score"},
        {**pace, "hrv": 1},
    ):
        assert schema_problems("ResonanceList", {"assessments": [{**older, "paces": [wrong]}]})
    assert schema_problems("ResonanceList", {"assessments": [{**older, "verdict": "maybe"}]})
    # The breathing watcher announces the same JSON on the stream.
    event = ResonanceAssessed(mono=0.0, wall=T0, run_id="kept", assessment_id=1,
                              result=answered.to_json())  # fmt: skip
    assert schema_problems("ResonanceAssessed", json.loads(json.dumps(event.to_json()))) == []


# --- request bodies: what the generated schemas call valid, the server takes -----------------

SETTINGS_BODIES = [
    {}, {"hr_ceiling": 80}, {"hr_ceiling": 150.0}, {"hr_ceiling": 79}, {"hr_ceiling": 150.5},
    {"hr_ceiling": True}, {"units": {"clock": "12h"}}, {"units": {"clock": "13h"}},
    {"units": {"energy": "kcal", "speed": "mph"}}, {"pattern": None}, {"pattern": {}},
    {"pattern": {"inhale_s": 5, "exhale_s": 7}}, {"pattern": {"inhale_s": 1}},
    {"pattern": {"inhale_s": "5"}}, {"pattern": {"breath_s": 5}}, {"wake_time": "6:45"},
    {"wake_time": "24:00"}, {"wake_time": 645}, {"theme": "dark"},
]  # fmt: skip


@pytest.mark.parametrize("body", SETTINGS_BODIES, ids=json.dumps)
def test_a_settings_change_is_taken_exactly_when_its_schema_says_so(
    browser_client: FlaskClient, body: dict[str, Any]
) -> None:
    # Every pattern here breathes 3-12 times a minute (the rule JSON Schema cannot state).
    taken = browser_client.put("/api/settings", json=body).status_code

    assert taken in (200, 422)
    assert (taken == 200) == (schema_problems("SettingsUpdate", body) == [])


REMINDER_BODIES = [
    {"at": "7:30", "routine": "bedtime"}, {"at": "07:30", "routine": "bedtime", "days": None},
    {"at": "07:30", "routine": "bedtime", "days": ["MON", " friday"]},
    {"at": "07:30", "routine": "bedtime", "days": "sat,sun,"},
    {"at": "07:30", "routine": "bedtime", "days": []},
    {"at": "07:30", "routine": "bedtime", "days": ["someday"]},
    {"at": "7.30", "routine": "bedtime"}, {"routine": "bedtime"}, {"at": "07:30"},
    {"at": "07:30", "routine": "bedtime", "enabled": False},
]  # fmt: skip


@pytest.mark.parametrize("body", REMINDER_BODIES, ids=json.dumps)
def test_a_new_reminder_is_taken_exactly_when_its_schema_says_so(
    browser_client: FlaskClient, body: dict[str, Any]
) -> None:
    # "bedtime" is one of the routines there are, as the served document lists them.
    schema = {
        "$ref": "#/components/schemas/NewReminder",
        "components": openapi_document(routine_names=ROUTINE_NAMES)["components"],
    }
    taken = browser_client.post("/api/reminders", json=body).status_code

    assert taken in (201, 422)
    assert (taken == 201) == jsonschema_rs.validator_for(schema).is_valid(body)


@pytest.mark.parametrize(
    ("name", "valid", "invalid"),
    [
        ("ReminderChange", {"enabled": True}, [{}, {"enabled": "yes"}, {"enabled": 1}]),
        ("ResonanceAdopt", {"id": 7}, [{}, {"id": 0}, {"id": 10**9}, {"id": "7"}]),
        ("Empty", {}, [{"now": True}]),
    ],
)
def test_the_small_bodies_are_described_as_their_handlers_check_them(
    name: str, valid: dict[str, Any], invalid: list[dict[str, Any]]
) -> None:
    assert schema_problems(name, valid) == []
    assert all(schema_problems(name, body) != [] for body in invalid)
