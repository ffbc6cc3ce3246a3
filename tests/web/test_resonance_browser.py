"""In Chromium: Settings shows the latest resonance assessment and adopts its pace; the
Now page shows live coherence from the stream, labelled as a guide."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from companion.heart.breathing_watch import CoherenceMeasured
from companion.store.queries import get_setting
from companion.store.resonance import save_assessment
from tests.web.browser_support import WAIT_MS, chromium, fresh_page
from tests.web.conftest import T0, FakeCore
from web import RunningServer, WebSettings, create_app, serve

pytestmark = pytest.mark.browser

ANSWERED: dict[str, Any] = {
    "verdict": "answered",
    "pace_per_min": 5.5,
    "confidence": 0.9,
    "inhale_s": 4.4,
    "exhale_s": 6.5,
    "message": "Your resonance pace: 5.5 breaths a minute, confidence 90%.",
    "paces": [],
}


@pytest.fixture
def settings() -> WebSettings:
    """What the served app runs with (the fake core's feed takes as many streams)."""
    return WebSettings(heartbeat_s=1.0, poll_s=0.05)


@pytest.fixture
def server(core: FakeCore, engine: Engine, settings: WebSettings) -> Iterator[RunningServer]:
    app = create_app(core, store_engine=engine, settings=settings)
    running = serve(app, "127.0.0.1", 0)
    yield running
    running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    with fresh_page(browser) as page:
        yield page


def test_settings_hides_the_section_until_there_is_an_assessment(
    page: Page, server: RunningServer
) -> None:
    page.goto(server.url + "/settings")
    expect(page.locator("input[name=hr_ceiling]")).to_have_value("120")
    expect(page.locator("#resonance")).to_be_hidden()


def test_settings_adopts_the_latest_answer_as_the_breathing_pattern(
    page: Page, server: RunningServer, engine: Engine
) -> None:
    save_assessment(engine, None, T0, ANSWERED)
    page.goto(server.url + "/settings")
    expect(page.locator("#resonance-latest")).to_contain_text("5.5 breaths a minute")
    button = page.locator("#resonance-adopt")
    expect(button).to_have_text("Use 5.5 a minute (in 4.4 s, out 6.5 s)")
    button.click()
    expect(page.locator("#resonance-saved")).to_contain_text("Saved", timeout=WAIT_MS)
    expect(page.locator("input[name=inhale_s]")).to_have_value("4.4")
    expect(page.locator("input[name=exhale_s]")).to_have_value("6.5")
    pattern = get_setting(engine, "preferences", {})["pattern"]
    assert (pattern["inhale_s"], pattern["exhale_s"]) == (4.4, 6.5)


def test_the_now_page_shows_live_coherence_as_a_guide(
    page: Page, server: RunningServer, core: FakeCore
) -> None:
    page.goto(server.url + "/")
    expect(page.locator("#coherence")).to_be_hidden()
    for _ in range(WAIT_MS // 50):  # the page's live stream is open before anything is sent
        if len(core.feed):
            break
        page.wait_for_timeout(50)
    assert len(core.feed) >= 1
    core.publish(
        CoherenceMeasured(
            mono=1.0, wall=T0, run_id="r", value=0.82, level="high", breathing_per_min=6.0
        )
    )
    expect(page.locator("#coherence")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#coherence-word")).to_have_text("closely")
    expect(page.locator("#coherence")).to_contain_text("a guide, not a measurement")
    assert page.locator("#coherence-meter").evaluate("m => m.value") == 82
