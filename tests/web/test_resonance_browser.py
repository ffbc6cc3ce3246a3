"""In Chromium: Settings shows the latest resonance assessment and adopts its pace; the
Now page shows live coherence from the stream, labelled as a guide."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from companion.heart.breathing_watch import CoherenceMeasured
from companion.store.queries import get_setting
from companion.store.resonance import save_assessment
from tests.web.browser_support import BROWSER_SETTINGS, WAIT_MS
from tests.web.conftest import RESONANCE_ANSWER, T0, FakeCore
from web import RunningServer, WebSettings

pytestmark = pytest.mark.browser


@pytest.fixture
def settings() -> WebSettings:
    return BROWSER_SETTINGS


def test_settings_hides_the_section_until_there_is_an_assessment(
    page: Page, server: RunningServer
) -> None:
    page.goto(server.url + "/settings")
    expect(page.locator("input[name=hr_ceiling]")).to_have_value("120")
    expect(page.locator("#resonance")).to_be_hidden()


def test_settings_adopts_the_latest_answer_as_the_breathing_pattern(
    page: Page, server: RunningServer, engine: Engine
) -> None:
    save_assessment(engine, None, T0, RESONANCE_ANSWER)
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
