"""The bus delivers in causal order: an event reaches every listener before what it caused."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import ClassVar

from companion.ble.profiles import DeviceProfile, load_profiles
from companion.bus import EventBus
from companion.cues import CueName
from companion.events import (
    BandScript,
    CueFired,
    Event,
    HeartRateSample,
    Notice,
    SessionStarted,
    SessionState,
    SessionStateChanged,
)
from companion.routines.catalog import load_routines
from companion.routines.plan import band_script
from companion.routines.progression import ProgressionLevel, ProgressionPolicy, progression_level
from companion.routines.watch import SafetySettings
from companion.session.host import CoreSettings, SessionHost


def _sample(hr: int) -> HeartRateSample:
    return HeartRateSample(mono=0.0, wall=0.0, device="band", hr=hr, contact=True,
                           energy_kj=None, rr_ms=())  # fmt: skip


def test_an_event_published_by_a_listener_waits_until_every_listener_has_the_first() -> None:
    bus = EventBus()
    seen: list[tuple[str, int]] = []

    def reacting(event: Event) -> None:
        seen.append(("reacting", event.hr if isinstance(event, HeartRateSample) else -1))
        if isinstance(event, HeartRateSample) and event.hr == 1:
            bus.publish(_sample(2))

    bus.subscribe(reacting)
    bus.subscribe(lambda e: seen.append(("later", e.hr if isinstance(e, HeartRateSample) else -1)))
    bus.publish(_sample(1))

    assert seen == [("reacting", 1), ("later", 1), ("reacting", 2), ("later", 2)]


def test_a_failing_listener_does_not_stop_delivery_of_later_events() -> None:
    bus = EventBus()
    seen: list[int] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(lambda e: seen.append(e.hr if isinstance(e, HeartRateSample) else -1))
    bus.publish(_sample(1))
    bus.publish(_sample(2))
    assert seen == [1, 2]


async def _first_level(_routine: str) -> ProgressionLevel:
    return progression_level([], ProgressionPolicy())


def _host(
    bus: EventBus,
    *,
    profile: DeviceProfile | None = None,
    safety: SafetySettings | None = None,
) -> tuple[SessionHost, list[Event]]:
    """A session host on ``bus`` with the built-in routines, and every event the bus carried."""
    on_bus: list[Event] = []
    bus.subscribe(on_bus.append)
    host = SessionHost(
        bus=bus,
        link=None,
        routines=load_routines(None),
        profile_for_plans=profile,
        settings=CoreSettings(pattern=None, safety=safety or SafetySettings()),
        progression=_first_level,
    )
    return host, on_bus


async def test_the_dashboard_feed_gets_the_sample_before_the_safety_pause_it_caused() -> None:
    bus = EventBus()
    core, _ = _host(bus, safety=SafetySettings(sustained_s=0.0))
    feed = core.feed.subscribe()
    await core.start_session("taster", pain_before=None)
    await asyncio.sleep(0)
    while feed.get(0.0) is not None:
        pass  # what the start sent

    bus.publish(_sample(150))  # above the 120 bpm ceiling
    kinds = []
    while (event := feed.get(0.0)) is not None:
        kinds.append(event)
    core.command("stop")

    assert isinstance(kinds[0], HeartRateSample)
    assert isinstance(kinds[1], CueFired) and kinds[1].cue is CueName.SAFETY
    assert isinstance(kinds[2], Notice) and kinds[2].topic == "safety"
    assert isinstance(kinds[3], SessionStateChanged) and kinds[3].state == SessionState.PAUSED


async def test_the_dashboard_feed_gets_the_plans_steps_and_the_store_the_whole_plan() -> None:
    bus = EventBus()
    core, on_bus = _host(bus)
    feed = core.feed.subscribe()
    await core.start_session("morning", pain_before=None)
    core.command("stop")

    full = next(e for e in on_bus if isinstance(e, SessionStarted))
    shown = None
    while (event := feed.get(0.0)) is not None:
        if isinstance(event, SessionStarted):
            shown = event
    assert shown is not None
    full_plan, shown_plan = full.to_json()["plan"], shown.to_json()["plan"]
    assert full_plan["cues"]  # the recorder stores every cue of the plan
    assert "cues" not in shown_plan
    assert shown_plan["steps"] == full_plan["steps"]
    assert {k: v for k, v in shown_plan.items()} == {
        k: v for k, v in full_plan.items() if k != "cues"
    }


async def test_the_band_script_follows_the_start_on_the_bus_and_stays_off_the_dashboard() -> None:
    bus = EventBus()
    core, on_bus = _host(bus, profile=load_profiles(None)["immediate-alert"])
    feed = core.feed.subscribe()
    run_id = await core.start_session("taster", pain_before=None)
    core.command("stop")

    started = next(e for e in on_bus if isinstance(e, SessionStarted))
    sent = next(e for e in on_bus if isinstance(e, BandScript))
    assert on_bus.index(started) < on_bus.index(sent)
    assert sent.run_id == run_id
    assert sent.writes and sent.writes == band_script(started.plan)
    assert "band_writes" not in started.to_json()["plan"]
    assert sent.to_json()["writes"] == [w.to_json() for w in sent.writes]
    shown = []
    while (event := feed.get(0.0)) is not None:
        shown.append(event)
    assert any(isinstance(e, SessionStarted) for e in shown)
    assert not any(isinstance(e, BandScript) for e in shown)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _OnDashboard(Event):
    kind: ClassVar[str] = "test_shown"


@dataclasses.dataclass(frozen=True, kw_only=True)
class _OffDashboard(Event):
    kind: ClassVar[str] = "test_kept"
    on_dashboard: ClassVar[bool] = False


def test_the_dashboard_feed_gets_exactly_the_events_that_say_they_reach_it() -> None:
    bus = EventBus()
    core, on_bus = _host(bus)
    feed = core.feed.subscribe()
    published = [
        _OnDashboard(mono=0.0, wall=0.0),
        _OffDashboard(mono=0.0, wall=0.0),
        BandScript(mono=0.0, wall=0.0, run_id="r", writes=()),
        Notice(mono=0.0, wall=0.0, level="info", topic="t", message="m"),
    ]
    for event in published:
        bus.publish(event)
    shown = []
    while (event := feed.get(0.0)) is not None:
        shown.append(event)

    assert on_bus == published
    assert shown == [e for e in published if e.on_dashboard]
    assert [type(e) for e in shown] == [_OnDashboard, Notice]


async def test_a_plan_not_composed_for_a_band_has_no_band_script() -> None:
    bus = EventBus()
    core, on_bus = _host(bus, profile=load_profiles(None)["polar-h10"])  # no vibration
    await core.start_session("taster", pain_before=None)
    core.command("stop")

    assert any(isinstance(e, SessionStarted) for e in on_bus)
    assert not any(isinstance(e, BandScript) for e in on_bus)
