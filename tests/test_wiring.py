"""The one wiring home (``build_companion``) and the thread bridge's one calling convention."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.ble.virtual_band import BAND_ADDRESS
from companion.bus import EventBus
from companion.catalogues import Catalogues
from companion.clock import WallClock
from companion.config import Settings
from companion.errors import SessionError
from companion.events import Event, Notice
from companion.service_notices import StoreHealthNotices
from companion.session.bridge import LoopCalls, SessionBridge
from companion.wiring import StoreUse, build_companion
from tests.support import eventually
from web.settings import WebSettings

BAND = BAND_ADDRESS  # the virtual band, so every link below connects before it closes


class RecordingMemory:
    """A device memory that notes each write and the thread it ran on."""

    def __init__(self) -> None:
        self.writes: list[tuple[str | None, int]] = []

    def remember(self, address: str | None) -> None:
        self.writes.append((address, threading.get_ident()))


class RecordingReminders:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def resync(self) -> None:
        self.calls.append(("resync", threading.get_ident()))

    def snooze(self, reminder_id: int) -> dt.datetime:
        self.calls.append((f"snooze {reminder_id}", threading.get_ident()))
        return dt.datetime(2030, 1, 1, 21, 40, tzinfo=dt.UTC)


async def test_the_service_whole_is_built_once_and_frozen(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    async with build_companion(settings, reminders=True, web=WebSettings()) as companion:
        assert await companion.links.link.async_wait_connected(15)
        assert companion.store is not None
        assert companion.reminders is not None
        assert companion.app is not None
        with pytest.raises(dataclasses.FrozenInstanceError):
            companion.host = companion.host  # type: ignore[misc]
        # The web threads reach the host through the bridge, on the loop.
        listed = await asyncio.to_thread(companion.bridge.routines)
        assert listed == companion.host.routine_list()


async def test_without_a_store_nothing_is_opened_and_reminders_are_refused(
    tmp_path: Path,
) -> None:
    settings = Settings.build(data_dir=tmp_path / "data", simulate=True)
    with pytest.raises(ValueError, match="reminders need the store"):
        async with build_companion(settings, store=StoreUse.NONE, reminders=True):
            pass
    async with build_companion(settings, store=StoreUse.NONE) as companion:
        assert await companion.links.link.async_wait_connected(15)
        assert companion.store is None and companion.reminders is None and companion.app is None
        with pytest.raises(SessionError, match="reminders are not running"):
            await asyncio.to_thread(companion.bridge.snooze_reminder, 1)
    assert not settings.db_path_exists()


async def test_the_band_chosen_on_the_dashboard_is_used_by_the_next_dashboard(
    tmp_path: Path,
) -> None:
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    async with build_companion(settings, web=WebSettings()) as companion:
        assert await companion.links.link.async_wait_connected(15)
        await asyncio.to_thread(companion.bridge.choose_device, BAND)
    async with build_companion(settings, web=WebSettings()) as again:
        assert await again.links.link.async_wait_connected(15)
        assert again.settings.device == BAND
    # A command with no dashboard keeps the options it was given.
    async with build_companion(settings) as command:
        assert await command.links.link.async_wait_connected(15)
        assert command.settings.device is None


async def test_every_bridge_call_runs_through_the_loop_and_blocking_work_off_it(
    tmp_path: Path,
) -> None:
    settings = Settings.build(data_dir=tmp_path, simulate=True)
    loop_thread = threading.get_ident()
    memory, reminders = RecordingMemory(), RecordingReminders()
    async with build_companion(settings, store=StoreUse.NONE) as companion:
        assert await companion.links.link.async_wait_connected(15)
        bridge = SessionBridge(
            companion.host,
            asyncio.get_running_loop(),
            reminders=reminders,
            device_memory=memory,
        )
        await asyncio.to_thread(bridge.choose_device, None)
        await asyncio.to_thread(bridge.reminders_changed)
        snoozed = await asyncio.to_thread(bridge.snooze_reminder, 7)

        # Called on the loop itself, the bridge says so instead of waiting on itself.
        with pytest.raises(RuntimeError, match="own loop"):
            bridge.status()

    assert snoozed == dt.datetime(2030, 1, 1, 21, 40, tzinfo=dt.UTC).timestamp()
    assert [address for address, _ in memory.writes] == [None]
    assert [name for name, _ in reminders.calls] == ["resync", "snooze 7"]
    # The store write and the scheduler's work ran in worker threads, never on the loop.
    threads = {thread for _, thread in memory.writes} | {thread for _, thread in reminders.calls}
    assert loop_thread not in threads


@pytest.fixture
def stuck_loop() -> Iterator[tuple[asyncio.AbstractEventLoop, threading.Event]]:
    """A loop on its own thread, held busy until the event is set."""
    loop = asyncio.new_event_loop()
    release = threading.Event()
    thread = threading.Thread(target=loop.run_forever, name="stuck-loop")
    thread.start()
    loop.call_soon_threadsafe(release.wait)
    try:
        yield loop, release
    finally:
        release.set()
        # Let the calls that were given up on finish being cancelled before the loop stops.
        asyncio.run_coroutine_threadsafe(_drain(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


async def _drain() -> None:
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)


def test_a_loop_that_does_not_answer_becomes_a_session_error(
    stuck_loop: tuple[asyncio.AbstractEventLoop, threading.Event],
) -> None:
    loop, _release = stuck_loop
    calls = LoopCalls(loop, timeout_s=0.05)

    with pytest.raises(SessionError, match="did not answer in time"):
        calls.run(lambda: "never")


def test_an_answer_that_comes_after_the_caller_gave_up_is_given_back(
    stuck_loop: tuple[asyncio.AbstractEventLoop, threading.Event],
) -> None:
    loop, release = stuck_loop
    release.set()
    calls = LoopCalls(loop, timeout_s=0.05)
    answer_now = threading.Event()
    given_back: list[str] = []
    handed = threading.Event()

    def late() -> str:
        answer_now.wait(5)
        return "a subscription"

    def give_back(value: str) -> None:
        given_back.append(value)
        handed.set()

    with pytest.raises(SessionError, match="did not answer in time"):
        calls.run(late, abandoned=give_back)
    answer_now.set()

    assert handed.wait(5)
    assert given_back == ["a subscription"]
    assert calls.run(lambda: "in time", abandoned=give_back) == "in time"
    assert given_back == ["a subscription"]


def test_a_closed_loop_becomes_a_session_error() -> None:
    loop = asyncio.new_event_loop()
    loop.close()

    with pytest.raises(SessionError, match="stopping"):
        LoopCalls(loop).run(lambda: "never")


async def test_the_stores_health_reaches_the_bus_from_the_recorders_thread() -> None:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    notices = StoreHealthNotices(bus, asyncio.get_running_loop(), WallClock())

    thread = threading.Thread(target=notices, args=(False, "disk full"))
    thread.start()
    thread.join()
    await eventually(lambda: bool(seen), what="the store notice")

    (notice,) = seen
    assert isinstance(notice, Notice)
    assert (notice.topic, notice.level) == ("store", "error")
    assert "disk full" in notice.message


def test_catalogues_are_read_only_and_a_routine_is_added_to_a_copy(tmp_path: Path) -> None:
    built_in = Catalogues.load(Settings.build(data_dir=tmp_path))
    routine = next(iter(built_in.routines.values()))
    catalogues = Catalogues(profiles={}, routines={})

    grown = catalogues.with_routine(routine)

    assert dict(catalogues.routines) == {}
    assert dict(grown.routines) == {routine.name: routine}
    with pytest.raises(TypeError):
        grown.routines[routine.name] = routine  # type: ignore[index]
