"""Fixtures for the web tests: a fake core that behaves like SessionControl, a real SQLite
store filled through the recorder's own event translation, and the app around both (also
served on a free port, with Chromium, for the browser tests)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine

from companion.ble.found import FoundDevice
from companion.cues import CueName
from companion.errors import SessionError, UnknownNameError
from companion.events import (
    CueFired,
    Event,
    HeartRateSample,
    LinkChanged,
    LinkState,
    SessionState,
    SessionStateChanged,
)
from companion.routines.pacer import BreathPattern
from companion.session.live_feed import DEFAULT_MAX_STREAMS, FeedHub, FeedSubscriber
from companion.session.status import (
    HeartRateNow,
    IdleSession,
    LinkStatus,
    RoutineSummary,
    SessionNow,
    SessionStatus,
    Status,
)
from companion.store.database import create_engine_for_url, sqlite_url, upgrade_to_head
from tests.support import KNEE_TO_CHEST, bedtime_plan, session_started, step_started
from tests.support import record as record  # the web tests' import of it
from tests.web.browser_support import chromium, fresh_page, serving
from web import RunningServer, WebSettings, create_app
from web.openapi import openapi_document

BAND = "F0:F1:F2:F3:F4:F5"
T0 = 1_750_000_000.0
ROUTINES: list[RoutineSummary] = [
    RoutineSummary(
        name="bedtime",
        title="Bedtime unwind",
        description="Gentle stretches before sleep.",
        total_s=600.0,
    ),
    RoutineSummary(
        name="morning",
        title="Morning mobility",
        description="Loosen a stiff back.",
        total_s=480.0,
    ),
]
PATTERN = {"inhale_s": 4.0, "hold_in_s": 0.0, "exhale_s": 6.0, "hold_out_s": 0.0}
FIRST_STEP = dataclasses.replace(
    KNEE_TO_CHEST, instructions="Breathe out as you draw one knee up; hold it gently."
)


# Why a session ended, worded as the real engine words it.
_FAKE_REASONS = {
    SessionState.STOPPED: "stopped by you",
    SessionState.PAIN: "pain reported",
    SessionState.COMPLETED: "routine finished",
}


class FakeCore:
    """An in-memory SessionControl: records what it is asked, refuses what the real one would,
    answers with the same status records as the real host, and fans events out to live-feed
    subscribers through the real FeedHub."""

    def __init__(self, max_streams: int = DEFAULT_MAX_STREAMS) -> None:
        # Like the real host's: the one count of open streams, which the web answers 429 at.
        self.feed = FeedHub(max_streams)
        self.commands: list[str] = []
        self.started: list[tuple[str, int | None]] = []
        self.ratings: list[int] = []
        self.chosen: list[str | None] = []
        self.scans: list[float] = []
        self.found: list[FoundDevice] = [
            FoundDevice(address=BAND, name="Virtual band", rssi=-50, profile="generic")
        ]
        self.session_state: str = "idle"
        self.run_id: str | None = None
        self.finished_run: str | None = None
        self.last_hr: HeartRateNow | None = None
        self.link_state = LinkState.CONNECTED
        self._lock = threading.Lock()
        self._next = 0

    # --- SessionControl ---------------------------------------------------------------------
    def status(self) -> Status:
        with self._lock:
            return Status(
                link=LinkStatus(
                    state=self.link_state,
                    detail="",
                    device=BAND,
                    profile="generic",
                    battery=81,
                    dropped_packets=0,
                ),
                heart_rate=self.last_hr,
                session=self._session_status(),
                notices=(),
                streams=len(self.feed),
            )

    def _session_status(self) -> SessionStatus:
        if self.run_id is None or self.session_state == "idle":
            return IdleSession()
        state = SessionState(self.session_state)
        return SessionNow(
            id=self.run_id,
            state=state,
            routine="bedtime",
            title="Bedtime unwind",
            level=1,
            level_reason="level 1 of 4: starting gently",
            offset_s=0.0,
            total_s=600.0,
            reason=_FAKE_REASONS.get(state, ""),
            pattern=BreathPattern(**PATTERN),
            step=FIRST_STEP if not state.is_final else None,
            steps=2,
        )

    def routines(self) -> list[RoutineSummary]:
        return list(ROUTINES)

    def start_session(self, routine: str, pain_before: int | None) -> str:
        with self._lock:
            if routine not in {r.name for r in ROUTINES}:
                raise UnknownNameError("routine", routine, [r.name for r in ROUTINES])
            if self.session_state in ("running", "paused"):
                raise SessionError("a routine is already running")
            self._next += 1
            self.run_id = f"run{self._next:04d}"
            self.session_state = "running"
            self.started.append((routine, pain_before))
            return self.run_id

    def command(self, name: str) -> SessionStatus:
        with self._lock:
            allowed = {
                "pause": ("running",),
                "resume": ("paused",),
                "skip": ("running", "paused"),
                "stop": ("running", "paused"),
                "pain": ("running", "paused"),
            }
            if name not in allowed:
                raise UnknownNameError("command", name, list(allowed))
            if self.session_state not in allowed[name]:
                raise SessionError(f"cannot {name}: the session is {self.session_state}")
            self.commands.append(name)
            after = {"pause": "paused", "resume": "running", "stop": "stopped", "pain": "pain"}
            self.session_state = after.get(name, self.session_state)
            if self.session_state in ("stopped", "pain"):
                self.finished_run = self.run_id
            return self._session_status()

    def rate_pain_after(self, pain: int) -> None:
        with self._lock:
            if self.finished_run is None:
                raise SessionError("there is no finished routine to rate")
            self.ratings.append(pain)

    def subscribe_feed(self) -> FeedSubscriber:
        return self.feed.subscribe()

    def scan(self, timeout: float) -> list[FoundDevice]:
        self.scans.append(timeout)
        return list(self.found)

    def choose_device(self, address: str | None) -> None:
        self.chosen.append(address)

    def buzz(self, cue: CueName) -> bool:
        self.commands.append(f"buzz:{cue}")
        return True

    def reminders_changed(self) -> None:
        self.commands.append("reminders_changed")

    def snooze_reminder(self, reminder_id: int) -> float:
        self.commands.append(f"snooze:{reminder_id}")
        return T0 + 600.0

    # --- driving it from tests -----------------------------------------------------------
    def publish(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, HeartRateSample):
                self.last_hr = HeartRateNow(
                    hr=event.hr,
                    contact=event.contact,
                    t=event.wall,
                    rr_ms=event.rr_ms,
                    age_s=0.0,
                    stale=False,
                )
            if isinstance(event, SessionStateChanged):
                self.session_state = event.state.value
                if event.state.is_final:
                    self.finished_run = event.run_id
        self.feed.publish(event)


def hr_event(hr: int, *, contact: bool | None = True, wall: float = T0) -> HeartRateSample:
    return HeartRateSample(
        mono=0.0, wall=wall, device=BAND, hr=hr, contact=contact, energy_kj=None, rr_ms=()
    )


def cue_event(run_id: str, cue: str, at_s: float, duration_s: float = 0.0) -> CueFired:
    return CueFired(
        mono=0.0,
        wall=T0 + at_s,
        run_id=run_id,
        step=0,
        cue=cue,
        planned_s=at_s,
        actual_s=at_s + 0.01,
        on_wrist=True,
        duration_s=duration_s,
    )


def state_event(run_id: str, state: SessionState) -> SessionStateChanged:
    return SessionStateChanged(mono=0.0, wall=T0, run_id=run_id, state=state, step=0)


def link_event(state: LinkState) -> LinkChanged:
    return LinkChanged(mono=0.0, wall=T0, device=BAND, state=state)


# --- a store with history ----------------------------------------------------------------

PLAN = bedtime_plan(level=1, level_reason="level 1 of 4: starting gently")


def session_events(run_id: str, wall: float, outcome: SessionState) -> list[Event]:
    """A whole recorded session: start, two steps, samples every second, a hold-end cue,
    a dropped link, and its end."""
    events: list[Event] = [
        link_event(LinkState.CONNECTED),
        session_started(run_id, wall, PLAN, pain_before=5),
    ]
    for idx, planned in enumerate(PLAN.steps):
        events.append(step_started(run_id, planned, wall + planned.start_s))
        for second in range(int(planned.start_s), int(planned.end_s)):
            events.append(hr_event(60 + second % 7, wall=wall + second))
        if idx == 0:
            events.append(
                CueFired(
                    mono=0.0,
                    wall=wall + 30.2,
                    run_id=run_id,
                    step=0,
                    cue="hold-end",
                    planned_s=30.0,
                    actual_s=30.2,
                    on_wrist=True,
                    duration_s=0.4,
                )
            )
            events.append(
                LinkChanged(
                    mono=0.0, wall=wall + 31, device=BAND, state=LinkState.LOST, detail="range"
                )
            )
    events.append(
        SessionStateChanged(mono=0.0, wall=wall + 60, run_id=run_id, state=outcome, step=1)
    )
    return events


# --- resonance assessments, as the scorer answers them ---------------------------------------

RESONANCE_ANSWER: dict[str, Any] = {
    "verdict": "answered",
    "pace_per_min": 5.5,
    "confidence": 0.9,
    "inhale_s": 4.4,
    "exhale_s": 6.5,
    "message": "Your resonance pace: 5.5 breaths a minute, confidence 90%.",
    "paces": [],
}
RESONANCE_NO_ANSWER: dict[str, Any] = {
    **RESONANCE_ANSWER,
    "verdict": "too_few_good_paces",
    "pace_per_min": None,
    "confidence": 0.0,
    "inhale_s": None,
    "exhale_s": None,
    "message": "No clear answer, try again: too few paces had clean enough heartbeats "
    "(check the band sits snugly and stays in range).",
}


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, empty database file, copied for each test (migrating takes a while)."""
    path = tmp_path_factory.mktemp("template") / "companion.db"
    upgrade_to_head(sqlite_url(path))
    return path


@pytest.fixture
def engine(migrated_db: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "companion.db"
    path.write_bytes(migrated_db.read_bytes())
    engine = create_engine_for_url(sqlite_url(path))
    yield engine
    engine.dispose()


# Fast streams for tests: a heartbeat every 50 ms and a quick look at the shutdown flag.
TEST_SETTINGS = WebSettings(heartbeat_s=0.05, poll_s=0.01, max_streams=2)


@pytest.fixture
def settings() -> WebSettings:
    """The app's settings; a test file serving other ones overrides this fixture."""
    return TEST_SETTINGS


@pytest.fixture
def core(settings: WebSettings) -> FakeCore:
    """Its feed takes as many streams as the app's settings allow, as the wiring gives the
    real host's."""
    return FakeCore(max_streams=settings.max_streams)


@pytest.fixture
def app(core: FakeCore, engine: Engine, settings: WebSettings) -> Flask:
    return create_app(core, store_engine=engine, settings=settings, test_config={"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- the app served on a free port, for the browser tests -------------------------------------


@pytest.fixture
def stored_history() -> Callable[[], float] | None:
    """What the store holds when ``server`` starts serving, and the clock that tells the app
    which day it is (None: the app's own). Nothing more, unless a test file overrides this
    fixture with its history and the moment it is seen at."""
    return None


@pytest.fixture
def server(
    core: FakeCore,
    engine: Engine,
    settings: WebSettings,
    stored_history: Callable[[], float] | None,
) -> Iterator[RunningServer]:
    """The dashboard for ``core`` and ``engine``, served by waitress on a free port; a test
    file serving to a browser overrides ``settings`` (e.g. with ``BROWSER_SETTINGS``)."""
    with serving(core, engine, settings, stored_history) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for a whole test file (starting it is most of a test's time); each test
    gets a fresh context, so no cookies or storage leak from one to the next."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, server: RunningServer) -> Iterator[Page]:
    """A page of its own; closed before the server stops, so its live stream never sees
    the server go away."""
    with fresh_page(browser) as page:
        yield page


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the client's browser session, as a page would carry it."""
    response = client.get("/api/csrf")
    assert response.status_code == 200
    token = response.get_json()["csrf_token"]
    assert isinstance(token, str)
    return token


@pytest.fixture
def browser_client(client: FlaskClient) -> FlaskClient:
    """A test client that sends the CSRF header with every request, like the pages do."""
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_of(client)
    return client


# --- the OpenAPI document as a contract ------------------------------------------------------


def schema_problems(name: str, value: Any) -> list[str]:
    """Where ``value`` breaks the OpenAPI document's schema ``name`` ([] when it fits);
    formats (date, date-time) are checked too."""
    document = openapi_document()
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    return [
        f"{'/'.join(map(str, error.instance_path))}: {error.message}"
        for error in validator.iter_errors(value)
    ]
