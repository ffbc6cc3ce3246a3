"""The taster routine end to end over the virtual radio: the band records every planned write."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from companion.catalogues import Catalogues
from companion.config import Settings
from companion.events import Event, SessionState, SessionStateChanged
from companion.routines.haptics import write_timeline
from companion.wiring import StoreUse, build_companion
from tests.support import eventually

# The whole stack on virtual time: the one-minute taster takes a few seconds.
pytestmark = pytest.mark.virtual_time

# Loose on purpose: this pins that each write arrives for its own cue and in order; the
# timing figures themselves are measured in bench/cue_timing.py.
TOLERANCE_S = 0.25


@pytest.mark.timeout(180)
async def test_taster_runs_through_and_the_band_feels_every_planned_write_on_time(
    tmp_path: Path,
) -> None:
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    catalogues = Catalogues.load(settings)
    finished = asyncio.Event()
    states: list[SessionState] = []

    def on_event(event: Event) -> None:
        if isinstance(event, SessionStateChanged):
            states.append(event.state)
            if event.state.is_final:
                finished.set()

    async with build_companion(settings, catalogues=catalogues, store=StoreUse.NONE) as built:
        core, stack = built.host, built.links
        core.bus.subscribe(on_event)
        assert await stack.link.async_wait_connected(15)
        assert stack.band is not None
        await core.start_session("taster", pain_before=3)
        plan = core.runner.plan if core.runner else None
        assert plan is not None
        await asyncio.wait_for(finished.wait(), plan.total_s + 20)
        await stack.link.async_drain(5.0)  # the routine-end pattern's last write
        # The plan is composed for the band's one channel: its writes are what it receives.
        planned = [
            (timed.at_s, timed.write.value)
            for timed in write_timeline(c.delivery for c in plan.cues if c.delivery)
        ]
        assert planned
        band = stack.band
        await eventually(lambda: len(band.vibrations) >= len(planned), what="the last writes")
        received = list(band.vibrations)

    assert states == [SessionState.RUNNING, SessionState.COMPLETED]
    assert [value for _, value in planned] == [v.value for v in received]
    start = received[0].mono
    errors = [abs((v.mono - start) - at) for (at, _), v in zip(planned, received, strict=True)]
    assert max(errors) < TOLERANCE_S
