"""Accessibility checked by a machine: axe-core (pinned in web/package.json) on every page, by
day and by night light, on a tablet on its side and a phone upright, must find no WCAG 2.1 A
or AA violation, contrast included. And a routine can be run with the keyboard alone."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from companion.events import SessionState
from tests.web.browser_support import (
    BERLIN_SETTINGS,
    MODES,
    SCREENS,
    WAIT_MS,
    axe_violations,
    fresh_page,
    serving,
    shoot,
)
from tests.web.conftest import (
    T0,
    FakeCore,
    cue_event,
    record,
    session_events,
)
from tests.web.summary_history import NOW, events_of, week_of_evenings
from tests.web.test_bedside_screens import start_holding
from tests.web.test_history_browser import add_assessments
from web import RunningServer, WebSettings

pytestmark = pytest.mark.browser

TOKEN = "a-long-enough-test-token-for-the-login-page"


@pytest.fixture
def settings() -> WebSettings:
    return BERLIN_SETTINGS


@pytest.fixture
def stored_history(engine: Engine) -> Callable[[], float]:
    """A week of evening routines (for the summary and History), three with a resonance
    check (answered or not: History's lines under them, Settings' section), and one with a
    pain stop; seen on the morning after."""
    record(engine, events_of(week_of_evenings()))
    add_assessments(engine)
    record(engine, session_events("older", T0, SessionState.PAIN))
    return NOW.timestamp


def check_everywhere(
    browser: Browser, url: str, name: str, ready: str, expected_errors: tuple[str, ...] = ()
) -> None:
    """axe on the page at both sizes and in both modes; a screenshot of each."""
    found = {}
    for screen, size in SCREENS.items():
        for mode in MODES:
            night = mode == "night"
            with fresh_page(browser, size, night=night, expected_errors=expected_errors) as page:
                page.goto(url)
                page.wait_for_selector(ready)
                shoot(page, f"{name}-{screen}-{mode}", folder="a11y", full_page=True)
                found[(screen, mode)] = axe_violations(page)
    assert found == {key: [] for key in found}


@pytest.mark.parametrize(
    ("path", "name", "ready", "expected_errors"),
    [
        ("/", "now", "#routines [role=radio]", ()),
        ("/history", "history", "table.history tr.finding a", ()),
        ("/sessions/older", "session", "#chart canvas", ()),
        ("/settings", "settings", "#devices .device", ()),
        ("/settings?assessment=1#resonance", "settings-resonance", "#resonance-adopt", ()),
        ("/summary", "summary", "#pain-chart svg", ()),
        # The error page comes with its 404, which the browser logs.
        ("/sessions/no-such-session", "error", "h1", ("status of 404",)),
    ],
)
def test_no_wcag_violations_on_any_page(
    browser: Browser,
    server: RunningServer,
    path: str,
    name: str,
    ready: str,
    expected_errors: tuple[str, ...],
) -> None:
    check_everywhere(browser, server.url + path, name, ready, expected_errors)


def test_no_wcag_violations_on_the_login_page(browser: Browser, core: FakeCore) -> None:
    with serving(core, None, WebSettings(token=TOKEN)) as running:
        check_everywhere(browser, running.url + "/login", "login", "#token")


def test_no_wcag_violations_during_and_after_a_routine(
    browser: Browser, server: RunningServer, core: FakeCore
) -> None:
    found = {}
    for screen, size in SCREENS.items():
        for mode in MODES:
            key = f"{screen}-{mode}"
            with fresh_page(browser, size, night=mode == "night") as page:
                page.goto(server.url + "/")
                run_id = start_holding(page, core, pain=3, hr=70)
                core.publish(cue_event(run_id, "breath-in", 0.0, duration_s=4.0))
                expect(page.locator("#phase")).to_have_text("Breathe in")
                found[f"running {key}"] = axe_violations(page)
                # No heart rate for 3 s: the greyed, labelled value must stay readable.
                expect(page.locator("#hr-age")).to_be_visible()
                found[f"stale heart rate {key}"] = axe_violations(page)
                page.click("#pain")
                expect(page.locator("#after")).to_be_visible()
                found[f"after {key}"] = axe_violations(page)
                core.session_state = "idle"
    assert found == {key: [] for key in found}


def wait_for_stream(core: FakeCore) -> None:
    for _ in range(WAIT_MS // 50):
        if len(core.feed) >= 1:
            return
        threading.Event().wait(0.05)
    raise AssertionError("the page's live stream did not open")


def press_until_focused(page: Page, key: str, selector: str, most: int = 30) -> int:
    """Press ``key`` until ``selector`` has the focus; how many presses it took."""
    for count in range(1, most + 1):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return count
    raise AssertionError(f"{selector} never got the focus in {most} presses of {key}")


def test_a_routine_with_the_keyboard_alone(
    browser: Browser, server: RunningServer, core: FakeCore
) -> None:
    """Tab into the routines, arrow to the next one, Tab to the pain scale (one stop for all
    eleven), arrow to 3, Tab to Start, Enter; then Tab to Pain and Enter; then rate with the
    arrows. No mouse."""
    with fresh_page(browser, SCREENS["tablet"]) as page:
        page.goto(server.url + "/")
        expect(page.locator("#routines [role=radio]")).to_have_count(2)
        wait_for_stream(core)

        press_until_focused(page, "Tab", "#routines [role=radio]")
        page.keyboard.press("ArrowRight")
        expect(page.locator("#routines [aria-checked=true]")).to_have_attribute(
            "data-value", "morning"
        )
        expect(page.locator("#routines [data-value=morning]")).to_be_focused()

        # The whole scale is one Tab stop: the next Tab leaves it for Start.
        assert press_until_focused(page, "Tab", "#pain-before [role=radio]") == 1
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        expect(page.locator("#pain-before [aria-checked=true]")).to_have_attribute(
            "data-value", "3"
        )
        assert press_until_focused(page, "Tab", "#start") == 1
        page.keyboard.press("Enter")
        expect(page.locator("#running")).to_be_visible()
        assert core.started == [("morning", 3)]

        press_until_focused(page, "Tab", "#pain")
        shoot(page, "keyboard-pain-focused", folder="a11y")
        page.keyboard.press("Enter")
        expect(page.locator("#after")).to_be_visible()
        assert core.commands == ["pain"]

        # The after-rating has the focus at once; arrows pick, the last pick is saved.
        expect(page.locator("#pain-after [data-value='0']")).to_be_focused()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(page.locator("#after-saved")).to_be_visible()
        assert core.ratings == [2]

        # Done leads back to the start, with the focus on the routine picker.
        assert press_until_focused(page, "Tab", "#after-done") == 1
        page.keyboard.press("Enter")
        expect(page.locator("#idle")).to_be_visible()
        expect(page.locator("#routines [aria-checked=true]")).to_be_focused()
