"""What the browser tests share: the app served on a free port, Chromium, a page that fails
its test on any script error, the two screens the dashboard is designed for, night light,
screenshots, axe-core, and the geometry of what is on screen. (The fixtures built on these,
``browser``, ``server`` and ``page``, are in ``tests/web/conftest.py``.)"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from sqlalchemy import Engine

from companion.session.control import SessionControl
from tests.support import CHROMIUM, CHROMIUM_ARGS
from web import RunningServer, WebSettings, create_app, serve

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
# axe-core, pinned in web/package.json and installed by `make web-deps` (npm ci).
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
WAIT_MS = 5000

# A tablet on its side and a phone upright: the two screens the bedside page is made for.
TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
SCREENS = {"tablet": TABLET, "phone": PHONE}
MODES = ("day", "night")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# A page's stream notices within a second that the server is stopping or the page has gone.
BROWSER_SETTINGS = WebSettings(heartbeat_s=1.0, poll_s=0.05)
# For pages that count days (the summary, History): Berlin's, as tests.web.summary_history.
BERLIN_SETTINGS = dataclasses.replace(BROWSER_SETTINGS, timezone="Europe/Berlin")


@contextlib.contextmanager
def serving(
    core: SessionControl,
    store_engine: Engine | None,
    settings: WebSettings,
    clock: Callable[[], float] | None = None,
) -> Iterator[RunningServer]:
    """The dashboard for ``core``, served by waitress on a port the kernel picks, until the
    block ends."""
    running = serve(
        create_app(core, store_engine=store_engine, settings=settings, clock=clock),
        "127.0.0.1",
        0,
    )
    try:
        yield running
    finally:
        running.close()


# The console error a refused settings value is meant to get.
REFUSED = ("status of 422",)


def unexpected(message: ConsoleMessage, expected: tuple[str, ...] = REFUSED) -> bool:
    """A console error other than those ``expected`` (substrings of its text)."""
    return message.type == "error" and not any(e in message.text for e in expected)


def launch(playwright: Any) -> Browser:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing; `make browser-deps` installs Debian's chromium")
    browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    return browser


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@contextlib.contextmanager
def fresh_page(
    browser: Browser,
    viewport: dict[str, int] | None = None,
    *,
    night: bool = False,
    expected_errors: tuple[str, ...] = REFUSED,
) -> Iterator[Page]:
    """A page in a context of its own (no cookies or storage from other tests), with axe-core
    loaded into every document before the page's own scripts, and night light on if asked."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing; `make web-deps` installs it (npm ci in web/)")
    context = browser.new_context(viewport=viewport or {"width": 1024, "height": 900})
    context.add_init_script(path=str(AXE))
    if night:
        context.add_init_script("localStorage.setItem('companion.night', '1');")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # CSP violations and failed loads show up as console errors.
    page.on("console", lambda m: errors.append(m.text) if unexpected(m, expected_errors) else None)
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()
    assert errors == []


def shoot(page: Page, name: str, *, full_page: bool = False, folder: str = "") -> Path:
    where = ARTIFACTS / folder if folder else ARTIFACTS
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe_violations(page: Page) -> list[str]:
    """WCAG 2.1 A and AA violations on the page as it is now, one line each."""
    result = page.evaluate(
        "async (tags) => (await axe.run(document, { runOnly: { type: 'tag', values: tags } }))"
        ".violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) =>"
        " n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\\s+/g, ' ')) }))",
        WCAG_AA,
    )
    return [f"{v['id']} ({v['impact']}): {node}" for v in result for node in v["nodes"]]


@dataclass(frozen=True)
class Box:
    name: str
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )


def box(page: Page, selector: str) -> Box:
    found = page.evaluate(
        "(s) => { const n = document.querySelector(s); if (!n) return null;"
        " const r = n.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }",
        selector,
    )
    assert found is not None, f"nothing matches {selector}"
    return Box(selector, *found)


def off_screen(page: Page, selectors: list[str]) -> list[Box]:
    """The elements of ``selectors`` not wholly inside the viewport, or not drawn at all."""
    size = page.viewport_size
    assert size is not None
    out = []
    for selector in selectors:
        b = box(page, selector)
        inside = b.x >= 0 and b.y >= 0 and b.right <= size["width"] and b.bottom <= size["height"]
        if not inside or b.width == 0 or b.height == 0:
            out.append(b)
    return out


def overlapping(page: Page, selectors: list[str]) -> list[tuple[str, str]]:
    boxes = [box(page, s) for s in selectors]
    return [(a.name, b.name) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if a.overlaps(b)]


def scrolls(page: Page) -> bool:
    """Whether the page is taller than the screen (so something needs scrolling)."""
    return bool(page.evaluate("document.scrollingElement.scrollHeight > window.innerHeight + 1"))
