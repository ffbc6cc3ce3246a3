"""The JSON API: what each endpoint answers, and how it refuses bad input."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from companion.events import SessionState
from companion.json_records import to_json
from companion.store import queries
from tests.web.conftest import (
    BAND,
    ROUTINES,
    T0,
    FakeCore,
    record,
    schema_problems,
    session_events,
)
from web import WebSettings, create_app


def test_status_is_the_core_snapshot(browser_client: FlaskClient, core: FakeCore) -> None:
    response = browser_client.get("/api/status")

    assert response.status_code == 200
    assert response.get_json() == to_json(core.status())


def test_routines_are_listed_as_the_core_gives_them(browser_client: FlaskClient) -> None:
    assert browser_client.get("/api/routines").get_json() == to_json(ROUTINES)


def test_starting_a_session_answers_201_with_its_id_and_location(
    browser_client: FlaskClient, core: FakeCore
) -> None:
    response = browser_client.post("/api/session", json={"routine": "bedtime", "pain_before": 4})

    assert (response.status_code, response.get_json()) == (201, {"id": "run0001"})
    assert response.headers["Location"] == "/api/sessions/run0001"
    assert core.started == [("bedtime", 4)]


def test_pain_before_may_be_left_out(browser_client: FlaskClient, core: FakeCore) -> None:
    response = browser_client.post("/api/session", json={"routine": "morning"})

    assert response.status_code == 201
    assert core.started == [("morning", None)]


def test_an_unknown_routine_is_422_naming_the_known_ones(browser_client: FlaskClient) -> None:
    response = browser_client.post("/api/session", json={"routine": "nap", "pain_before": 2})

    assert response.status_code == 422
    body = response.get_json()
    assert body["field"] == "routine"
    assert "bedtime" in body["error"] and "morning" in body["error"]


def test_starting_while_a_session_runs_is_409(browser_client: FlaskClient) -> None:
    browser_client.post("/api/session", json={"routine": "bedtime", "pain_before": 3})

    response = browser_client.post("/api/session", json={"routine": "bedtime", "pain_before": 3})

    assert response.status_code == 409
    assert response.get_json() == {"error": "a routine is already running"}


@pytest.mark.parametrize(
    ("commands", "status", "state"),
    [
        (["pause"], 200, "paused"),
        (["pause", "resume"], 200, "running"),
        (["skip"], 200, "running"),
        (["stop"], 200, "stopped"),
        (["pain"], 200, "pain"),
        (["pause", "pain"], 200, "pain"),
        (["resume"], 409, None),
        (["stop", "pause"], 409, None),
        (["pain", "pain"], 409, None),
    ],
)
def test_session_commands_follow_the_session_state(
    browser_client: FlaskClient, commands: list[str], status: int, state: str | None
) -> None:
    browser_client.post("/api/session", json={"routine": "bedtime", "pain_before": 3})

    for name in commands:
        response = browser_client.post(f"/api/session/{name}")

    assert response.status_code == status
    body = response.get_json()
    if state is None:
        assert set(body) == {"error"}
    else:
        assert body["state"] == state


def test_a_command_with_nothing_running_is_409(browser_client: FlaskClient) -> None:
    response = browser_client.post("/api/session/pause")

    assert response.status_code == 409
    assert "idle" in response.get_json()["error"]


def test_pain_after_is_recorded_once_a_session_ended(
    browser_client: FlaskClient, core: FakeCore
) -> None:
    browser_client.post("/api/session", json={"routine": "bedtime", "pain_before": 6})
    browser_client.post("/api/session/pain")

    response = browser_client.post("/api/session/rating", json={"pain_after": 3})

    assert (response.status_code, response.get_json()) == (200, {"pain_after": 3})
    assert core.ratings == [3]


def test_pain_after_without_a_finished_session_is_409(browser_client: FlaskClient) -> None:
    response = browser_client.post("/api/session/rating", json={"pain_after": 3})

    assert response.status_code == 409


JSON = "application/json"
BED = {"routine": "bedtime"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "says"),
    [
        ("post", "/api/session", {"data": "routine=bedtime"}, 415, "application/json"),
        ("post", "/api/session", {"data": "x", "content_type": "text/plain"}, 415, "text/plain"),
        ("post", "/api/session", {"data": "{nope", "content_type": JSON}, 400, "malformed JSON"),
        ("post", "/api/session", {"json": [1, 2]}, 400, "must be an object"),
        ("post", "/api/session", {}, 400, "body is required"),
        ("post", "/api/session", {"data": "x" * 20_000, "content_type": JSON}, 413, "large"),
        ("post", "/api/session", {"json": {"pain_before": 2}}, 422, "routine"),
        ("post", "/api/session", {"json": {"routine": ""}}, 422, "routine"),
        ("post", "/api/session", {"json": {**BED, "pain_before": 11}}, 422, "0"),
        ("post", "/api/session", {"json": {**BED, "pain_before": -1}}, 422, "0"),
        ("post", "/api/session", {"json": {**BED, "pain_before": 2.5}}, 422, "whole"),
        ("post", "/api/session", {"json": {**BED, "pain_before": True}}, 422, "whole"),
        ("post", "/api/session", {"json": {**BED, "pain_before": "5"}}, 422, "whole"),
        ("post", "/api/session", {"json": {**BED, "x": 1}}, 422, "unknown field"),
        ("post", "/api/session/pause", {"data": "a=b"}, 415, "application/json"),
        ("post", "/api/session/stop", {"json": {"why": "x"}}, 422, "why: unknown field"),
        ("post", "/api/session/rating", {"json": {}}, 422, "pain_after"),
        ("post", "/api/session/rating", {"json": {"pain_after": 12}}, 422, "pain_after"),
        ("get", "/api/nothing-here", {}, 404, "not found"),
        ("get", "/api", {}, 404, "not found"),
        ("delete", "/api/status", {}, 405, "not allowed"),
        ("post", "/api/sessions", {}, 405, "not allowed"),
        ("get", "/api/sessions?limit=abc", {}, 400, "limit"),
        ("get", "/api/sessions?limit=0", {}, 400, "limit"),
        ("get", "/api/sessions?limit=1_0", {}, 400, "limit"),
        ("get", "/api/sessions?offset=-1", {}, 400, "offset"),
        ("get", "/api/sessions/..%2F..%2Fetc%2Fpasswd", {}, 404, "not found"),
        ("get", "/api/sessions/a.b", {}, 404, "not found"),
        ("get", "/api/sessions/" + "a" * 65, {}, 404, "not found"),
        ("get", "/api/sessions/nope", {}, 404, "no session nope"),
        ("get", "/api/sessions/nope.csv", {}, 404, "no session nope"),
        ("get", "/api/sessions/..%2Fx.csv", {}, 404, "not found"),
        ("put", "/api/settings", {"json": {"pattern": {"inhale_s": 30}}}, 422, "pattern.inhale_s"),
        ("put", "/api/settings", {"json": {"pattern": {"inhale_s": "4"}}}, 422, "pattern.inhale_s"),
        ("put", "/api/settings", {"json": {"pattern": {"x": 1}}}, 422, "pattern.x"),
        ("put", "/api/settings", {"json": {"hr_ceiling": 300}}, 422, "hr_ceiling"),
        ("put", "/api/settings", {"json": {"hr_ceiling": 100.5}}, 422, "hr_ceiling"),
        ("put", "/api/settings", {"json": {"units": {"clock": "25h"}}}, 422, "units.clock"),
        ("put", "/api/settings", {"json": {"colour": "red"}}, 422, "colour"),
        ("delete", "/api/devices/not-an-address", {}, 404, "not found"),
        ("delete", "/api/devices/AA:BB:CC:DD:EE:FF", {}, 404, "no known device"),
        ("post", "/api/devices/choose", {"json": {"address": "zz"}}, 422, "address"),
        ("post", "/api/devices/choose", {"json": {}}, 422, "address"),
        ("post", "/api/devices/scan", {"json": {"timeout_s": 100}}, 422, "timeout_s"),
        ("post", "/api/devices/scan", {"json": {"timeout_s": "5"}}, 422, "timeout_s"),
    ],
)
def test_bad_input_gets_a_4xx_json_error_saying_what_is_wrong(
    browser_client: FlaskClient,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    says: str,
) -> None:
    response = getattr(browser_client, method)(path, **kwargs)

    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert says.lower() in response.get_json()["error"].lower()


def test_405_keeps_the_allow_header(browser_client: FlaskClient) -> None:
    response = browser_client.delete("/api/status")

    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_core_that_does_not_answer_in_time_is_503(
    browser_client: FlaskClient, core: FakeCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow() -> dict[str, Any]:
        raise TimeoutError("no answer")

    monkeypatch.setattr(core, "status", slow)

    response = browser_client.get("/api/status")

    assert response.status_code == 503
    assert "in time" in response.get_json()["error"]


def test_without_a_store_history_answers_503(core: FakeCore) -> None:
    app = create_app(core, store_engine=None, settings=WebSettings())

    response = app.test_client().get("/api/sessions")

    assert (response.status_code, response.get_json()) == (
        503,
        {"error": "no session store is configured"},
    )


# --- history -----------------------------------------------------------------------------


@pytest.fixture
def history(engine: Engine) -> Engine:
    record(engine, session_events("older", T0, SessionState.COMPLETED))
    record(engine, session_events("newer", T0 + 86_400, SessionState.PAIN))
    return engine


def test_sessions_are_listed_newest_first_with_summaries(
    browser_client: FlaskClient, history: Engine
) -> None:
    body = browser_client.get("/api/sessions?limit=10").get_json()

    assert (body["limit"], body["offset"]) == (10, 0)
    assert [(s["id"], s["outcome"], s["pain_before"]) for s in body["sessions"]] == [
        ("newer", "pain", 5),
        ("older", "completed", 5),
    ]
    assert (body["sessions"][0]["hr_min"], body["sessions"][0]["hr_max"]) == (60, 66)


def test_sessions_page_with_limit_and_offset(browser_client: FlaskClient, history: Engine) -> None:
    body = browser_client.get("/api/sessions?limit=1&offset=1").get_json()

    assert [s["id"] for s in body["sessions"]] == ["older"]


def test_a_session_has_its_summary_steps_cues_and_link_events(
    browser_client: FlaskClient, history: Engine
) -> None:
    body = browser_client.get("/api/sessions/older").get_json()

    assert (body["id"], body["title"], body["outcome"]) == ("older", "Bedtime unwind", "completed")
    assert [s["name"] for s in body["steps"]] == ["Knee to chest", "Pelvic tilt"]
    assert [(c["cue"], c["planned_s"], c["actual_s"]) for c in body["cues"]] == [
        ("hold-end", 30.0, 30.2)
    ]
    assert [(e["state"], e["detail"]) for e in body["link_events"]] == [("lost", "range")]


def test_samples_come_in_time_order(browser_client: FlaskClient, history: Engine) -> None:
    body = browser_client.get("/api/sessions/older/samples").get_json()

    assert body["session_id"] == "older"
    assert len(body["samples"]) == 60
    assert body["samples"][0] == {"t": T0, "hr": 60, "contact": True, "rr_ms": []}


def test_csv_is_a_download_with_a_safe_file_name(
    browser_client: FlaskClient, history: Engine
) -> None:
    response = browser_client.get("/api/sessions/older.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="session-older.csv"'
    text = response.get_data(as_text=True).splitlines()
    figures = [line for line in text if line.startswith("# ")]
    lines = [line for line in text if not line.startswith("# ")]
    assert any(line.startswith("# hr_mean: ") for line in figures)
    assert lines[0] == "time_utc,t_unix,hr,contact,energy_kj,rr_ms,gap,gap_s"
    assert len(lines) == 61


# --- settings ----------------------------------------------------------------------------


def test_settings_start_at_the_conservative_defaults(browser_client: FlaskClient) -> None:
    assert browser_client.get("/api/settings").get_json() == {
        "pattern": None,
        "hr_ceiling": 120,
        "units": {"energy": "kJ", "clock": "24h"},
        "wake_time": "07:00",
    }


def test_settings_changes_are_stored_where_the_service_reads_them(
    browser_client: FlaskClient, engine: Engine
) -> None:
    response = browser_client.put(
        "/api/settings", json={"pattern": {"inhale_s": 5, "exhale_s": 7}, "hr_ceiling": 110}
    )

    pattern = {"inhale_s": 5.0, "hold_in_s": 0.0, "exhale_s": 7.0, "hold_out_s": 0.0}
    assert response.get_json() == {
        "pattern": pattern,
        "hr_ceiling": 110,
        "units": {"energy": "kJ", "clock": "24h"},
        "wake_time": "07:00",
    }
    assert queries.get_setting(engine, "preferences") == {"pattern": pattern, "hr_ceiling": 110}


def test_a_null_pattern_goes_back_to_each_routines_own(
    browser_client: FlaskClient, engine: Engine
) -> None:
    browser_client.put("/api/settings", json={"pattern": {"inhale_s": 5, "exhale_s": 7}})

    response = browser_client.put("/api/settings", json={"pattern": None})

    assert response.get_json()["pattern"] is None
    assert queries.get_setting(engine, "preferences") == {}


def test_a_rejected_settings_change_changes_nothing(
    browser_client: FlaskClient, engine: Engine
) -> None:
    response = browser_client.put("/api/settings", json={"hr_ceiling": 100, "units": {"clock": 1}})

    assert response.status_code == 422
    assert queries.get_setting(engine, "preferences") is None


def test_a_breath_too_fast_for_the_pacer_is_refused(browser_client: FlaskClient) -> None:
    response = browser_client.put("/api/settings", json={"pattern": {"inhale_s": 2, "exhale_s": 2}})

    assert response.status_code == 422
    assert response.get_json()["field"] == "pattern"


def test_the_wake_time_is_stored_where_the_reminder_service_reads_it_and_passed_on(
    browser_client: FlaskClient, core: FakeCore, engine: Engine
) -> None:
    response = browser_client.put("/api/settings", json={"wake_time": "6:30"})

    assert response.get_json()["wake_time"] == "06:30"
    assert queries.get_setting(engine, "wake_time") == "06:30"
    assert queries.get_setting(engine, "preferences") is None
    assert browser_client.get("/api/settings").get_json()["wake_time"] == "06:30"
    assert core.commands == ["reminders_changed"]


def test_settings_without_the_wake_time_leave_the_reminders_alone(
    browser_client: FlaskClient, core: FakeCore
) -> None:
    browser_client.put("/api/settings", json={"hr_ceiling": 100})

    assert core.commands == []


def test_a_bad_wake_time_is_422_and_nothing_is_stored(
    browser_client: FlaskClient, core: FakeCore, engine: Engine
) -> None:
    response = browser_client.put("/api/settings", json={"hr_ceiling": 100, "wake_time": "7am"})

    assert (response.status_code, response.get_json()["field"]) == (422, "wake_time")
    assert queries.get_setting(engine, "preferences") is None
    assert queries.get_setting(engine, "wake_time") is None
    assert core.commands == []


def test_settings_answers_match_their_schema(browser_client: FlaskClient) -> None:
    changed = browser_client.put(
        "/api/settings", json={"pattern": {"inhale_s": 5}, "wake_time": "06:15"}
    ).get_json()

    assert schema_problems("Settings", changed) == []
    assert schema_problems("Settings", browser_client.get("/api/settings").get_json()) == []


# --- devices -----------------------------------------------------------------------------


def test_devices_seen_by_the_recorder_are_listed(
    browser_client: FlaskClient, history: Engine
) -> None:
    devices = browser_client.get("/api/devices").get_json()["devices"]

    assert [d["address"] for d in devices] == [BAND]


def test_scan_asks_the_core_with_the_timeout(browser_client: FlaskClient, core: FakeCore) -> None:
    response = browser_client.post("/api/devices/scan", json={"timeout_s": 3})

    assert response.get_json() == {
        "devices": [
            {
                "address": BAND,
                "name": "Virtual band",
                "rssi": -50,
                "profile": "generic",
                "connected": False,
            }
        ]
    }
    assert core.scans == [3.0]


def test_scan_without_a_body_uses_the_default_timeout(
    browser_client: FlaskClient, core: FakeCore, settings: WebSettings
) -> None:
    browser_client.post("/api/devices/scan")

    assert core.scans == [settings.scan_timeout_s]


@pytest.mark.parametrize("address", [BAND, "12345678-1234-1234-1234-1234567890AB", None])
def test_choosing_a_device_tells_the_core(
    browser_client: FlaskClient, core: FakeCore, address: str | None
) -> None:
    response = browser_client.post("/api/devices/choose", json={"address": address})

    assert response.get_json() == {"address": address}
    assert core.chosen == [address]


def test_forgetting_a_device_removes_it(browser_client: FlaskClient, history: Engine) -> None:
    response = browser_client.delete(f"/api/devices/{BAND}")

    assert response.get_json() == {"forgotten": BAND}
    assert browser_client.get("/api/devices").get_json() == {"devices": []}
    assert browser_client.delete(f"/api/devices/{BAND}").status_code == 404


def test_json_answers_are_not_cached_and_carry_the_security_headers(
    browser_client: FlaskClient,
) -> None:
    headers = browser_client.get("/api/status").headers

    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_the_app_factory_keeps_nothing_global(core: FakeCore, engine: Engine) -> None:
    first = create_app(core, store_engine=engine, settings=WebSettings())
    second = create_app(FakeCore(), store_engine=None, settings=WebSettings(max_streams=3))

    assert first.extensions["companion"] is not second.extensions["companion"]
    assert isinstance(first, Flask) and first is not second
