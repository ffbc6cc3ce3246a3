"""The one wiring home: :func:`build_companion` makes every long-lived part once, in the
order each needs the others, and hands back a frozen :class:`Companion`.

Order: clock and bus -> store (migrated, the recorder on the bus; its health said on the
bus) -> breathing watcher -> band link -> session host -> reminders (reaching the host
through the thread bridge's reach) -> the bridge (given the reminders and the device
memory) -> web app. Nothing is assigned after construction and no part is handed out
before it exists; closing runs the other way: reminders stop, a routine still running is
recorded as interrupted, an assessment being scored is stored, the link closes, then the
recorder drains and the store closes.

``companion run`` (``companion.service``), the CLI commands that talk to a band and the
benchmarks all build through here, asking for the parts they need.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import functools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from companion.ble.transport import LinkStack, band_link
from companion.bus import EventBus, Listener
from companion.catalogues import Catalogues
from companion.clock import WallClock
from companion.config import Settings
from companion.heart.breathing_watch import BreathingWatcher
from companion.service_notices import StoreHealthNotices
from companion.session.bridge import HostReach, SessionBridge
from companion.session.host import SessionHost
from companion.session.live_feed import DEFAULT_MAX_STREAMS
from companion.session.store_loaders import (
    core_settings,
    first_level,
    preferences_loader,
    progression_loader,
)
from companion.store.device_memory import DeviceMemory
from companion.store.opening import Store, start_store
from companion.store.resonance import save_assessment

if TYPE_CHECKING:
    from flask import Flask

    from companion.reminders.service import ReminderHost
    from web.settings import WebSettings

# How long closing waits for a resonance assessment still being scored.
ASSESSMENT_SETTLE_S = 10.0


class StoreUse(enum.Enum):
    OPEN = "open"  # build_companion opens the store, and closes it last
    NONE = "none"  # nothing is saved (virtual-band tests, benchmarks, band commands)


@dataclass(frozen=True)
class Companion:
    """Everything one running companion is made of, built once."""

    settings: Settings  # as used: with the band remembered from the dashboard, if any
    catalogues: Catalogues
    clock: WallClock
    bus: EventBus
    store: Store | None
    links: LinkStack
    host: SessionHost
    bridge: SessionBridge
    reminders: ReminderHost | None
    app: Flask | None


@contextlib.asynccontextmanager
async def build_companion(
    settings: Settings,
    *,
    catalogues: Catalogues | None = None,
    store: Store | StoreUse = StoreUse.OPEN,
    reminders: bool = False,
    web: WebSettings | None = None,
    listeners: Sequence[Listener] = (),
    start_link: bool = True,
    clock: WallClock | None = None,
) -> AsyncIterator[Companion]:
    """The companion on the running loop, closed in reverse order when the block ends.

    ``catalogues``: None loads the built-in and the person's files. ``store``: opened here
    (``StoreUse.OPEN``), none, or a ``Store`` the caller opened and closes. ``reminders``
    runs the reminder scheduler (needs a store); ``web`` makes the dashboard app (the
    caller serves it) and uses the band last chosen on it. ``listeners`` are on the bus
    before the link starts, so they hear everything. ``clock`` is the one wall clock
    (a virtual one in whole-stack tests).
    """
    if reminders and store is StoreUse.NONE:
        raise ValueError("reminders need the store")
    loop = asyncio.get_running_loop()
    clock = clock or WallClock()
    if catalogues is None:
        catalogues = await asyncio.to_thread(Catalogues.load, settings)
    bus = EventBus()
    for listener in listeners:
        bus.subscribe(listener)
    async with contextlib.AsyncExitStack() as closing:
        opened: Store | None
        if isinstance(store, Store):
            opened = store
        elif store is StoreUse.OPEN:
            opened = await asyncio.to_thread(
                start_store,
                settings,
                on_health_change=StoreHealthNotices(bus, loop, clock),
                clock=clock,
            )
            closing.push_async_callback(asyncio.to_thread, opened.close)
        else:
            opened = None
        engine = opened.engine if opened is not None else None
        if opened is not None:
            bus.subscribe(opened.recorder.submit)
        device_memory = DeviceMemory(engine) if engine is not None else None
        if web is not None and device_memory is not None and settings.device is None:
            remembered = await asyncio.to_thread(device_memory.recall)
            if remembered is not None:
                settings = dataclasses.replace(settings, device=remembered)

        # Live coherence, and the resonance assessment scored (in a worker thread) and
        # stored when its routine completes.
        watcher = BreathingWatcher(
            bus.publish,
            save=functools.partial(save_assessment, engine) if engine is not None else None,
        )
        bus.subscribe(watcher.on_event)
        choice = catalogues.band_choice(settings)
        links = await closing.enter_async_context(
            band_link(choice, bus, catalogues.profiles, start=start_link, clock=clock)
        )
        # An assessment still being scored is announced (and stored) before the link closes.
        closing.push_async_callback(watcher.async_settle, ASSESSMENT_SETTLE_S)
        host = SessionHost(
            bus=bus,
            link=links.link,
            routines=catalogues.routines,
            profile_for_plans=choice.profile,
            # A database read: off the loop, like every other.
            settings=await asyncio.to_thread(core_settings, engine),
            preferences=preferences_loader(engine) if engine is not None else None,
            progression=progression_loader(engine) if engine is not None else first_level,
            # The one count of open dashboard streams: the web answers 429 when it is full.
            max_streams=web.max_streams if web is not None else DEFAULT_MAX_STREAMS,
            clock=clock,
        )
        closing.callback(host.interrupt, "the companion was shut down")

        reminder_host: ReminderHost | None = None
        if reminders and engine is not None:
            reminder_host = _reminder_host(settings, catalogues, engine, host, loop, clock)
            await asyncio.to_thread(reminder_host.start)
            closing.push_async_callback(asyncio.to_thread, reminder_host.stop)

        bridge = SessionBridge(host, loop, reminders=reminder_host, device_memory=device_memory)
        app = None
        if web is not None:
            from web import create_app

            app = create_app(bridge, store_engine=engine, settings=web, clock=clock.now)
        yield Companion(
            settings=settings,
            catalogues=catalogues,
            clock=clock,
            bus=bus,
            store=opened,
            links=links,
            host=host,
            bridge=bridge,
            reminders=reminder_host,
            app=app,
        )


def _reminder_host(
    settings: Settings,
    catalogues: Catalogues,
    engine: Engine,
    host: SessionHost,
    loop: asyncio.AbstractEventLoop,
    clock: WallClock,
) -> ReminderHost:
    """Reminders reach the session through the bridge's reach (the one calling convention);
    the store's nightly upkeep runs on a scheduler thread beside them."""
    import tzlocal

    from companion.reminders.service import ReminderHost
    from companion.store.upkeep import StoreUpkeep

    return ReminderHost(
        engine=engine,
        tz=tzlocal.get_localzone(),
        wrist=HostReach(host, loop),
        clock=clock,
        routines=catalogues.routines,
        store_upkeep=StoreUpkeep(settings.db_url, settings.data_dir, now=clock.now).run,
    )
