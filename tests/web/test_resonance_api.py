"""/api/resonance: assessments listed newest first; adopting one's pace sets the saved
breathing pattern that the next routine (and its plan) uses."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from companion.routines.catalog import load_routines
from companion.routines.pacer import BreathPattern
from companion.routines.plan import PlanSettings, compile_plan
from companion.routines.progression import ProgressionLevel
from companion.session.store_loaders import core_settings
from companion.store.resonance import save_assessment
from tests.web.conftest import RESONANCE_ANSWER, RESONANCE_NO_ANSWER, schema_problems

ANSWERED = RESONANCE_ANSWER
UNANSWERED: dict[str, Any] = {
    **RESONANCE_NO_ANSWER,
    "verdict": "no_clear_peak",
    "message": "No clear answer, try again: no pace stood out from the others.",
}


def test_assessments_are_listed_newest_first(browser_client: FlaskClient, engine: Engine) -> None:
    older = save_assessment(engine, None, 1_000.0, ANSWERED)
    newer = save_assessment(engine, None, 2_000.0, UNANSWERED)
    response = browser_client.get("/api/resonance")
    assert response.status_code == 200
    shown = response.get_json()
    assert [a["id"] for a in shown["assessments"]] == [newer, older]
    assert schema_problems("ResonanceList", shown) == []


def test_adopting_an_answer_sets_the_pattern_the_next_bedtime_plan_uses(
    browser_client: FlaskClient, engine: Engine
) -> None:
    assessment = save_assessment(engine, None, 1_000.0, ANSWERED)
    response = browser_client.post("/api/resonance/adopt", json={"id": assessment})
    assert response.status_code == 200, response.get_json()
    adopted = response.get_json()
    assert adopted["pattern"]["inhale_s"] == 4.4 and adopted["pattern"]["exhale_s"] == 6.5
    assert schema_problems("ResonanceAdopted", adopted) == []
    settings = browser_client.get("/api/settings").get_json()
    assert settings["pattern"]["inhale_s"] == 4.4 and settings["pattern"]["exhale_s"] == 6.5
    pattern = core_settings(engine).pattern
    assert pattern == BreathPattern(inhale_s=4.4, exhale_s=6.5)
    bedtime = load_routines(None)["bedtime"]
    plan = compile_plan(bedtime, PlanSettings(pattern=pattern), ProgressionLevel(1, 4, ""))
    assert round(plan.pattern.breaths_per_minute, 1) == 5.5


def test_adopting_keeps_the_other_settings(browser_client: FlaskClient, engine: Engine) -> None:
    assert browser_client.put("/api/settings", json={"hr_ceiling": 110}).status_code == 200
    assessment = save_assessment(engine, None, 1_000.0, ANSWERED)
    assert browser_client.post("/api/resonance/adopt", json={"id": assessment}).status_code == 200
    assert browser_client.get("/api/settings").get_json()["hr_ceiling"] == 110


def test_an_assessment_without_an_answer_cannot_be_adopted(
    browser_client: FlaskClient, engine: Engine
) -> None:
    assessment = save_assessment(engine, None, 1_000.0, UNANSWERED)
    response = browser_client.post("/api/resonance/adopt", json={"id": assessment})
    assert response.status_code == 422
    assert "no clear answer" in response.get_json()["error"]
    assert browser_client.get("/api/settings").get_json()["pattern"] is None


def test_unknown_or_malformed_ids_are_refused_and_change_nothing(
    browser_client: FlaskClient,
) -> None:
    assert browser_client.post("/api/resonance/adopt", json={"id": 12345}).status_code == 404
    for body in ({"id": "1"}, {"id": 0}, {"id": True}, {}, {"id": 1, "extra": 2}):
        assert browser_client.post("/api/resonance/adopt", json=body).status_code == 422
    assert browser_client.get("/api/settings").get_json()["pattern"] is None


def test_adopting_needs_the_csrf_token(client: FlaskClient, engine: Engine) -> None:
    assessment = save_assessment(engine, None, 1_000.0, ANSWERED)
    assert client.post("/api/resonance/adopt", json={"id": assessment}).status_code in (400, 403)
