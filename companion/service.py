"""The composition root: builds every long-lived part once and starts and stops them in order.

Start: data dir -> store (migrate, mark interrupted sessions) -> recorder thread -> core
loop (bus, band link, engine) -> scheduler -> web server. Stop runs the other way, and
a routine still running when the service stops is recorded as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import tzlocal
from sqlalchemy import Engine

from companion.ble.profiles import DeviceProfile, load_profiles, select_profile
from companion.bus import EventBus
from companion.clock import WallClock
from companion.config import Settings
from companion.core import Core, CoreHandle, CoreSettings
from companion.events import Notice, SessionState
from companion.links import BandChoice, LinkStack, band_link
from companion.reminder_service import ReminderHost
from companion.routines.catalog import Routine, load_routines
from companion.routines.pacer import BreathPattern
from companion.routines.progression import (
    ProgressionLevel,
    ProgressionPolicy,
    SessionOutcome,
    progression_level,
)
from companion.routines.watch import SafetySettings
from companion.store.database import create_engine_for_url, upgrade_to_head
from companion.store.queries import get_setting, put_setting, recent_outcomes
from companion.store.recorder import Recorder, mark_interrupted_sessions

_LOGGER = logging.getLogger(__name__)

HISTORY_FOR_PROGRESSION = 50
SETTINGS_KEY = "preferences"
DEVICE_KEY = "device"  # the band chosen on the dashboard, used until another is chosen


@dataclass
class Store:
    """The store's two faces: an engine for reads and the recorder, the single writer."""

    engine: Engine
    recorder: Recorder

    def close(self) -> None:
        self.recorder.stop()
        self.engine.dispose()


@contextlib.contextmanager
def open_store(
    settings: Settings, on_health_change: Callable[[bool, str], None] | None = None
) -> Iterator[Store]:
    settings.ensure_data_dir()
    upgrade_to_head(settings.db_url)
    engine = create_engine_for_url(settings.db_url)
    interrupted = mark_interrupted_sessions(engine, time.time())
    if interrupted:
        _LOGGER.warning("marked %d unfinished session(s) as interrupted", len(interrupted))
    recorder = Recorder(settings.db_url, on_health_change=on_health_change)
    recorder.start()
    store = Store(engine=engine, recorder=recorder)
    try:
        yield store
    finally:
        store.close()


def _level_from(engine: Engine) -> ProgressionLevel:
    rows = recent_outcomes(engine, HISTORY_FOR_PROGRESSION)
    finished = {s.value for s in SessionState if s.is_final}
    history = [
        SessionOutcome(row.routine, SessionState(row.outcome.value), row.ended_at or 0.0)
        for row in reversed(rows)
        if row.outcome.value in finished
    ]
    return progression_level(history, ProgressionPolicy())


def progression_level_from_store(url: str) -> ProgressionLevel:
    engine = create_engine_for_url(url)
    try:
        return _level_from(engine)
    finally:
        engine.dispose()


def progression_loader(engine: Engine) -> Callable[[str], asyncio.Future[ProgressionLevel]]:
    """Reads recent outcomes off the loop (a database read) and applies the pure policy."""

    async def load(_routine: str) -> ProgressionLevel:
        return await asyncio.to_thread(_level_from, engine)

    return load  # type: ignore[return-value]


def core_settings(engine: Engine | None) -> CoreSettings:
    """The person's saved breathing pattern and heart-rate ceiling, or the defaults."""
    saved = get_setting(engine, SETTINGS_KEY, {}) if engine is not None else {}
    try:
        pattern = BreathPattern(**saved["pattern"]) if saved.get("pattern") else None
        ceiling = saved.get("hr_ceiling")
        safety = SafetySettings(ceiling_bpm=int(ceiling)) if ceiling else SafetySettings()
    except (TypeError, ValueError) as exc:
        # The web layer validates what it saves; anything else falls back to the defaults.
        _LOGGER.warning("ignored saved preferences %r: %s", saved, exc)
        return CoreSettings(pattern=None, safety=SafetySettings())
    return CoreSettings(pattern=pattern, safety=safety)


def load_token(settings: Settings) -> tuple[str, bool]:
    """The dashboard token, made on first need and kept owner-only; (token, newly made)."""
    path = settings.token_file
    if path.exists():
        return path.read_text().strip(), False
    settings.ensure_data_dir()
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True


@dataclass(frozen=True)
class Catalogues:
    profiles: dict[str, DeviceProfile]
    routines: dict[str, Routine]

    @classmethod
    def load(cls, settings: Settings) -> Catalogues:
        return cls(
            profiles=load_profiles(settings.profiles_dir),
            routines=load_routines(settings.routines_dir),
        )

    def band_choice(self, settings: Settings) -> BandChoice:
        profile = select_profile(self.profiles, settings.profile) if settings.profile else None
        return BandChoice(
            hci=settings.hci, simulate=settings.simulate, device=settings.device, profile=profile
        )


@contextlib.asynccontextmanager
async def running_core(
    settings: Settings,
    catalogues: Catalogues,
    store: Store | None,
    *,
    max_streams: int = 8,
) -> AsyncIterator[tuple[Core, LinkStack]]:
    """The core on the running loop, wired to the recorder; a routine left running is
    recorded as interrupted when this closes."""
    bus = EventBus()
    clock = WallClock()
    if store is not None:
        bus.subscribe(store.recorder.submit)
    choice = catalogues.band_choice(settings)
    async with band_link(choice, bus, catalogues.profiles, clock=clock) as stack:
        core = Core(
            bus=bus,
            link=stack.link,
            routines=catalogues.routines,
            profile_for_plans=choice.profile,
            # A database read: off the loop, like every other.
            settings=await asyncio.to_thread(core_settings, store.engine if store else None),
            preferences=_preferences_loader(store.engine) if store else None,
            progression=progression_loader(store.engine) if store else _first_level,
            max_streams=max_streams,
            clock=clock,
        )
        try:
            yield core, stack
        finally:
            core.interrupt("the companion was shut down")


def _preferences_loader(engine: Engine) -> Callable[[], Awaitable[CoreSettings]]:
    async def load() -> CoreSettings:
        return await asyncio.to_thread(core_settings, engine)

    return load


async def _first_level(_routine: str) -> ProgressionLevel:
    return progression_level([], ProgressionPolicy())


def store_notice(handle_holder: list[CoreHandle]) -> Callable[[bool, str], None]:
    """Tell the person (dashboard and log) when the store stops or starts accepting writes."""

    def on_change(ok: bool, message: str) -> None:
        level = "info" if ok else "error"
        text = (
            "Saving works again; nothing was lost."
            if ok
            else f"Sessions cannot be saved right now ({message}). Keep going: everything is "
            "kept in memory and written once the disk is back."
        )
        (_LOGGER.info if ok else _LOGGER.error)("store: %s", message)
        for handle in handle_holder:
            handle.publish(
                Notice(
                    mono=time.monotonic(),
                    wall=time.time(),
                    level=level,
                    topic="store",
                    message=text,
                )
            )

    return on_change


def reminder_host(
    engine: Engine,
    handle: CoreHandle,
    catalogues: Catalogues,
    store_upkeep: Callable[[], None] | None = None,
) -> ReminderHost:
    tz = tzlocal.get_localzone()

    def summary_line(day: dt.date) -> str:
        from companion.store.summary_facts import summary_for
        from companion.summary import one_line

        return one_line(summary_for(engine, day, tz, dt.datetime.now(tz), breathing=True))

    def title(name: str) -> str:
        routine = catalogues.routines.get(name)
        return routine.title.lower() if routine else name

    return ReminderHost(
        engine=engine,
        tz=tz,
        buzz=handle.buzz,
        show_text=handle.show_text,
        publish=handle.publish,
        summary_line=summary_line,
        routine_title=title,
        store_upkeep=store_upkeep,
    )


def run_service(settings: Settings, *, announce: Callable[[str], None]) -> int:
    """``companion run``: everything in one process until SIGINT/SIGTERM."""
    from web import create_app
    from web.server import serve
    from web.settings import WebSettings, is_loopback

    catalogues = Catalogues.load(settings)
    token: str | None = None
    if not is_loopback(settings.host):
        token, fresh = load_token(settings)
        if fresh:
            announce(f"Dashboard token (shown once, kept in {settings.token_file}): {token}")
    web_settings = WebSettings(host=settings.host, token=token)
    handles: list[CoreHandle] = []

    with open_store(settings, on_health_change=store_notice(handles)) as store:
        if settings.device is None:
            remembered = get_setting(store.engine, DEVICE_KEY)
            if isinstance(remembered, str):
                settings = dataclasses.replace(settings, device=remembered)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            async with running_core(
                settings, catalogues, store, max_streams=web_settings.max_streams + 2
            ) as (core, _stack):
                handle = CoreHandle(
                    core, loop, lambda address: put_setting(store.engine, DEVICE_KEY, address)
                )
                handles.append(handle)
                from companion.store.upkeep import StoreUpkeep

                upkeep = StoreUpkeep(settings.db_url, settings.data_dir)
                reminders = reminder_host(store.engine, handle, catalogues, upkeep.run)
                await asyncio.to_thread(reminders.start)
                handle.reminders = reminders
                app = create_app(handle, store_engine=store.engine, settings=web_settings)
                server = await asyncio.to_thread(serve, app, settings.host, settings.port)
                try:
                    announce(f"Dashboard: {server.url}")
                    await stop.wait()
                    announce("Stopping…")
                finally:
                    await asyncio.to_thread(server.close)
                    await asyncio.to_thread(reminders.stop)

        asyncio.run(main())
    return 0
