"""The Now page as a person in bed sees it, on a tablet on its side (1024x768) and a phone
upright (390x844), by day and by night light: screenshots of every moment of a routine go to
test-artifacts/screens/, and the geometry is checked: what is needed is on screen, nothing
needs scrolling, and nothing sits under the Pain button. The phases look different from each
other, and "Let go" is not swept away by the breath that follows it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from companion.events import Notice, SessionStarted, StepStarted
from companion.routines.pacer import BreathPattern
from tests.web.browser_support import (
    BROWSER_SETTINGS,
    MODES,
    SCREENS,
    fresh_page,
    off_screen,
    overlapping,
    scrolls,
    shoot,
)
from tests.web.conftest import FIRST_STEP, PLAN, T0, FakeCore, cue_event, hr_event
from web import RunningServer, WebSettings

pytestmark = pytest.mark.browser

# As long as the longest instructions in the catalog and then some: they must scroll in
# their own box, never push the controls off screen or under the Pain button.
LONG_INSTRUCTIONS = (
    "Lie on your back with both knees bent and feet flat. Breathe out as you draw your left "
    "knee towards your chest, holding it behind the thigh, not on the kneecap. Keep your lower "
    "back relaxed on the bed and your shoulders soft. Hold gently; you should feel a mild "
    "stretch in the lower back and buttock, never sharp pain. Breathe slowly and let the "
    "knee sink a little closer with each breath out."
)
IDLE_NEEDED = ["#routines", "#pain-before", "#start"]
RUNNING_NEEDED = [
    "#hr-value",
    "#step-title",
    "#phase",
    "#countdown",
    "#pause",
    "#skip",
    "#stop",
    "#pain",
]
SAFETY_NOTICE = (
    "Your heart rate has stayed above your ceiling of 120 bpm, so the routine is paused. "
    "Rest, breathe easily, and resume when you feel ready."
)
HELD_PATTERN = {"inhale_s": 4.0, "hold_in_s": 2.0, "exhale_s": 6.0, "hold_out_s": 0.0}
# The held breath comes after the 4 s breath in.
HOLD_WAIT_MS = 10_000
# Each must be wholly visible and clear of every other.
APART = ["#phase", "#countdown", "#instructions", "#pause", "#skip", "#stop", "#pain"]


@pytest.fixture
def settings() -> WebSettings:
    return BROWSER_SETTINGS


def check_running_layout(page: Page, moment: str) -> None:
    assert off_screen(page, RUNNING_NEEDED) == [], moment
    assert overlapping(page, APART) == [], moment
    assert not scrolls(page), moment


def session_started(run_id: str) -> SessionStarted:
    plan = dataclasses.replace(PLAN, pattern=BreathPattern(**HELD_PATTERN))
    return SessionStarted(
        mono=0.0, wall=T0, run_id=run_id, routine="bedtime", level=1, total_s=600.0,
        pain_before=4, plan=plan,
    )  # fmt: skip


def hold_step(run_id: str) -> StepStarted:
    fields: dict[str, Any] = {
        k: getattr(FIRST_STEP, k) for k in ("exercise", "side", "start_s", "end_s", "breaths")
    }
    return StepStarted(
        mono=0.0, wall=T0, run_id=run_id, step=0, name="Knee to chest — left",
        instructions=LONG_INSTRUCTIONS, **fields,
    )  # fmt: skip


def start_holding(page: Page, core: FakeCore, *, pain: int, hr: int) -> str:
    """Start the routine from the Now page with ``pain`` before, and have the core take it
    into its first hold with the heart at ``hr``; the session's id."""
    page.click(f"#pain-before [data-value='{pain}']")
    page.click("#start")
    expect(page.locator("#running")).to_be_visible()
    run_id = core.run_id
    assert run_id is not None
    core.publish(session_started(run_id))
    core.publish(hold_step(run_id))
    core.publish(hr_event(hr))
    return run_id


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_moment_of_a_routine_fits_the_screen(
    browser: Browser, server: RunningServer, core: FakeCore, screen: str, mode: str
) -> None:
    name = f"{screen}-{mode}"
    with fresh_page(browser, SCREENS[screen], night=mode == "night") as page:
        page.goto(server.url + "/")
        expect(page.locator("#routines [role=radio]")).to_have_count(2)
        shoot(page, f"now-idle-{name}", folder="screens")
        assert off_screen(page, IDLE_NEEDED) == []
        assert off_screen(page, ["#pain-before [data-value='10']"]) == []
        assert not scrolls(page)

        run_id = start_holding(page, core, pain=4, hr=72)
        expect(page.locator("#hr-value")).to_have_text("72")
        # The step's name already says its side; the page does not say it twice.
        expect(page.locator("h1", has_text="Knee to chest")).to_have_text("Knee to chest — left")
        expect(page.locator("#step-mode")).to_have_text("Hold the stretch")

        # In, held, out: the plan's pattern holds the breath 2 s after each breath in.
        core.publish(cue_event(run_id, "breath-in", 0.0, duration_s=6.0))
        expect(page.locator("#phase")).to_have_text("Breathe in")
        inhale = phase_look(page)
        shoot(page, f"now-inhale-{name}", folder="screens")
        check_running_layout(page, "inhale")

        expect(page.locator("#phase")).to_have_text("Hold your breath", timeout=HOLD_WAIT_MS)
        hold = phase_look(page)
        shoot(page, f"now-hold-{name}", folder="screens")
        check_running_layout(page, "hold")

        core.publish(cue_event(run_id, "breath-out", 6.0, duration_s=6.0))
        expect(page.locator("#phase")).to_have_text("Breathe out")
        exhale = phase_look(page)
        shoot(page, f"now-exhale-{name}", folder="screens")
        check_running_layout(page, "exhale")

        # The hold ends and the next breath in starts in the same instant, as the plan has it:
        # the circle follows the breath, the word stays on "Let go" for a moment.
        core.publish(cue_event(run_id, "hold-end", 12.0))
        core.publish(cue_event(run_id, "breath-in", 12.0, duration_s=6.0))
        expect(page.locator("#breath")).to_have_attribute("data-phase", "in")
        expect(page.locator("#phase")).to_have_text("Let go")
        release = phase_look(page)
        shoot(page, f"now-hold-end-{name}", folder="screens")
        check_running_layout(page, "hold end")
        expect(page.locator("#phase")).not_to_have_text("Let go", timeout=HOLD_WAIT_MS)

        page.click("#pause")
        expect(page.locator("#phase")).to_have_text("Paused")
        expect(page.locator("#pause")).to_have_text("Resume")
        shoot(page, f"now-paused-{name}", folder="screens")
        check_running_layout(page, "paused")
        # A safety notice takes room from the circle, not from the controls or the Pain button.
        core.publish(
            Notice(mono=0.0, wall=T0, level="warning", topic="safety", message=SAFETY_NOTICE)
        )
        expect(page.locator(".notice")).to_contain_text("heart rate")
        shoot(page, f"now-notice-{name}", folder="screens")
        check_running_layout(page, "with a notice")
        assert off_screen(page, [".notice"]) == []

        page.click("#pain")
        expect(page.locator("#after")).to_be_visible()
        expect(page.locator("#after-outcome")).to_contain_text("pain")
        shoot(page, f"now-pain-stopped-{name}", folder="screens")
        assert off_screen(page, ["#after-outcome", "#pain-after", "#after-done"]) == []
        assert core.commands == ["pause", "pain"]

    # Each phase has its own colour or shape, not only its own word.
    looks = [inhale, exhale, hold, release]
    assert len(set(looks)) == len(looks), looks


def phase_look(page: Page) -> tuple[str, ...]:
    """What the circle and the phase word look like: colours, edge style and the glyph."""
    return tuple(
        page.evaluate(
            "(() => { const c = getComputedStyle(document.getElementById('circle'));"
            " const w = getComputedStyle(document.getElementById('phase'));"
            " const g = getComputedStyle(document.getElementById('phase'), '::before');"
            " return [c.backgroundImage, c.borderTopColor, c.borderTopStyle, w.color,"
            " g.content]; })()"
        )
    )
