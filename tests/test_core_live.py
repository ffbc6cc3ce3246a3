"""Live means live: a heart rate that stops arriving is marked stale, in status and stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.config import Settings
from companion.core import STALE_AFTER_S
from companion.events import Event, HeartRateSample, HeartRateStale
from companion.service import Catalogues, running_core
from tests.support import eventually

pytestmark = pytest.mark.slow


@pytest.mark.timeout(90)
async def test_a_dropped_band_turns_its_last_heart_rate_stale_within_three_seconds(
    tmp_path: Path,
) -> None:
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    catalogues = Catalogues.load(settings)
    events: list[Event] = []
    async with running_core(settings, catalogues, store=None) as (core, stack):
        core.bus.subscribe(events.append)
        assert await stack.link.async_wait_connected(15)
        band = stack.band
        assert band is not None
        await eventually(lambda: any(isinstance(e, HeartRateSample) for e in events), 10, "hr")

        live = core.status()["heart_rate"]
        assert live is not None
        assert live["stale"] is False and live["age_s"] <= STALE_AFTER_S

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

        shown = core.status()["heart_rate"]
        assert shown is not None
        assert shown["stale"] is True
        assert shown["age_s"] >= STALE_AFTER_S
        assert shown["hr"] == last.hr  # kept as "last", never as live
        # The band line after a reload says why, as the link event did.
        link = core.status()["link"]
        assert (link["state"], link["detail"]) == (stack.link.state.value, stack.link.state_detail)
        assert link["detail"]
