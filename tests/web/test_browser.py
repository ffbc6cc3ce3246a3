"""The pages in a real Chromium, served by waitress with the fake core: start a routine,
follow the heart rate and the breathing circle, press Pain, rate afterwards. Screenshots of
every page in day and night mode go to test-artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy import Engine

from companion.events import SessionStarted, SessionState, StepStarted
from tests.web.conftest import (
    FIRST_STEP,
    PLAN,
    T0,
    FakeCore,
    cue_event,
    hr_event,
    record,
    session_events,
)
from web import RunningServer, WebSettings, create_app, serve

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT_MS = 5000


def unexpected(message: ConsoleMessage) -> bool:
    """A console error other than the 422 a refused settings value is meant to get."""
    return message.type == "error" and "status of 422" not in message.text


@pytest.fixture
def server(core: FakeCore, engine: Engine) -> Iterator[RunningServer]:
    record(engine, session_events("older", T0, SessionState.COMPLETED))
    record(engine, session_events("newer", T0 + 86_400, SessionState.PAIN))
    app = create_app(core, store_engine=engine, settings=WebSettings(heartbeat_s=1.0, poll_s=0.05))
    running = serve(app, "127.0.0.1", 0)
    yield running
    running.close()


@pytest.fixture
def page(server: RunningServer) -> Iterator[Page]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing; `make browser-deps` installs Debian's chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1024, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # CSP violations and failed loads show up as console errors.
        page.on("console", lambda m: errors.append(m.text) if unexpected(m) else None)
        page.set_default_timeout(WAIT_MS)
        yield page
        browser.close()
        assert errors == []


def circle_width(page: Page) -> float:
    return float(page.evaluate("document.getElementById('circle').getBoundingClientRect().width"))


def first_step(run_id: str) -> StepStarted:
    fields = ("name", "exercise", "side", "start_s", "end_s", "instructions", "breaths")
    return StepStarted(
        mono=0.0, wall=T0, run_id=run_id, step=0, **{k: FIRST_STEP[k] for k in fields}
    )


def wait_for_circle(page: Page, grown: bool, than: float) -> None:
    """Poll from Python: the page's CSP (rightly) forbids the eval that wait_for_function uses."""
    for _ in range(WAIT_MS // 50):
        width = circle_width(page)
        if (width > than) if grown else (width < than):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"the circle stayed at {circle_width(page)} px (wanted past {than})")


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def test_a_session_from_start_to_pain_and_after_rating(
    page: Page, server: RunningServer, core: FakeCore
) -> None:
    page.goto(server.url + "/")
    expect(page.locator("#routines [role=radio]")).to_have_count(2)
    shoot(page, "now-idle-day")
    page.click("#pain-before [data-value='4']")
    page.click("#start")
    expect(page.locator("#running")).to_be_visible()
    assert core.started == [("bedtime", 4)]

    run_id = core.run_id
    assert run_id is not None
    core.publish(
        SessionStarted(
            mono=0.0, wall=T0, run_id=run_id, routine="bedtime", level=1, total_s=600.0,
            pain_before=4, plan=PLAN,
        )
    )  # fmt: skip
    core.publish(first_step(run_id))
    core.publish(hr_event(72))
    expect(page.locator("#hr-value")).to_have_text("72")
    expect(page.locator("#step-title")).to_have_text("Knee to chest")
    expect(page.locator("#countdown")).to_contain_text("breaths")

    small = circle_width(page)
    core.publish(cue_event(run_id, "breath-in", 0.0, duration_s=0.8))
    expect(page.locator("#phase")).to_have_text("Breathe in")
    wait_for_circle(page, grown=True, than=small * 1.8)
    shoot(page, "now-running-day", full_page=False)
    big = circle_width(page)
    core.publish(cue_event(run_id, "breath-out", 0.8, duration_s=0.8))
    expect(page.locator("#phase")).to_have_text("Breathe out")
    wait_for_circle(page, grown=False, than=big * 0.6)
    page.click("#night-toggle")
    shoot(page, "now-running-night", full_page=False)

    page.click("#pain")
    expect(page.locator("#after")).to_be_visible()
    assert core.commands == ["pain"]
    expect(page.locator("#after-outcome")).to_contain_text("pain")
    page.click("#pain-after [data-value='2']")
    expect(page.locator("#after-saved")).to_be_visible()
    assert core.ratings == [2]
    shoot(page, "now-after-night")
    page.click("#night-toggle")
    shoot(page, "now-after-day")


@pytest.mark.parametrize(
    ("path", "name", "ready"),
    [
        ("/history", "history", "table.history"),
        ("/sessions/older", "session", "#chart canvas"),
        ("/settings", "settings", "#devices .device"),
    ],
)
def test_pages_render_in_day_and_night(
    page: Page, server: RunningServer, path: str, name: str, ready: str
) -> None:
    page.goto(server.url + path)
    page.wait_for_selector(ready)
    shoot(page, f"{name}-day")

    page.click("#night-toggle")
    page.reload()
    page.wait_for_selector(ready)

    assert page.evaluate("document.documentElement.classList.contains('night')")
    shoot(page, f"{name}-night")


def test_settings_are_saved_and_a_bad_value_is_explained(page: Page, server: RunningServer) -> None:
    page.goto(server.url + "/settings")
    expect(page.locator("input[name=hr_ceiling]")).to_have_value("120")
    page.fill("input[name=hr_ceiling]", "300")
    page.click("#prefs button[type=submit]")
    expect(page.locator("#problem")).to_contain_text("hr_ceiling")

    page.fill("input[name=hr_ceiling]", "110")
    page.click("#prefs button[type=submit]")

    expect(page.locator("#prefs-saved")).to_be_visible()
    page.reload()
    expect(page.locator("input[name=hr_ceiling]")).to_have_value("110")


def test_a_phone_sized_screen_keeps_the_pain_button_in_view(
    page: Page, server: RunningServer, core: FakeCore
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/")
    page.click("#pain-before [data-value='3']")
    page.click("#start")
    expect(page.locator("#pain")).to_be_in_viewport()
    shoot(page, "now-running-phone", full_page=False)
