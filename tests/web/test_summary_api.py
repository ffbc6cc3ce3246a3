"""/api/summary: the morning summary of a day read from a store the recorder wrote, in
the app's time zone, and refusals for days that are not days (or not yet)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from companion.events import SessionState
from companion.store.summary_facts import summary_for
from tests.web.conftest import FakeCore, record, schema_problems
from tests.web.summary_history import (
    BERLIN,
    DAY,
    EVENING,
    MORNING,
    NOW,
    YESTERDAY,
    Run,
    at,
    events_of,
)
from web import WebSettings, create_app

BERLIN_SETTINGS = WebSettings(timezone="Europe/Berlin")


def app_at(core: FakeCore, engine: Engine | None, settings: WebSettings = BERLIN_SETTINGS) -> Flask:
    """The app with its clock stopped at NOW (09:00 in Berlin on DAY)."""
    return create_app(core, store_engine=engine, settings=settings, clock=NOW.timestamp)


@pytest.fixture
def summary_client(core: FakeCore, engine: Engine) -> Iterator[FlaskClient]:
    record(engine, events_of([EVENING, MORNING]))
    yield app_at(core, engine).test_client()


def test_two_routines_give_the_summary_of_their_morning(
    summary_client: FlaskClient, engine: Engine
) -> None:
    response = summary_client.get(f"/api/summary/{DAY.isoformat()}")

    body = response.get_json()
    assert response.status_code == 200
    assert body == summary_for(engine, DAY, BERLIN, NOW, breathing=True).to_json()
    assert schema_problems("Summary", body) == []
    # Facts of the history above, checked by hand.
    assert [(s["id"], s["part"], s["outcome"], s["steps"]) for s in body["sessions"]] == [
        ("evening", "evening", "completed", {"planned": 2, "done": 2}),
        ("morning", "morning", "stopped", {"planned": 2, "done": 1}),
    ]
    assert body["window"] == {
        "start": "2026-05-11T18:00:00+02:00",
        "end": "2026-05-12T09:00:00+02:00",
    }
    assert body["exercises"]["holds"] == {"planned": 4, "done": 3}
    assert (body["heart_rate"]["min"], body["heart_rate"]["max"]) == (56.0, 68.0)
    assert (body["pain"]["before"], body["pain"]["after"]) == (5, 3)
    assert body["streak_days"] == 2
    assert body["breathing_score"] is not None


def test_the_summary_is_described_key_by_key(summary_client: FlaskClient) -> None:
    body = summary_client.get(f"/api/summary/{DAY.isoformat()}").get_json()
    session, trend = body["sessions"][0], body["pain"]["trend"]

    assert schema_problems("Summary", body) == []
    assert schema_problems("Summary", {**body, "weather": "fine"}) != []
    assert schema_problems("Summary", {**body, "day": "12 May 2026"}) != []
    assert schema_problems("Summary", {**body, "breathing_note": "noisy"}) != []
    assert schema_problems("Summary", {**body, "sessions": [{**session, "part": "noon"}]}) != []
    too_long = {**trend, "days": [{"day": DAY.isoformat(), "value": 1.0}] * 8}
    assert schema_problems("Summary", {**body, "pain": {**body["pain"], "trend": too_long}}) != []
    assert schema_problems("Summary", {**body, "advice": {**body["advice"], "key": "rest"}}) != []


def test_without_a_day_the_summary_is_todays(summary_client: FlaskClient) -> None:
    today = summary_client.get("/api/summary").get_json()

    assert today == summary_client.get(f"/api/summary/{DAY.isoformat()}").get_json()


def test_a_day_without_routines_still_has_its_streak_and_a_tip(
    summary_client: FlaskClient,
) -> None:
    body = summary_client.get("/api/summary/2026-05-01").get_json()

    assert (body["sessions"], body["streak_days"], body["heart_rate"]["mean"]) == ([], 0, None)
    assert body["advice"]["text"]
    assert schema_problems("Summary", body) == []


def test_days_are_counted_in_the_apps_time_zone(core: FakeCore, engine: Engine) -> None:
    # 18:30 in Berlin is 16:30 UTC: inside Berlin's summary window, before UTC's.
    record(engine, Run("early", at(YESTERDAY, 18, 30), pain_before=3).events())

    def ids(settings: WebSettings) -> list[str]:
        body = app_at(core, engine, settings).test_client().get("/api/summary/2026-05-12")
        return [s["id"] for s in body.get_json()["sessions"]]

    assert ids(BERLIN_SETTINGS) == ["early"]
    assert ids(WebSettings(timezone="UTC")) == []


def test_a_running_session_is_in_todays_summary_as_it_stands(
    core: FakeCore, engine: Engine
) -> None:
    record(engine, Run("now", at(DAY, 8, 58), outcome=SessionState.RUNNING).events()[:30])

    body = app_at(core, engine).test_client().get("/api/summary").get_json()

    assert [(s["id"], s["outcome"], s["ended_at"]) for s in body["sessions"]] == [
        ("now", "running", None)
    ]


@pytest.mark.parametrize(
    ("day", "status", "says"),
    [
        ("2026-13-01", 400, "not a date"),
        ("2026-02-30", 400, "not a date"),
        ("2026-5-1", 400, "not a date"),
        ("12-05-2026", 400, "not a date"),
        ("today", 400, "not a date"),
        ("2026-05-12T00:00", 400, "not a date"),
        ("20260512", 400, "not a date"),
        ("\N{FULLWIDTH DIGIT TWO}026-05-12", 400, "not a date"),
        ("0001-01-01", 400, "no summaries before 1970-01-08"),
        ("1970-01-07", 400, "no summaries before 1970-01-08"),
        ("2026-05-13", 404, "still to come"),
        ("9999-12-31", 404, "still to come"),
    ],
)
def test_a_day_that_is_not_a_day_is_400_and_one_still_to_come_404(
    summary_client: FlaskClient, day: str, status: int, says: str
) -> None:
    response = summary_client.get(f"/api/summary/{day}")

    body = response.get_json()
    assert (response.status_code, body["field"]) == (status, "day")
    assert says in body["error"]
    assert schema_problems("Error", body) == []


def test_the_first_day_there_is_a_summary_for_answers(summary_client: FlaskClient) -> None:
    response = summary_client.get("/api/summary/1970-01-08")

    assert response.status_code == 200
    assert response.get_json()["sessions"] == []


def test_without_a_store_the_summary_answers_503(core: FakeCore) -> None:
    response = app_at(core, None).test_client().get("/api/summary")

    assert (response.status_code, response.get_json()) == (
        503,
        {"error": "no session store is configured"},
    )


def test_an_unknown_time_zone_is_refused_when_the_settings_are_made() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        WebSettings(timezone="Mars/Olympus")
