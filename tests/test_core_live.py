"""Live means live: a heart rate that stops arriving is marked stale, in status and stream."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from companion.ble.transport import LinkStack
from companion.ble.virtual_band import VirtualBand
from companion.catalogues import Catalogues
from companion.config import Settings
from companion.events import (
    Event,
    HeartRateSample,
    HeartRateStale,
    SessionState,
    SessionStateChanged,
)
from companion.json_records import to_json
from companion.session.host import STALE_AFTER_S, SessionHost
from companion.wiring import StoreUse, build_companion
from tests.support import eventually

# The whole stack on virtual time: waits for drops and silences take no real time.
pytestmark = pytest.mark.virtual_time


@dataclasses.dataclass
class LiveCore:
    core: SessionHost
    stack: LinkStack
    band: VirtualBand
    events: list[Event]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveCore]:
    """The core on the in-process virtual band, connected, with every bus event recorded."""
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    catalogues = Catalogues.load(settings)
    events: list[Event] = []
    async with build_companion(settings, catalogues=catalogues, store=StoreUse.NONE) as built:
        core, stack = built.host, built.links
        core.bus.subscribe(events.append)
        assert await stack.link.async_wait_connected(15)
        assert stack.band is not None
        yield LiveCore(core, stack, stack.band, events)


@pytest.mark.timeout(90)
async def test_a_dropped_band_turns_its_last_heart_rate_stale_within_three_seconds(
    live: LiveCore,
) -> None:
    core, stack, band, events = live.core, live.stack, live.band, live.events
    await eventually(lambda: any(isinstance(e, HeartRateSample) for e in events), 10, "hr")

    fresh = to_json(core.status())["heart_rate"]
    assert fresh is not None
    assert fresh["stale"] is False and fresh["age_s"] <= STALE_AFTER_S

    band.start_drop(away_s=30.0)
    await eventually(
        lambda: any(isinstance(e, HeartRateStale) for e in events), 10, "the stale event"
    )
    last = [e for e in events if isinstance(e, HeartRateSample)][-1]
    stale_event = next(e for e in events if isinstance(e, HeartRateStale))
    # Announced at the threshold, not a beat sooner and not long after.
    assert STALE_AFTER_S <= stale_event.mono - last.mono < STALE_AFTER_S + 1.0
    assert (stale_event.last_hr, stale_event.last_wall) == (last.hr, last.wall)
    assert stale_event.to_json()["type"] == "hr_stale"

    shown = to_json(core.status())["heart_rate"]
    assert shown is not None
    assert shown["stale"] is True
    assert shown["age_s"] >= STALE_AFTER_S
    assert shown["hr"] == last.hr  # kept as "last", never as live
    # The band line after a reload says why, as the link event did.
    link = to_json(core.status())["link"]
    assert (link["state"], link["detail"]) == (stack.link.state.value, stack.link.state_detail)
    assert link["detail"]


@pytest.mark.timeout(150)
async def test_exertion_on_the_virtual_band_brings_the_safety_pause_to_the_dashboard(
    live: LiveCore,
) -> None:
    core, band, events = live.core, live.band, live.events
    await core.start_session("morning", pain_before=None)
    feed = core.feed.subscribe()

    band.exert(130)
    await eventually(lambda: to_json(core.session_status())["state"] == "paused", 100, "the pause")

    status = to_json(core.status())
    paused = [e for e in events if isinstance(e, SessionStateChanged)][-1]
    assert paused.state == SessionState.PAUSED
    assert paused.reason.startswith("safety: heart rate")
    safety = [n for n in status["notices"] if n["topic"] == "safety"]
    assert safety and safety[0]["message"].startswith("Paused:")
    streamed = []
    while (event := feed.get(0.0)) is not None:
        streamed.append(event.kind)
    # What the dashboard's stream carried: the buzz, the notice, then the pause.
    assert streamed.index("notice") < streamed.index("state")
    assert "cue" in streamed[: streamed.index("notice")]
    assert status["heart_rate"] is not None and status["heart_rate"]["hr"] > 100
    band.rest()
    core.command("stop")
