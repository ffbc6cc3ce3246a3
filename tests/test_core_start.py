"""One routine at a time: concurrent starts and a Pain press, judged at the band."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from companion.catalogues import Catalogues
from companion.config import Settings
from companion.errors import SessionError
from companion.events import Event, SessionState, SessionStateChanged
from companion.json_records import to_json
from companion.store.opening import open_store
from companion.store.schema import Session
from companion.wiring import build_companion
from tests.support import eventually

# On virtual time (the store's reads and the recorder stay real threads).
pytestmark = pytest.mark.virtual_time

# Longer than the taster's slowest breath (6 s out), so a runner left behind would buzz.
QUIET_AFTER_PAIN_S = 8.0


@pytest.mark.timeout(120)
async def test_fifty_concurrent_starts_run_one_routine_and_pain_silences_the_band(
    tmp_path: Path,
) -> None:
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    catalogues = Catalogues.load(settings)
    started: list[str] = []

    def on_event(event: Event) -> None:
        if isinstance(event, SessionStateChanged) and event.reason == "started":
            started.append(event.run_id)

    with open_store(settings) as store:
        async with build_companion(settings, catalogues=catalogues, store=store) as built:
            core, stack = built.host, built.links
            core.bus.subscribe(on_event)
            assert await stack.link.async_wait_connected(15)
            band = stack.band
            assert band is not None

            results = await asyncio.gather(
                *(core.start_session("taster", pain_before=2) for _ in range(50)),
                return_exceptions=True,
            )
            run_ids = [r for r in results if isinstance(r, str)]
            refused = [r for r in results if isinstance(r, SessionError)]
            assert len(run_ids) == 1
            assert len(refused) == 49
            assert started == run_ids

            await eventually(lambda: len(band.vibrations) > 0, what="the first breath cue")
            status = to_json(core.command("pain"))
            assert status["state"] == SessionState.PAIN.value
            await stack.link.async_drain(10.0)  # the pain pattern itself (5.5 s long)
            await asyncio.sleep(0.5)
            felt_at_pain = len(band.vibrations)
            await asyncio.sleep(QUIET_AFTER_PAIN_S)
            assert len(band.vibrations) == felt_at_pain, "the band buzzed after Pain"
        assert await asyncio.to_thread(store.recorder.flush, 10.0)

        with store.engine.connect() as conn:
            sessions = conn.execute(select(func.count()).select_from(Session)).scalar_one()
            outcome = conn.execute(select(Session.outcome)).scalar_one()
    assert sessions == 1
    assert outcome == SessionState.PAIN.value


@pytest.mark.timeout(60)
async def test_pain_while_a_start_is_reading_the_store_cancels_that_start(
    tmp_path: Path,
) -> None:
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    catalogues = Catalogues.load(settings)
    with open_store(settings) as store:
        async with build_companion(settings, catalogues=catalogues, store=store) as built:
            core, stack = built.host, built.links
            assert await stack.link.async_wait_connected(15)
            band = stack.band
            assert band is not None
            start = asyncio.ensure_future(core.start_session("taster", pain_before=None))
            await asyncio.sleep(0)  # the start has claimed the core and awaits the store
            assert to_json(core.command("pain"))["state"] == "idle"
            with pytest.raises(SessionError, match="pain reported"):
                await start
            assert core.runner is None
            # And the core is free for the next start.
            run_id = await core.start_session("taster", pain_before=None)
            assert to_json(core.session_status())["id"] == run_id
            core.command("stop")
            await stack.link.async_drain(5.0)
