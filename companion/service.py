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
import errno
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import tzlocal
from sqlalchemy import Engine

from companion.ble.profiles import DeviceProfile, select_profile
from companion.ble.transport import BandChoice, LinkStack, band_link
from companion.bus import EventBus
from companion.clock import WallClock
from companion.config import Settings
from companion.errors import DataFileError, ListenError
from companion.events import Event, LinkChanged, LinkState, Notice
from companion.heart.breathing_watch import BreathingWatcher
from companion.reminders.scheduler import ReminderHost
from companion.routines.catalog import Routine
from companion.routines.pacer import BreathPattern
from companion.routines.progression import ProgressionLevel, ProgressionPolicy, progression_level
from companion.routines.watch import SafetySettings
from companion.session.bridge import SessionBridge
from companion.session.host import CoreSettings, SessionHost
from companion.store.database import (
    check_url,
    create_engine_for_url,
    store_problem,
    upgrade_to_head,
)
from companion.store.progress import level_from
from companion.store.queries import get_setting
from companion.store.recorder import Recorder, mark_interrupted_sessions, replay_spilled
from companion.store.resonance import save_assessment
from companion.store.setting_writes import put_setting
from companion.user_files import load_user_catalogues, problem_notice

_LOGGER = logging.getLogger(__name__)

SETTINGS_KEY = "preferences"
# How long closing waits for a resonance assessment still being scored.
ASSESSMENT_SETTLE_S = 10.0
DEVICE_KEY = "device"  # the band chosen on the dashboard, used until another is chosen


@dataclass
class Store:
    """The store's two faces: an engine for reads and the recorder, the single writer."""

    engine: Engine
    recorder: Recorder

    def close(self) -> None:
        self.recorder.stop()
        self.engine.dispose()


def _prepare_store(settings: Settings) -> Engine:
    """Migrate and open the store, and close what an earlier run left running; a store
    that cannot be used is one :class:`StoreUnavailableError` saying what to do."""
    check_url(settings.db_url)
    settings.ensure_data_dir()
    engine: Engine | None = None
    try:
        upgrade_to_head(settings.db_url)
        engine = create_engine_for_url(settings.db_url)
        replay_spilled(engine, settings.unsaved_dirs)
        interrupted = mark_interrupted_sessions(engine, time.time())
    except Exception as exc:
        if engine is not None:
            engine.dispose()
        problem = store_problem(exc, settings.db_url)
        if problem is None:
            raise
        raise problem from None
    if interrupted:
        _LOGGER.warning("marked %d unfinished session(s) as interrupted", len(interrupted))
    return engine


@contextlib.contextmanager
def open_store(
    settings: Settings, on_health_change: Callable[[bool, str], None] | None = None
) -> Iterator[Store]:
    engine = _prepare_store(settings)
    recorder = Recorder(
        settings.db_url, on_health_change=on_health_change, spill_dirs=settings.unsaved_dirs
    )
    recorder.start()
    store = Store(engine=engine, recorder=recorder)
    try:
        yield store
    finally:
        store.close()


def progression_loader(engine: Engine) -> Callable[[str], asyncio.Future[ProgressionLevel]]:
    """Reads recent outcomes off the loop (a database read) and applies the pure policy."""

    async def load(_routine: str) -> ProgressionLevel:
        return await asyncio.to_thread(level_from, engine)

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
    # The person's files that were skipped, each naming its file and field.
    problems: tuple[DataFileError, ...] = ()

    @classmethod
    def load(cls, settings: Settings) -> Catalogues:
        loaded = load_user_catalogues(settings.profiles_dir, settings.routines_dir)
        return cls(profiles=loaded.profiles, routines=loaded.routines, problems=loaded.problems)

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
) -> AsyncIterator[tuple[SessionHost, LinkStack]]:
    """The core on the running loop, wired to the recorder; a routine left running is
    recorded as interrupted when this closes."""
    bus = EventBus()
    clock = WallClock()
    if store is not None:
        bus.subscribe(store.recorder.submit)
    # Live coherence, and the resonance assessment scored (in a worker thread) and stored
    # when its routine completes.
    engine = store.engine if store is not None else None
    watcher = BreathingWatcher(
        bus.publish,
        save=(lambda run, at, result: save_assessment(engine, run, at, result))
        if engine is not None
        else None,
    )
    bus.subscribe(watcher.on_event)
    choice = catalogues.band_choice(settings)
    async with band_link(choice, bus, catalogues.profiles, clock=clock) as stack:
        core = SessionHost(
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
            # An assessment still being scored is announced (and stored) before closing.
            await watcher.async_settle(ASSESSMENT_SETTLE_S)


def _preferences_loader(engine: Engine) -> Callable[[], Awaitable[CoreSettings]]:
    async def load() -> CoreSettings:
        return await asyncio.to_thread(core_settings, engine)

    return load


async def _first_level(_routine: str) -> ProgressionLevel:
    return progression_level([], ProgressionPolicy())


def store_notice(handle_holder: list[SessionBridge]) -> Callable[[bool, str], None]:
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
    handle: SessionBridge,
    catalogues: Catalogues,
    store_upkeep: Callable[[], None] | None = None,
) -> ReminderHost:
    tz = tzlocal.get_localzone()

    def summary_line(day: dt.date) -> str:
        from companion.store.summary_facts import summary_for
        from companion.summary.morning import one_line

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

    check_can_listen(settings.host, settings.port)
    catalogues = Catalogues.load(settings)
    token: str | None = None
    if not is_loopback(settings.host):
        token, fresh = load_token(settings)
        if fresh:
            announce(f"Dashboard token (shown once, kept in {settings.token_file}): {token}")
    web_settings = WebSettings(host=settings.host, token=token)
    handles: list[SessionBridge] = []

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
                handle = SessionBridge(
                    core, loop, lambda address: put_setting(store.engine, DEVICE_KEY, address)
                )
                handles.append(handle)
                for notice in _problem_notices(catalogues):
                    announce(f"warning: {notice.message}")
                    handle.publish(notice)
                core.bus.subscribe(bluetooth_notice(handle, announce))
                from companion.store.upkeep import StoreUpkeep

                upkeep = StoreUpkeep(settings.db_url, settings.data_dir)
                reminders = reminder_host(store.engine, handle, catalogues, upkeep.run)
                await asyncio.to_thread(reminders.start)
                handle.reminders = reminders
                app = create_app(handle, store_engine=store.engine, settings=web_settings)
                try:
                    server = await asyncio.to_thread(serve, app, settings.host, settings.port)
                except OSError as exc:
                    await asyncio.to_thread(reminders.stop)
                    raise listen_error(settings.host, settings.port, exc) from None
                try:
                    announce(f"Dashboard: {server.url}")
                    await stop.wait()
                    announce("Stopping…")
                finally:
                    await asyncio.to_thread(server.close)
                    await asyncio.to_thread(reminders.stop)

        asyncio.run(main())
    return 0


def _problem_notices(catalogues: Catalogues) -> list[Notice]:
    return [
        problem_notice(problem, mono=time.monotonic(), wall=time.time())
        for problem in catalogues.problems
    ]


def bluetooth_notice(
    handle: SessionBridge, announce: Callable[[str], None]
) -> Callable[[Event], None]:
    """A bus listener: when the link finds the computer's Bluetooth missing, say so once on
    the terminal, in the log and as a dashboard notice (the band line says it too)."""
    said: set[str] = set()

    def on_event(event: Event) -> None:
        if not isinstance(event, LinkChanged) or event.state is not LinkState.UNAVAILABLE:
            return
        if event.detail in said:
            return
        said.add(event.detail)
        _LOGGER.error("Bluetooth unavailable: %s", event.detail)
        announce(f"warning: Bluetooth unavailable: {event.detail}")
        handle.publish(
            Notice(
                mono=time.monotonic(),
                wall=time.time(),
                level="error",
                topic="bluetooth",
                message=f"No band can connect: {event.detail}. Or restart with --simulate to "
                "use the virtual band; companion doctor checks everything.",
            )
        )

    return on_event


def check_can_listen(host: str, port: int) -> None:
    """Fail before anything starts when the dashboard could not listen at ``host:port``
    (bound the way the web server binds, then let go at once)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise listen_error(host, port, exc) from None


def listen_error(host: str, port: int, exc: OSError) -> ListenError:
    """What a failed listen means for the person, with the fix."""
    if isinstance(exc, socket.gaierror):
        return ListenError(
            host, port, f"{host!r} is not a known address", "use 127.0.0.1 or 0.0.0.0"
        )
    if exc.errno == errno.EADDRINUSE:
        return ListenError(
            host,
            port,
            "the port is in use",
            "is the companion already running? Stop it, or choose another --port",
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ListenError(
            host,
            port,
            f"{host} is not an address of this machine",
            "use 127.0.0.1, or 0.0.0.0 for every network",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ListenError(
            host, port, "not allowed to use this port", "choose a --port of 1024 or above"
        )
    return ListenError(host, port, exc.strerror or str(exc), "choose another --host or --port")
