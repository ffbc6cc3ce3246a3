"""A reminder firing in the running core buzzes the virtual band and raises the banner."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from companion.config import Settings
from companion.events import Event, Notice, ReminderDue
from companion.reminders.model import parse_days
from companion.store.reminders import add_reminder
from companion.wiring import build_companion
from tests.support import eventually

pytestmark = pytest.mark.slow


async def test_a_due_reminder_buzzes_the_band_and_puts_up_a_banner(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    events: list[Event] = []
    async with build_companion(settings, reminders=True, listeners=[events.append]) as companion:
        stack, store, host = companion.links, companion.store, companion.reminders
        assert store is not None and host is not None
        reminder = await asyncio.to_thread(
            add_reminder, store.engine, at=dt.time(21, 30), days=parse_days(None),
            routine="bedtime", now_wall=companion.clock.now(),
        )  # fmt: skip
        assert await stack.link.async_wait_connected(15) and stack.band is not None

        # The scheduler's thread runs the job; here we run it on a thread the same way.
        await asyncio.to_thread(host.remind, reminder.id, False, companion.clock.now())
        await eventually(lambda: len(stack.band.vibrations) >= 2, what="the reminder buzz")

        banner = next(e for e in events if isinstance(e, ReminderDue))
        assert (banner.reminder_id, banner.routine, banner.on_wrist) == (
            reminder.id, "bedtime", True,
        )  # fmt: skip
        assert banner.message == "Time for your bedtime routine."
        profile = stack.link.profile
        assert profile is not None
        expected = [w.value for w in profile.cue_writes("reminder")]
        assert [v.value for v in stack.band.vibrations] == expected

        await asyncio.to_thread(host.morning_summary, companion.clock.now())
        await eventually(
            lambda: any(isinstance(e, Notice) and e.topic == "summary" for e in events),
            what="the summary notice",
        )
