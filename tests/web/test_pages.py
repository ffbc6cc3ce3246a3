"""The pages: each renders with the safety line, history and session detail show the log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from companion.events import SessionState
from tests.web.conftest import T0, FakeCore, record, session_events
from web import WebSettings, create_app
from web.pages import duration, hr_summary

SAFETY = "Stop at once if you feel sharp pain"


@pytest.mark.parametrize("path", ["/", "/history", "/settings"])
def test_every_page_shows_the_safety_line_and_carries_a_csrf_token(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert SAFETY in page and "not medical advice" in page
    assert re.search(r'<meta name="csrf-token" content="[^"]{20,}">', page)


def test_the_now_page_has_the_pain_button_and_no_inline_script(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)

    assert ">Pain: stop now<" in page
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []


def test_history_without_sessions_says_so(client: FlaskClient) -> None:
    assert "No sessions yet" in client.get("/history").get_data(as_text=True)


@pytest.fixture
def history(engine: Engine) -> Engine:
    record(engine, session_events("older", T0, SessionState.COMPLETED))
    record(engine, session_events("newer", T0 + 86_400, SessionState.PAIN))
    return engine


def test_history_lists_sessions_with_outcome_length_heart_rate_and_pain(
    client: FlaskClient, history: Engine
) -> None:
    page = client.get("/history").get_data(as_text=True)

    rows = re.findall(r"<tr>\s*<td><a href=\"/sessions/(\w+)\">", page)
    assert rows == ["newer", "older"]
    assert 'data-outcome="pain"' in page and 'data-outcome="completed"' in page
    assert "1 min 00 s" in page
    assert "63 (60\N{EN DASH}66)" in page
    assert "5 → —" in page


def test_session_page_shows_cues_planned_and_actual_and_link_events(
    client: FlaskClient, history: Engine
) -> None:
    page = client.get("/sessions/older").get_data(as_text=True)

    assert "Bedtime unwind" in page
    assert re.search(
        r"<td>hold-end</td>\s*<td>30.0 s</td>\s*<td>30.2 s</td>\s*<td>200 ms</td>", page
    )
    assert "lost: range" in page
    assert 'href="/api/sessions/older.csv"' in page


def test_an_unknown_session_page_is_a_404_page(client: FlaskClient) -> None:
    response = client.get("/sessions/nobody")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "There is no session nobody." in response.get_data(as_text=True)


def test_the_chart_library_is_served_from_node_modules(client: FlaskClient) -> None:
    with client.get("/static/vendor/uPlot.iife.min.js") as response:
        assert response.status_code == 200
        assert b"uPlot" in response.get_data()


@pytest.mark.parametrize(
    "name", ["package.json", "..%2Fpackage.json", "uplot/dist/uPlot.esm.js", "uPlot.d.ts"]
)
def test_only_allow_listed_vendor_files_are_served(client: FlaskClient, name: str) -> None:
    assert client.get(f"/static/vendor/{name}").status_code == 404


def test_a_missing_vendor_install_is_a_404_saying_what_to_run(
    core: FakeCore, tmp_path: Path
) -> None:
    app: Flask = create_app(
        core, store_engine=None, settings=WebSettings(), test_config={"VENDOR_DIR": tmp_path}
    )

    response = app.test_client().get("/static/vendor/uPlot.min.css")

    assert response.status_code == 404
    assert "make web-deps" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59.4, "59 s"), (60, "1 min 00 s"), (754, "12 min 34 s"), (None, "—")],
)
def test_durations_read_as_minutes_and_seconds(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_heart_rate_summary_without_samples_is_a_dash() -> None:
    assert hr_summary({"hr_min": None, "hr_mean": None, "hr_max": None}) == "—"
