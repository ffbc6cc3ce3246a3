"""The pages in a real Chromium, served by waitress with the fake core: start a routine,
follow the heart rate and the breathing circle, press Pain, rate afterwards; a reminder's
banner (start, snooze), the summary's banner and page, reminders in settings. Screenshots of
every page in day and night mode go to test-artifacts/."""

from __future__ import annotations

import datetime
import re
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from companion.events import (
    HeartRateSample,
    LinkState,
    Notice,
    ReminderDue,
    SessionStarted,
    SessionState,
    StepStarted,
)
from companion.reminders.model import Reminder
from companion.session.status import HeartRateNow
from companion.store.queries import get_setting
from companion.store.reminders import add_reminder, list_reminders
from companion.store.setting_writes import put_setting
from tests.web.browser_support import (
    BERLIN_SETTINGS,
    BROWSER_SETTINGS,
    WAIT_MS,
    fresh_page,
    serving,
    shoot,
)
from tests.web.conftest import (
    BAND,
    FIRST_STEP,
    PLAN,
    T0,
    FakeCore,
    cue_event,
    hr_event,
    link_event,
    record,
    session_events,
)
from tests.web.summary_history import NOW, events_of, week_of_evenings
from web import RunningServer, WebSettings

pytestmark = pytest.mark.browser


@pytest.fixture
def settings() -> WebSettings:
    return BROWSER_SETTINGS


@pytest.fixture
def stored_history(engine: Engine) -> None:
    """Two sessions, seen by the app's own clock."""
    record(engine, session_events("older", T0, SessionState.COMPLETED))
    record(engine, session_events("newer", T0 + 86_400, SessionState.PAIN))


def circle_width(page: Page) -> float:
    return float(page.evaluate("document.getElementById('circle').getBoundingClientRect().width"))


def first_step(run_id: str) -> StepStarted:
    fields = ("name", "exercise", "side", "start_s", "end_s", "instructions", "breaths")
    return StepStarted(
        mono=0.0, wall=T0, run_id=run_id, step=0, **{k: getattr(FIRST_STEP, k) for k in fields}
    )


def wait_for_circle(page: Page, grown: bool, than: float) -> None:
    """Poll from Python: the page's CSP (rightly) forbids the eval that wait_for_function uses."""
    for _ in range(WAIT_MS // 50):
        width = circle_width(page)
        if (width > than) if grown else (width < than):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"the circle stayed at {circle_width(page)} px (wanted past {than})")


def test_a_session_from_start_to_pain_and_after_rating(
    page: Page, server: RunningServer, core: FakeCore
) -> None:
    page.goto(server.url + "/")
    expect(page.locator("#routines [role=radio]")).to_have_count(2)
    shoot(page, "now-idle-day", full_page=True)
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
    shoot(page, "now-after-night", full_page=True)
    page.click("#night-toggle")
    shoot(page, "now-after-day", full_page=True)


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
    shoot(page, f"{name}-day", full_page=True)

    page.click("#night-toggle")
    page.reload()
    page.wait_for_selector(ready)

    assert page.evaluate("document.documentElement.classList.contains('night')")
    shoot(page, f"{name}-night", full_page=True)


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


# --- reminders, the summary and their banners ----------------------------------------------


def wait_for_streams(core: FakeCore, count: int = 1) -> None:
    """Until the page's live stream is open, so an event published now reaches it."""
    for _ in range(WAIT_MS // 50):
        if len(core.feed) >= count:
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"{len(core.feed)} live stream(s) open, wanted {count}")


def morning_reminder(engine: Engine) -> Reminder:
    return add_reminder(
        engine, at=datetime.time(7, 30), days=("mon",), routine="morning", now_wall=T0
    )


def reminder_due(reminder: Reminder) -> ReminderDue:
    return ReminderDue(
        mono=0.0,
        wall=T0,
        reminder_id=reminder.id,
        routine=reminder.routine,
        message="Time for your Morning mobility routine.",
        on_wrist=True,
    )


def test_a_reminder_banner_snoozes_through_the_api(
    page: Page, server: RunningServer, core: FakeCore, engine: Engine
) -> None:
    reminder = morning_reminder(engine)
    page.goto(server.url + "/")
    expect(page.locator("#routines [role=radio]")).to_have_count(2)
    wait_for_streams(core)

    core.publish(reminder_due(reminder))

    banner = page.locator(".banner[data-kind=reminder]")
    expect(banner).to_contain_text("Time for your Morning mobility routine.")
    shoot(page, "now-reminder-day", full_page=False)
    banner.get_by_role("button", name="Snooze 10 min").click()
    expect(banner).to_contain_text("Snoozed. The reminder comes back at")
    assert core.commands == [f"snooze:{reminder.id}"]


def test_start_now_on_the_now_page_picks_the_routine_and_asks_for_pain_first(
    page: Page, server: RunningServer, core: FakeCore, engine: Engine
) -> None:
    page.goto(server.url + "/")
    expect(page.locator("#routines [role=radio]")).to_have_count(2)
    wait_for_streams(core)
    core.publish(reminder_due(morning_reminder(engine)))

    page.get_by_role("button", name="Start now").click()

    expect(page.locator(".banner")).to_have_count(0)
    expect(page.locator("#routines [aria-checked=true]")).to_have_attribute("data-value", "morning")
    expect(page.locator("#start")).to_be_disabled()
    assert core.started == []
    page.click("#pain-before [data-value='3']")
    page.click("#start")
    expect(page.locator("#running")).to_be_visible()
    assert core.started == [("morning", 3)]


def test_a_reminder_on_another_page_shows_too_and_start_now_leads_to_now(
    page: Page, server: RunningServer, core: FakeCore, engine: Engine
) -> None:
    page.goto(server.url + "/history")
    wait_for_streams(core)
    core.publish(reminder_due(morning_reminder(engine)))

    page.get_by_role("button", name="Start now").click()

    page.wait_for_url(server.url + "/")
    expect(page.locator("#routines [aria-checked=true]")).to_have_attribute("data-value", "morning")
    expect(page.locator("#idle")).to_be_visible()


def test_the_summary_notice_is_a_banner_that_leads_to_the_summary(
    page: Page, server: RunningServer, core: FakeCore
) -> None:
    page.goto(server.url + "/settings")
    wait_for_streams(core)

    core.publish(
        Notice(
            mono=0.0,
            wall=NOW.timestamp(),
            level="info",
            topic="summary",
            message="Your morning summary is ready.",
        )
    )

    banner = page.locator(".banner[data-kind=summary]")
    expect(banner).to_contain_text("Your morning summary is ready.")
    banner.get_by_role("link", name="See the summary").click()
    page.wait_for_url(server.url + "/summary")
    expect(page.locator("h1#summary-day")).to_be_visible()


@pytest.fixture
def summary_server(core: FakeCore, engine: Engine) -> Iterator[RunningServer]:
    """A week of evening routines and this morning's, seen at 09:00 in Berlin."""
    record(engine, events_of(week_of_evenings()))
    with serving(core, engine, BERLIN_SETTINGS, NOW.timestamp) as running:
        yield running


@pytest.fixture
def summary_page(browser: Browser, summary_server: RunningServer) -> Iterator[Page]:
    with fresh_page(browser) as page:
        yield page


def test_the_summary_page_draws_its_charts_in_day_and_night(
    summary_page: Page, summary_server: RunningServer
) -> None:
    page = summary_page
    page.goto(summary_server.url + "/summary")

    expect(page.locator("#pain-chart svg rect.bar")).to_have_count(7)
    expect(page.locator("#rmssd-chart svg rect.bar")).to_have_count(7)
    # Last evening's routine, this morning's, and the holds of both.
    expect(page.locator("#exercise-chart svg rect.bar")).to_have_count(3)
    expect(page.locator("#heart-chart svg rect.bar")).to_have_count(1)
    expect(page.locator("#breathing-chart svg rect.bar")).to_have_count(1)
    expect(page.locator(".session-line")).to_have_count(2)
    shoot(page, "summary-day", full_page=True)
    page.click("#night-toggle")
    shoot(page, "summary-night", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "summary-phone-night", full_page=True)

    page.click("#previous-day")
    page.wait_for_url(summary_server.url + "/summary/2026-05-11")
    expect(page.locator("#summary-day")).to_have_text("Monday 11 May 2026")


def test_a_summary_without_routines_says_so_instead_of_drawing(
    summary_page: Page, summary_server: RunningServer
) -> None:
    page = summary_page
    page.goto(summary_server.url + "/summary/2026-04-01")

    expect(page.locator("#exercise-chart")).to_have_text("No exercises since yesterday evening.")
    expect(page.locator("#heart-chart")).to_have_text("No heart-rate readings in these routines.")
    shoot(page, "summary-empty-day", full_page=True)


def test_reminders_are_added_turned_off_and_removed_in_settings(
    page: Page, server: RunningServer, core: FakeCore, engine: Engine
) -> None:
    page.goto(server.url + "/settings")
    expect(page.locator("#reminders")).to_have_text("No reminders yet.")
    expect(page.locator("select[name=routine] option")).to_have_count(2)

    page.fill("input[name=at]", "07:15")
    page.uncheck("input[name=days][value=sat]")
    page.uncheck("input[name=days][value=sun]")
    page.select_option("select[name=routine]", "morning")
    page.click("#add-reminder button[type=submit]")

    row = page.locator("#reminders .reminder")
    expect(row).to_contain_text("07:15")
    expect(row).to_contain_text("Morning mobility · Weekdays")
    assert [(r.at, r.days, r.enabled) for r in list_reminders(engine)] == [
        (datetime.time(7, 15), ("mon", "tue", "wed", "thu", "fri"), True)
    ]
    shoot(page, "settings-reminders-day", full_page=True)

    row.get_by_label("On").uncheck()
    expect(row).to_have_attribute("data-enabled", "false")
    assert [r.enabled for r in list_reminders(engine)] == [False]

    row.get_by_role("button", name="Remove").click()
    expect(page.locator("#reminders")).to_have_text("No reminders yet.")
    assert list_reminders(engine) == []
    assert core.commands == ["reminders_changed"] * 3


def test_a_reminder_without_days_is_explained_in_settings(
    page: Page, server: RunningServer
) -> None:
    page.goto(server.url + "/settings")
    expect(page.locator("select[name=routine] option")).to_have_count(2)
    for box in page.locator("input[name=days]").all():
        box.uncheck()

    page.click("#add-reminder button[type=submit]")

    expect(page.locator("#reminder-problem")).to_contain_text("days")


def test_the_wake_time_is_saved_in_settings(
    page: Page, server: RunningServer, engine: Engine
) -> None:
    page.goto(server.url + "/settings")
    expect(page.locator("input[name=wake_time]")).to_have_value("07:00")

    page.fill("input[name=wake_time]", "06:30")
    page.click("#wake button[type=submit]")

    expect(page.locator("#wake-saved")).to_be_visible()
    assert get_setting(engine, "wake_time") == "06:30"


# --- a heart rate that is no longer live says so ---------------------------------------------


def test_a_heart_rate_without_news_greys_and_says_how_old_it_is(
    page: Page, server: RunningServer, core: FakeCore
) -> None:
    page.goto(server.url + "/")
    wait_for_streams(core)
    core.publish(hr_event(66))
    expect(page.locator("#hr-value")).to_have_text("66")
    expect(page.locator("#hr")).not_to_have_class(re.compile(r"\bstale\b"))

    # No sample for more than 3 s: the page ages the value by itself.
    expect(page.locator("#hr-age")).to_have_text(re.compile(r"^no signal for [3-9] s$"))
    expect(page.locator("#hr")).to_have_class(re.compile(r"\bstale\b"))

    core.publish(link_event(LinkState.LOST))
    expect(page.locator("#hr-age")).to_have_text(
        re.compile(r"^band lost, last 66 at [0-2][0-9]:[0-5][0-9]$")
    )
    shoot(page, "now-hr-lost-day", full_page=False)

    core.publish(hr_event(70))
    expect(page.locator("#hr-value")).to_have_text("70")
    expect(page.locator("#hr-age")).to_be_hidden()
    expect(page.locator("#hr")).not_to_have_class(re.compile(r"\bstale\b"))


def test_a_stale_heart_rate_in_the_status_is_shown_stale_on_load(
    page: Page, server: RunningServer, core: FakeCore
) -> None:
    core.last_hr = HeartRateNow(hr=64, contact=True, t=T0, rr_ms=(), age_s=8.0, stale=True)

    page.goto(server.url + "/")

    expect(page.locator("#hr-value")).to_have_text("64")
    expect(page.locator("#hr-age")).to_have_text(re.compile(r"^no signal for (8|9|10) s$"))


# --- bands in settings -----------------------------------------------------------------------


def test_settings_names_the_band_in_use_and_a_scan_lists_it(
    page: Page, server: RunningServer, core: FakeCore
) -> None:
    page.goto(server.url + "/settings")
    expect(page.locator("#band-in-use")).to_contain_text("In use now:")
    expect(page.locator("#devices .device[data-in-use=true]")).to_contain_text(BAND)

    core.found = []  # a connected band stops advertising: the scan sees nothing
    page.click("#scan")

    expect(page.locator("#scan-state")).to_have_text(
        "No other bands nearby; the band in use is connected."
    )
    expect(page.locator("#found .device[data-in-use=true]")).to_contain_text(BAND)


def test_a_new_error_hides_the_old_added_message(page: Page, server: RunningServer) -> None:
    page.goto(server.url + "/settings")
    expect(page.locator("select[name=routine] option")).to_have_count(2)
    page.click("#add-reminder button[type=submit]")
    expect(page.locator("#reminder-saved")).to_contain_text("Added: 21:30")

    page.fill("input[name=at]", "25:99")
    page.click("#add-reminder button[type=submit]")

    expect(page.locator("#reminder-problem")).to_contain_text("HH:MM")
    expect(page.locator("#reminder-saved")).to_be_hidden()


def test_the_session_chart_breaks_its_line_where_the_heart_rate_had_a_gap(
    page: Page, server: RunningServer, engine: Engine
) -> None:
    """Samples every second, then none for 21 s (the band was out of range), then again."""
    events = [
        e
        for e in session_events("gappy", T0 + 2 * 86_400, SessionState.COMPLETED)
        if not (isinstance(e, HeartRateSample) and 31 <= e.wall - (T0 + 2 * 86_400) < 52)
    ]
    record(engine, events)

    page.goto(server.url + "/sessions/gappy")
    expect(page.locator("#chart canvas").first).to_be_visible()

    xs, ys = page.evaluate("document.getElementById('chart').uplot.data")
    breaks = [x for x, y in zip(xs, ys, strict=True) if y is None]
    assert len(breaks) == 1 and 30 < breaks[0] < 52, (xs, ys)
    expect(page.locator(".gaps")).to_contain_text("the band's link was lost")
    shoot(page, "session-with-a-gap-day", full_page=True)
    page.goto(server.url + "/sessions/older")
    expect(page.locator("#chart canvas").first).to_be_visible()
    assert None not in page.evaluate("document.getElementById('chart').uplot.data[1]")


def test_a_reload_mid_session_keeps_the_countdown_and_times_follow_the_chosen_clock(
    page: Page, server: RunningServer, core: FakeCore, engine: Engine
) -> None:
    put_setting(
        engine, "preferences", {"pattern": None, "hr_ceiling": 120, "units": {"clock": "12h"}}
    )
    core.start_session("bedtime", 4)
    core.link_state = LinkState.LOST
    core.last_hr = HeartRateNow(hr=66, contact=True, t=T0, rr_ms=(), age_s=70.0, stale=True)

    page.goto(server.url + "/")

    expect(page.locator("#running")).to_be_visible()
    # The clock chosen in Settings has arrived (12-hour), and the session clock is intact.
    expect(page.locator("#hr-age")).to_have_text(re.compile(r"^band lost, last 66 at .*[AP]M$"))
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^3 breaths · [0-9]+ s$"))
