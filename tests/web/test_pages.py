"""The pages: each renders with the safety line, history and session detail show the log."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from companion.events import HeartRateSample, SessionState
from companion.heart.gaps import Gap, GapReason
from companion.reminders.model import WEEKDAYS
from companion.store.queries import SessionDetail, SessionSummary
from companion.store.resonance import save_assessment
from companion.store.summary_facts import summary_for
from tests.web.conftest import (
    RESONANCE_ANSWER,
    RESONANCE_NO_ANSWER,
    T0,
    FakeCore,
    record,
    session_events,
)
from tests.web.summary_history import BERLIN, DAY, EVENING, MORNING, NOW, events_of
from web import WebSettings, create_app
from web import store_reads as web_store_reads
from web.pages import beats_summary, duration, hr_summary, minutes_seconds, wall_time
from web.summary_view import chart_data

SAFETY = "Stop at once if you feel sharp pain"


PAGES = ["/", "/summary", "/history", "/settings"]


@pytest.mark.parametrize("path", PAGES)
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


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_nav_the_banner_area_and_no_inline_script(
    client: FlaskClient, path: str
) -> None:
    page = client.get(path).get_data(as_text=True)

    nav = re.findall(r'<nav aria-label="Pages">(.*?)</nav>', page, re.S)[0]
    assert re.findall(r">(\w+)</a>", nav) == ["Now", "Summary", "History", "Settings"]
    assert '<div id="banners"' in page and "/static/banners.js" in page
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []


def test_the_login_page_listens_for_no_banners(core: FakeCore) -> None:
    app = create_app(core, store_engine=None, settings=WebSettings(token="secret-token"))

    page = app.test_client().get("/login").get_data(as_text=True)

    assert '<div id="banners"' not in page


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

    rows = re.findall(r"<tr>\s*<td data-label=\"When\"><a href=\"/sessions/(\w+)\">", page)
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


def text_of(fragment: str) -> str:
    """What a reader sees of an HTML fragment: tags gone, entities read, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


@pytest.fixture
def summary_page(core: FakeCore, engine: Engine) -> FlaskClient:
    record(engine, events_of([EVENING, MORNING]))
    app = create_app(
        core,
        store_engine=engine,
        settings=WebSettings(timezone="Europe/Berlin"),
        clock=NOW.timestamp,
    )
    return app.test_client()


def test_the_summary_page_shows_the_night_and_morning_in_words(summary_page: FlaskClient) -> None:
    page = summary_page.get("/summary").get_data(as_text=True)

    assert '<h1 id="summary-day">Tuesday 12 May 2026</h1>' in page
    lines = re.findall(r'<li class="session-line">(.*?)</li>', page, re.S)
    words = [text_of(line) for line in lines]
    assert words == [
        "Taster 21:30\N{EN DASH}21:32 completed 2 of 2 exercises pain 5 → 3",
        "Taster 07:45\N{EN DASH}07:47 stopped early 1 of 2 exercises pain 4 → —",
    ]
    figures = re.findall(r'<p class="figure">(.*?)</p>', page, re.S)
    assert [text_of(f) for f in figures] == [
        "5 → 3",
        "56 ms RMSSD",
        "3 of 4 done",
        "61 bpm on average",
        "100 %",
        "2 days",
    ]
    assert "lowest 56, highest 68, resting 59" in page
    assert "A trend needs three days with ratings" in page


def test_the_summary_page_carries_its_chart_data_and_links_to_the_day_before(
    summary_page: FlaskClient, engine: Engine
) -> None:
    page = summary_page.get("/summary/2026-05-12").get_data(as_text=True)

    carried = json.loads(html.unescape(re.findall(r"data-chart='([^']*)'", page)[0]))
    summary = summary_for(engine, DAY, BERLIN, NOW, breathing=True)
    assert carried == chart_data(summary)
    assert 'href="/summary/2026-05-11"' in page
    assert 'rel="next"' not in page  # today has no tomorrow yet
    assert 'href="/sessions/evening"' in page and 'href="/sessions/morning"' in page


def test_a_summary_without_routines_says_so_once(summary_page: FlaskClient) -> None:
    page = summary_page.get("/summary/2026-04-01").get_data(as_text=True)

    assert "No routine since yesterday evening." in page
    assert "lowest" not in page and 'class="trend"' not in page


def test_an_earlier_summary_links_both_ways(summary_page: FlaskClient) -> None:
    page = summary_page.get("/summary/2026-05-11").get_data(as_text=True)

    assert 'href="/summary/2026-05-10"' in page and 'href="/summary/2026-05-12"' in page
    assert "Monday 11 May 2026" in page


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/summary/2026-02-30", 400, "is not a date"),
        ("/summary/yesterday", 400, "is not a date"),
        ("/summary/2026-05-13", 404, "still to come"),
    ],
)
def test_a_summary_for_no_day_is_an_html_error_page(
    summary_page: FlaskClient, path: str, status: int, says: str
) -> None:
    response = summary_page.get(path)

    assert (response.status_code, response.mimetype) == (status, "text/html")
    assert says in response.get_data(as_text=True)


def test_without_a_store_the_summary_page_says_so(core: FakeCore) -> None:
    app = create_app(core, store_engine=None, settings=WebSettings())

    response = app.test_client().get("/summary")

    assert response.status_code == 503
    assert "There is no session log on this companion." in response.get_data(as_text=True)


def test_the_settings_page_has_reminders_and_the_wake_time(client: FlaskClient) -> None:
    page = client.get("/settings").get_data(as_text=True)

    assert '<div id="reminders"' in page and '<form id="add-reminder"' in page
    assert re.findall(r'name="days" value="(\w+)"', page) == list(WEEKDAYS)
    # Plain HH:MM fields: a browser's time picker shows AM/PM by its own locale, whatever
    # clock the person chose.
    assert re.findall(r'<input type="(\w+)" name="(at|wake_time)"', page) == [
        ("text", "at"),
        ("text", "wake_time"),
    ]
    assert "24-hour, HH:MM" in page


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


def history_line(**figures: Any) -> SessionSummary:
    """A History line with no heart figures but those given."""
    plain = SessionSummary(
        id="a-session",
        routine="evening-release",
        title="Evening release",
        level=1,
        started_at=T0,
        ended_at=T0 + 600,
        duration_s=600.0,
        outcome=SessionState.COMPLETED,
        pain_before=None,
        pain_after=None,
        hr_min=None,
        hr_mean=None,
        hr_max=None,
        samples=0,
        steps_planned=4,
        steps_started=4,
    )
    return dataclasses.replace(plain, **figures)


def test_heart_rate_summary_without_samples_is_a_dash() -> None:
    assert hr_summary(history_line(hr_min=None, hr_mean=None, hr_max=None)) == "—"


HEART_FIGURES: dict[str, Any] = {
    "rmssd_ms": 41.6,
    "beats_kept": 1204,
    "beats_rejected": 12,
    "breathing_rate_bpm": 6.04,
}
GAPS = (Gap(start_s=31.0, end_s=52.0, reason=GapReason.LINK_LOST),)


def test_session_page_shows_heart_figures_and_gaps_when_the_store_has_them(
    client: FlaskClient, history: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = web_store_reads.session_detail

    def with_heart_figures(engine: Engine, sid: str) -> SessionDetail | None:
        found = real(engine, sid)
        assert found is not None
        return dataclasses.replace(found, **HEART_FIGURES, gaps=GAPS)

    monkeypatch.setattr(web_store_reads, "session_detail", with_heart_figures)

    page = text_of(client.get("/sessions/older").get_data(as_text=True))

    assert "Heart-rate variability 42 ms RMSSD" in page
    assert "Beats 1,204 kept, 12 set aside as artefacts" in page
    assert "Breathing 6.0 breaths a minute" in page
    assert "0:31 to 0:52 (21 s): the band's link was lost" in page


def test_session_page_without_heart_figures_shows_none_of_their_labels(
    client: FlaskClient, history: Engine
) -> None:
    page = text_of(client.get("/sessions/older").get_data(as_text=True))

    assert "RMSSD" not in page and "Beats" not in page and "Gaps in the heart rate" not in page


def test_history_has_rmssd_and_breathing_columns_only_when_sessions_carry_them(
    client: FlaskClient, history: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "RMSSD" not in client.get("/history").get_data(as_text=True)
    real = web_store_reads.session_rows
    monkeypatch.setattr(
        web_store_reads,
        "session_rows",
        lambda engine, limit, offset: [
            dataclasses.replace(
                row,
                rmssd_ms=38.4 if row.id == "newer" else None,
                breathing_rate_bpm=6.04 if row.id == "older" else None,
            )
            for row in real(engine, limit, offset)
        ],
    )

    page = client.get("/history").get_data(as_text=True)

    assert '<th scope="col">RMSSD, ms</th><th scope="col">Breaths a minute</th>' in page
    assert re.findall(r"<td data-label=\"(?:RMSSD, ms|Breaths a minute)\">([^<]*)</td>", page) == [
        "38",
        "—",
        "—",
        "6.0",
    ]


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (history_line(beats_kept=90, beats_rejected=0), "90 kept"),
        (
            history_line(beats_kept=1500, beats_rejected=3),
            "1,500 kept, 3 set aside as artefacts",
        ),
        (history_line(), "—"),
    ],
)
def test_beat_counts_read_as_words(row: SessionSummary, text: str) -> None:
    assert beats_summary(row) == text


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (61.9, "1:01"), (-1, "—")])
def test_offsets_read_as_minutes_and_seconds(seconds: float, text: str) -> None:
    assert minutes_seconds(seconds) == text


def test_session_page_lists_the_gaps_the_store_finds(client: FlaskClient, engine: Engine) -> None:
    """No samples from 31 s to 52 s while the link was lost (at 31 s)."""
    start = T0 + 2 * 86_400
    record(
        engine,
        [
            e
            for e in session_events("gappy", start, SessionState.COMPLETED)
            if not (isinstance(e, HeartRateSample) and 31 <= e.wall - start < 52)
        ],
    )

    page = text_of(client.get("/sessions/gappy").get_data(as_text=True))

    assert "Gaps in the heart rate 0:30 to 0:52 (22 s): the band's link was lost" in page


def resonance_lines(page: str) -> dict[str, str]:
    """The line under each session that had a resonance check, as read, by the session's id."""
    found = re.findall(r'<tr class="finding" data-session="(\w+)">(.*?)</tr>', page, re.S)
    # text_of puts a space for every tag; none is seen before punctuation.
    return {sid: re.sub(r" ([,.])", r"\1", text_of(line)) for sid, line in found}


def test_history_shows_when_a_resonance_check_ran_what_it_found_and_where_to_adopt_it(
    client: FlaskClient, history: Engine
) -> None:
    assert "Resonance" not in client.get("/history").get_data(as_text=True)
    answered = save_assessment(history, "older", T0 + 60, RESONANCE_ANSWER)
    save_assessment(history, "newer", T0 + 86_460, RESONANCE_NO_ANSWER)

    page = client.get("/history").get_data(as_text=True)

    assert resonance_lines(page) == {
        "newer": "Resonance check: No clear answer, try again: too few paces had clean enough "
        "heartbeats (check the band sits snugly and stays in range).",
        "older": "Resonance check: 5.5 breaths a minute, a guide for practice, not a "
        "measurement. Adopt it in Settings",
    }
    # Each line sits right under its session's row, which says when it ran.
    rows = re.findall(
        r'<tr( class="finding")?[^>]*>\s*<td[^>]*>(?:<a href="/sessions/(\w+)">([^<]*))?', page
    )
    assert [(bool(finding), sid, when) for finding, sid, when in rows] == [
        (False, "newer", html.escape(wall_time(T0 + 86_400, short=True))),
        (True, "", ""),
        (False, "older", html.escape(wall_time(T0, short=True))),
        (True, "", ""),
    ]
    links = re.findall(r'<a href="([^"]+)">Adopt it in Settings</a>', page)
    assert links == [f"/settings?assessment={answered}#resonance"]


def test_history_shows_the_newest_assessment_of_a_session_and_nothing_for_the_others(
    client: FlaskClient, history: Engine
) -> None:
    save_assessment(history, "older", T0 + 60, RESONANCE_NO_ANSWER)
    save_assessment(history, "older", T0 + 61, RESONANCE_ANSWER)

    lines = resonance_lines(client.get("/history").get_data(as_text=True))

    assert list(lines) == ["older"]
    assert "5.5 breaths a minute" in lines["older"]
