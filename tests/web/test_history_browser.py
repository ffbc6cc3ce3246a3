"""In Chromium: History lists resonance checks among the sessions, on a tablet on its side and
a phone upright, by day and by night light: what each found is wholly on screen (nothing cut
off, nothing to scroll sideways), and "Adopt it in Settings" leads to that very assessment,
which Settings then saves as the breathing pattern."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from companion.events import SessionState
from companion.store.queries import get_setting
from companion.store.resonance import save_assessment
from tests.web.browser_support import BERLIN_SETTINGS, MODES, SCREENS, WAIT_MS, fresh_page, shoot
from tests.web.conftest import (
    RESONANCE_ANSWER,
    RESONANCE_NO_ANSWER,
    T0,
    record,
    session_events,
)
from tests.web.summary_history import NOW, events_of, week_of_evenings
from web import RunningServer, WebSettings

pytestmark = pytest.mark.browser

# The one adopted in the test: older than another answer, so Settings must not offer the latest.
LAST_WEEK = RESONANCE_ANSWER
LATER: dict[str, Any] = {
    **LAST_WEEK,
    "pace_per_min": 6.0,
    "inhale_s": 4.0,
    "exhale_s": 6.0,
    "message": "Your resonance pace: 6 breaths a minute, confidence 80%.",
}
NO_ANSWER = RESONANCE_NO_ANSWER


def store_assessments(engine: Engine) -> int:
    """A week of sessions, three with a resonance assessment; the id of last week's answer."""
    record(engine, events_of(week_of_evenings()))
    record(engine, session_events("older", T0, SessionState.COMPLETED))
    return add_assessments(engine)


def add_assessments(engine: Engine) -> int:
    """Resonance assessments for three of ``week_of_evenings``; the id of the oldest answer."""
    adopted = save_assessment(engine, "evening-6", NOW.timestamp() - 6 * 86_400, LAST_WEEK)
    save_assessment(engine, "evening-4", NOW.timestamp() - 4 * 86_400, NO_ANSWER)
    save_assessment(engine, "evening-3", NOW.timestamp() - 3 * 86_400, LATER)
    return adopted


@pytest.fixture
def adopted(engine: Engine) -> int:
    return store_assessments(engine)


@pytest.fixture
def stored_history(adopted: int) -> Callable[[], float]:
    """Every test here starts from that history, seen on the morning after."""
    return NOW.timestamp


@pytest.fixture
def settings() -> WebSettings:
    return BERLIN_SETTINGS


def overflow(page: Page, selector: str) -> list[str]:
    """The elements of ``selector`` whose content is wider than they are (cut off or spilling
    over their neighbours), or that reach past the screen's sides."""
    found: list[str] = page.evaluate(
        "(s) => [...document.querySelectorAll(s)].filter((n) => {"
        " const r = n.getBoundingClientRect();"
        " return n.scrollWidth > n.clientWidth + 1 || r.left < 0"
        " || r.right > document.documentElement.clientWidth + 1;"
        " }).map((n) => n.textContent.trim())",
        selector,
    )
    return found


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_what_each_resonance_check_found_fits_the_screen(
    browser: Browser, server: RunningServer, screen: str, mode: str
) -> None:
    with fresh_page(browser, SCREENS[screen], night=mode == "night") as page:
        page.goto(server.url + "/history")
        lines = page.locator("table.history tr.finding")
        expect(lines.filter(has_text="5.5 breaths a minute")).to_have_count(1)
        expect(lines.filter(has_text="No clear answer")).to_have_count(1)
        expect(lines).to_have_count(3)
        shoot(page, f"history-resonance-{screen}-{mode}", folder="screens", full_page=True)

        assert overflow(page, "table.history tbody td, .table-wrap, main") == []
        assert not page.evaluate(
            "document.scrollingElement.scrollWidth > document.documentElement.clientWidth + 1"
        ), "the page scrolls sideways"
        for line in lines.all():
            line.scroll_into_view_if_needed()
            expect(line).to_be_in_viewport(ratio=1.0)


def test_adopt_it_in_settings_offers_that_assessment_and_saves_its_pace(
    browser: Browser, server: RunningServer, engine: Engine, adopted: int
) -> None:
    with fresh_page(browser, SCREENS["phone"]) as page:
        page.goto(server.url + "/history")
        row = page.locator("table.history tr.finding", has_text="5.5 breaths a minute")
        row.get_by_role("link", name="Adopt it in Settings").click()

        page.wait_for_url(f"{server.url}/settings?assessment={adopted}#resonance")
        button = page.locator("#resonance-adopt")
        expect(button).to_have_text("Use 5.5 a minute (in 4.4 s, out 6.5 s)")
        expect(button).to_be_in_viewport()
        expect(page.locator("#resonance-history")).to_contain_text("6 a minute")
        button.click()
        expect(page.locator("#resonance-saved")).to_contain_text("Saved", timeout=WAIT_MS)

    pattern = get_setting(engine, "preferences", {})["pattern"]
    assert (pattern["inhale_s"], pattern["exhale_s"]) == (4.4, 6.5)


def test_settings_without_a_chosen_assessment_offers_the_latest(
    browser: Browser, server: RunningServer
) -> None:
    with fresh_page(browser) as page:
        page.goto(server.url + "/settings")
        expect(page.locator("#resonance-adopt")).to_have_text("Use 6 a minute (in 4 s, out 6 s)")
