"""The dashboard in Debian's Chromium against the real service (``companion run --simulate``):
pick the taster, rate pain, start, watch the live heart rate and the breathing circle, press
Pain, rate afterwards, then find the session in History and open its chart.

Screenshots of every page in day and night mode go to test-artifacts/e2e/.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from tests.e2e.live import REPO, LiveService
from tests.support import CHROMIUM, CHROMIUM_ARGS
from tests.web.browser_support import (
    SCREENS,
    axe_violations,
    chromium,
    fresh_page,
    off_screen,
    overlapping,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

ARTIFACTS = REPO / "test-artifacts" / "e2e"
WAIT_MS = 10_000
# The simulated wearer's heart follows the breath, so the number moves within a breath or two.
HR_CHANGE_TIMEOUT_S = 15.0
CIRCLE_READ_GAP_MS = 1000
CIRCLE_MOVES_PX = 10
OPENING_BREATH_S = 3.0
STORE_TIMEOUT_S = 5.0
# The taster opens with a 10 s "Get ready".
STEP_TIMEOUT_MS = 20_000


@pytest.fixture
def page(service: LiveService) -> Iterator[Page]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing; `make browser-deps` installs Debian's chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1024, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # CSP violations and failed loads (a 404 for a script) show up as console errors.
        page.on("console", lambda m: errors.append(m.text) if is_error(m) else None)
        page.set_default_timeout(WAIT_MS)
        yield page
        browser.close()
        assert errors == []


def is_error(message: ConsoleMessage) -> bool:
    return message.type == "error"


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def shoot_day_and_night(page: Page, name: str, *, full_page: bool = True) -> None:
    """Day first, then night light on (live, as a person would switch it), then off again."""
    shoot(page, f"{name}-day", full_page=full_page)
    page.click("#night-toggle")
    expect(page.locator("html")).to_have_class("night")
    shoot(page, f"{name}-night", full_page=full_page)
    page.click("#night-toggle")
    expect(page.locator("html")).not_to_have_class("night")


def circle_size(page: Page) -> tuple[float, str]:
    """The circle's rendered width and its computed transform, as the browser has them now."""
    width, transform = page.evaluate(
        "(() => { const c = document.getElementById('circle');"
        " return [c.getBoundingClientRect().width, getComputedStyle(c).transform]; })()"
    )
    return float(width), str(transform)


def circle_sizes(page: Page, seconds: float) -> list[tuple[float, str]]:
    """Readings every 250 ms for ``seconds``."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.append(circle_size(page))
        page.wait_for_timeout(250)
    return seen


def wait_for_new_hr(page: Page, old: str) -> str:
    deadline = time.monotonic() + HR_CHANGE_TIMEOUT_S
    while time.monotonic() < deadline:
        text = page.locator("#hr-value").inner_text()
        if text != old and text.isdigit():
            return text
        page.wait_for_timeout(200)
    raise AssertionError(f"the heart rate stayed at {old} for {HR_CHANGE_TIMEOUT_S} s")


def wait_for_outcome(service: LiveService, outcome: str, pain_after: int | None) -> None:
    client = service.client()
    deadline = time.monotonic() + STORE_TIMEOUT_S
    while True:
        [row] = client.get_json("/api/sessions")["sessions"]
        if (row["outcome"], row["pain_after"]) == (outcome, pain_after):
            return
        assert time.monotonic() < deadline, row
        time.sleep(0.1)


def test_a_taster_run_with_a_pain_stop_ends_in_history_with_its_chart(
    page: Page, service: LiveService
) -> None:
    service.wait_for_band()
    page.goto(service.url + "/")
    page.click("#routines [data-value='taster']")
    page.click("#pain-before [data-value='4']")
    expect(page.locator("#start")).to_be_enabled()
    shoot_day_and_night(page, "now-idle")

    page.click("#start")
    expect(page.locator("#running")).to_be_visible()
    expect(page.locator("#routine-title")).to_have_text("Taster")
    first_hr = page.locator("#hr-value").inner_text()
    # The first breath out (4 s in) shrinks the circle over 6 s: read it twice within that.
    expect(page.locator("#phase")).to_have_text("Breathe out")
    breathing_out = [circle_size(page)]
    page.wait_for_timeout(CIRCLE_READ_GAP_MS)
    breathing_out.append(circle_size(page))
    second_hr = wait_for_new_hr(page, first_hr)
    shoot_day_and_night(page, "now-running", full_page=False)

    page.click("#pain")
    expect(page.locator("#after")).to_be_visible()
    expect(page.locator("#after-outcome")).to_contain_text("pain")
    page.click("#pain-after [data-value='2']")
    expect(page.locator("#after-saved")).to_be_visible()
    shoot_day_and_night(page, "now-after")

    # The recorder commits within half a second; a person takes longer than that to get
    # to History, a test does not.
    wait_for_outcome(service, "pain", pain_after=2)
    page.click("nav >> text=History")
    row = page.locator("table.history tbody tr").filter(
        has=page.locator(".outcome[data-outcome='pain']")
    )
    expect(row).to_have_count(1)
    expect(row).to_contain_text("4 → 2")
    shoot_day_and_night(page, "history")

    row.locator("a").click()
    expect(page.locator("#chart canvas").first).to_be_visible()
    expect(page.locator(".facts .outcome")).to_have_attribute("data-outcome", "pain")
    shoot_day_and_night(page, "session")

    page.click("nav >> text=Settings")
    expect(page.locator("input[name=hr_ceiling]")).to_have_value("120")
    shoot_day_and_night(page, "settings")

    # The circle shrank as the breath went out; its transform is what moved it.
    (width_before, transform_before), (width_after, transform_after) = breathing_out
    assert width_before - width_after >= CIRCLE_MOVES_PX, breathing_out
    assert transform_before != transform_after
    assert first_hr != second_hr


def test_the_circle_grows_through_the_opening_breath_in(page: Page, service: LiveService) -> None:
    """Every routine opens with a 4-second breath in, which the circle should pace by growing
    from half size to full. The cue reaches the page in the same moment the session panel is
    unhidden, so there is no rendered "before" for the transition to start from."""
    service.wait_for_band()
    page.goto(service.url + "/")
    page.click("#routines [data-value='taster']")
    page.click("#pain-before [data-value='1']")
    page.click("#start")
    expect(page.locator("#phase")).to_have_text("Breathe in")

    sizes = circle_sizes(page, OPENING_BREATH_S)

    widths = [w for w, _ in sizes]
    assert widths == sorted(widths) and widths[-1] - widths[0] >= CIRCLE_MOVES_PX, sizes


# Records what the page draws on its canvases: text (axis labels) and filled rectangles
# drawn see-through (the chart's step shading).
RECORD_CANVAS = """
(() => {
  const drawn = { texts: [], rects: [] };
  window.__drawn = drawn;
  const proto = CanvasRenderingContext2D.prototype;
  const fillText = proto.fillText;
  proto.fillText = function (text, x, y, ...rest) {
    drawn.texts.push([String(text), x, y]);
    return fillText.call(this, text, x, y, ...rest);
  };
  const fillRect = proto.fillRect;
  proto.fillRect = function (x, y, w, h) {
    if (this.globalAlpha < 1) drawn.rects.push([x, y, w, h]);
    return fillRect.call(this, x, y, w, h);
  };
})();
"""
MINUTES_SECONDS = re.compile(r"[0-9]+:[0-5][0-9]")
CHART_SESSION_S = 6.0


def test_the_session_chart_labels_each_time_once_and_shades_only_inside_its_plot(
    page: Page, service: LiveService
) -> None:
    """A few seconds of taster: the time axis must not repeat a label (ticks every half
    second printed as whole seconds would), and the step shading must stay inside the plot
    (the first step starts at 0:00, before the first sample that sets the axis' left end,
    so unclipped shading spills over the heart-rate labels)."""
    service.wait_for_band()
    client = service.client()
    run_id = client.start_routine("taster", pain_before=3)
    time.sleep(CHART_SESSION_S)
    assert client.post_json("/api/session/pain").status == 200
    wait_for_outcome(service, "pain", pain_after=None)
    page.add_init_script(RECORD_CANVAS)

    page.goto(f"{service.url}/sessions/{run_id}")
    expect(page.locator("#chart canvas").first).to_be_visible()
    drawn = page.evaluate("window.__drawn")
    plot_left, plot_right = page.evaluate(
        "(() => { const o = document.querySelector('#chart .u-over'); const r = devicePixelRatio;"
        " return [o.offsetLeft * r, (o.offsetLeft + o.offsetWidth) * r]; })()"
    )

    places: dict[str, set[int]] = {}
    for text, x, _y in drawn["texts"]:
        if MINUTES_SECONDS.fullmatch(text):
            places.setdefault(text, set()).add(round(x))
    repeated = {text: sorted(xs) for text, xs in places.items() if len(xs) > 1}
    outside = [r for r in drawn["rects"] if r[0] < plot_left - 1 or r[0] + r[2] > plot_right + 1]
    assert len(places) >= 3 and drawn["rects"], drawn
    assert (repeated, outside) == ({}, []), (plot_left, plot_right)


def test_the_summary_page_renders_in_day_and_night(page: Page, service: LiveService) -> None:
    page.goto(service.url + "/")
    page.click("nav >> text=Summary")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Summary")
    expect(page.locator("main h1").first).to_be_visible()
    shoot_day_and_night(page, "summary")


@pytest.mark.parametrize("screen", ["phone", "tablet"])
def test_a_first_taster_fits_the_screen_and_passes_axe_by_night(
    service: LiveService, screen: str
) -> None:
    """A first visit: the taster is chosen already (as the README suggests), the whole first
    screen fits, and during the real routine everything needed is on screen and clear of the
    Pain button; axe-core finds nothing by night light."""
    service.wait_for_band()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser, fresh_page(browser, SCREENS[screen], night=True) as page:
        page.goto(service.url + "/")
        expect(page.locator("#routines [aria-checked=true]")).to_have_attribute(
            "data-value", "taster"
        )
        shoot(page, f"taster-idle-{screen}-night", full_page=False)
        assert off_screen(page, ["#routines", "#pain-before", "#start"]) == []
        page.click("#pain-before [data-value='2']")
        page.click("#start")
        # The first exercise after the 10 s "Get ready"; its name carries its side once.
        expect(page.locator("#step-title")).to_have_text(
            "Knee to chest — left", timeout=STEP_TIMEOUT_MS
        )
        expect(page.locator("#step-side")).to_have_text("")
        expect(page.locator("#step-mode")).to_have_text("Hold the stretch")
        shoot(page, f"taster-hold-{screen}-night", full_page=False)

        needed = ["#hr-value", "#step-title", "#phase", "#countdown", "#pause", "#stop", "#pain"]
        assert off_screen(page, needed) == []
        assert overlapping(page, ["#phase", "#countdown", "#instructions", "#pause", "#pain"]) == []
        assert axe_violations(page) == []
        page.click("#pain")
        expect(page.locator("#after")).to_be_visible()
