"""Fault drills on the real stacks: the virtual radio, a real SQLite file, the whole core.

Each drill runs the one-minute taster and asserts what is kept and what the person sees.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from companion.ble.transport import LinkStack
from companion.catalogues import Catalogues
from companion.config import Settings
from companion.events import (
    CueFired,
    Event,
    LinkChanged,
    LinkState,
    SessionState,
    SessionStateChanged,
)
from companion.session.host import SessionHost
from companion.store.opening import Store, open_store
from companion.store.queries import get_session, list_devices, session_samples
from companion.wiring import build_companion

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@dataclass
class Drill:
    core: SessionHost
    stack: LinkStack
    store: Store
    events: list[Event] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def cues(self) -> list[CueFired]:
        return [e for e in self.events if isinstance(e, CueFired)]

    def link_states(self) -> list[LinkState]:
        return [e.state for e in self.events if isinstance(e, LinkChanged)]

    def final_state(self) -> SessionState:
        return [e for e in self.events if isinstance(e, SessionStateChanged)][-1].state

    async def run_taster(
        self, during: Callable[[float], asyncio.Future[None]] | None = None
    ) -> str:
        run_id = await self.core.start_session("taster", pain_before=2)
        started = time.monotonic()
        if during is not None:
            await during(started)
        await asyncio.wait_for(self.finished.wait(), 120)
        self.store.recorder.flush(10)
        return run_id


@pytest.fixture
async def drill(tmp_path: Path) -> AsyncIterator[Drill]:
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    catalogues = Catalogues.load(settings)
    with open_store(settings) as store:
        async with build_companion(settings, catalogues=catalogues, store=store) as built:
            core, stack = built.host, built.links
            d = Drill(core, stack, store)

            def on_event(event: Event) -> None:
                d.events.append(event)
                if isinstance(event, SessionStateChanged) and event.state.is_final:
                    d.finished.set()

            core.bus.subscribe(on_event)
            assert await stack.link.async_wait_connected(15)
            yield d


async def _at(started: float, offset: float) -> None:
    await asyncio.sleep(max(0.0, started + offset - time.monotonic()))


async def test_band_drops_mid_hold_and_returns_20_s_later(drill: Drill) -> None:
    band = drill.stack.band
    assert band is not None

    async def drop_mid_hold(started: float) -> None:
        await _at(started, 12.0)  # the first hold runs from 10 s to 30 s
        band.start_drop(20.0)

    run_id = await drill.run_taster(drop_mid_hold)

    assert drill.final_state() == SessionState.COMPLETED
    states = drill.link_states()
    assert states.index(LinkState.LOST) < states.index(LinkState.RECONNECTED)
    reconnected_at = next(
        e.mono
        for e in drill.events
        if isinstance(e, LinkChanged) and e.state == LinkState.RECONNECTED
    )
    during_gap = [c for c in drill.cues() if 13.0 <= c.planned_s <= 31.0]
    after = [c for c in drill.cues() if c.mono > reconnected_at + 0.5]
    # Cues went on to the screen while the band was away, and back to the wrist after.
    assert during_gap and not any(c.on_wrist for c in during_gap)
    assert after and all(c.on_wrist for c in after)
    assert any(v.mono > reconnected_at for v in band.vibrations)
    stored = get_session(drill.store.engine, run_id)
    assert stored is not None and stored.outcome == "completed"
    assert [e.state for e in stored.link_events] == [
        "lost",
        "scanning",
        "connecting",
        "reconnected",
    ]
    assert len(stored.cues) == len(drill.cues())


async def test_band_that_never_returns_still_lets_the_routine_end_on_screen(drill: Drill) -> None:
    band = drill.stack.band
    assert band is not None

    async def drop_for_good(started: float) -> None:
        await _at(started, 5.0)
        band.start_drop(None)

    run_id = await drill.run_taster(drop_for_good)

    assert drill.final_state() == SessionState.COMPLETED
    late = [c for c in drill.cues() if c.planned_s >= 10.0]
    assert late and not any(c.on_wrist for c in late)
    assert [c.cue for c in drill.cues()][-1] == "routine-end"
    stored = get_session(drill.store.engine, run_id)
    assert stored is not None and stored.outcome == "completed"
    devices = [(d.name, d.profile) for d in list_devices(drill.store.engine)]
    assert devices == [("Companion Virtual Band", "immediate-alert")]


async def test_a_wall_clock_jump_mid_routine_changes_neither_cue_timing_nor_stored_times(
    drill: Drill, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_time = time.time
    started_wall = real_time()

    async def jump(started: float) -> None:
        await _at(started, 20.0)
        monkeypatch.setattr(time, "time", lambda: real_time() + 3600.0)

    run_id = await drill.run_taster(jump)

    late = [abs(c.actual_s - c.planned_s) for c in drill.cues()]
    assert max(late) < 0.25
    stored = get_session(drill.store.engine, run_id)
    assert stored is not None and stored.ended_at is not None
    duration = stored.ended_at - stored.started_at
    assert duration == pytest.approx(60.0, abs=1.0)
    assert abs(stored.started_at - started_wall) < 2.0
    sample_times = [s.t for s in session_samples(drill.store.engine, run_id)]
    assert sample_times and max(sample_times) - started_wall < 70.0
    cue_times = [c.at for c in stored.cues]
    assert max(cue_times) - started_wall < 70.0
