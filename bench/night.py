"""A night of the whole companion on virtual time, for ``bench.soak`` and its short test.

Everything the service runs, in this process (``companion.wiring.build_companion``: the
virtual band on Bumble's virtual radio, the link, the session host and engine, the recorder
and the SQLite store, the reminder host, the dashboard app served by waitress), on a
virtual-time loop (``bench.virtual_time``): routines in turn (bedtime, then morning, ...)
with idle heart-rate streaming between them, the band out of range for a while every few
minutes, a reminder now and then, and one dashboard stream read throughout by a thread of
its own. Eight hours take minutes.

Reminders: APScheduler's trigger keeps the system's clock on its own thread, so here the
night fires each reminder at its virtual minute through the reminder host's own job
(``ReminderHost.remind``, handed the night's ``now``), as the scheduler would; the trigger's
arithmetic is tested on its own (tests/test_reminders.py).

Everything published on the bus is counted as it happens, so what the store holds at the
end can be compared with it: no row lost, every drop recorded as lost and reconnected.
Resident memory (RSS) is read every few virtual minutes; with ``trace_memory`` tracemalloc
also snapshots the heap after the warm-up and at the end, and the difference is grouped by
traceback, which is how a creep is found.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import tempfile
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from bench.service_harness import SseEvent, StreamThread
from bench.virtual_time import VirtualTimeLoop, run
from companion.config import Settings
from companion.events import (
    CueFired,
    Event,
    HeartRateSample,
    LinkChanged,
    ReminderDue,
    SessionStateChanged,
)
from companion.store.reminders import add_reminder
from companion.wiring import Companion, StoreUse, build_companion
from web.server import serve
from web.settings import WebSettings

CONNECT_TIMEOUT_S = 60.0
# How long after its start a routine may run before the night calls it stuck.
ROUTINE_SLACK_S = 600.0
TRACE_FRAMES = 12
TOP_GROWTH = 12


@dataclass(frozen=True)
class NightPlan:
    hours: float = 8.0
    routines: tuple[str, ...] = ("bedtime", "morning")
    idle_between_s: float = 15 * 60.0  # heart rate streaming, no routine
    drop_every_s: float = 5 * 60.0
    drop_s: float = 20.0
    remind_every_s: float = 30 * 60.0
    sample_every_s: float = 5 * 60.0
    settle_s: float = 60 * 60.0  # left out of the memory fit
    trace_memory: bool = False


@dataclass(frozen=True)
class MemoryReading:
    virtual_s: float
    rss: int


@dataclass
class BusCounts:
    """What the bus carried, counted as it went by (on the loop)."""

    heart_rate: int = 0
    cues: int = 0
    sessions_started: int = 0
    sessions_ended: int = 0
    reminders: int = 0
    link_states: Counter[str] = field(default_factory=Counter)
    final_states: list[SessionStateChanged] = field(default_factory=list)
    routine_ended: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: Event) -> None:
        if isinstance(event, HeartRateSample):
            self.heart_rate += 1
        elif isinstance(event, CueFired):
            self.cues += 1
        elif isinstance(event, LinkChanged):
            self.link_states[event.state.value] += 1
        elif isinstance(event, ReminderDue):
            self.reminders += 1
        elif isinstance(event, SessionStateChanged) and event.state.is_final:
            self.sessions_ended += 1
            self.final_states.append(event)
            self.routine_ended.set()


@dataclass
class NightRun:
    plan: NightPlan
    virtual_s: float = 0.0
    started: list[tuple[str, str]] = field(default_factory=list)  # (routine, session id)
    drops: int = 0
    reminders_fired: int = 0
    bus: BusCounts = field(default_factory=BusCounts)
    streamed: Counter[str] = field(default_factory=Counter)
    readings: list[MemoryReading] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    answered_at_end: bool = False
    db_path: Path | None = None
    growth: list[str] = field(default_factory=list)  # tracemalloc's top growth, by traceback


async def _routines(companion: Companion, plan: NightPlan, night: NightRun, end: float) -> None:
    """Routines in turn, each followed by idle streaming, until the night ends."""
    loop = asyncio.get_running_loop()
    turn = 0
    while loop.time() < end:
        name = plan.routines[turn % len(plan.routines)]
        turn += 1
        night.bus.routine_ended.clear()
        try:
            run_id = await companion.host.start_session(name, pain_before=None)
        except Exception as error:  # counted and reported: the night goes on
            night.failures.append(f"{name}: {error!r}")
        else:
            night.started.append((name, run_id))
            limit = ROUTINE_SLACK_S + _total_s(companion, name)
            try:
                await asyncio.wait_for(night.bus.routine_ended.wait(), limit)
            except TimeoutError:
                night.failures.append(f"{name} ({run_id}) did not end")
                companion.host.command("stop")
        await asyncio.sleep(min(plan.idle_between_s, max(0.0, end - loop.time())))


def _total_s(companion: Companion, name: str) -> float:
    for listed in companion.host.routine_list():
        if listed.name == name:
            return float(listed.total_s)
    return 0.0


async def _drops(companion: Companion, plan: NightPlan, night: NightRun, end: float) -> None:
    band = companion.links.band
    if band is None or plan.drop_every_s <= 0:
        return
    loop = asyncio.get_running_loop()
    while loop.time() + plan.drop_every_s + plan.drop_s < end:
        await asyncio.sleep(plan.drop_every_s)
        band.start_drop(away_s=plan.drop_s)
        night.drops += 1


async def _reminders(companion: Companion, plan: NightPlan, night: NightRun, end: float) -> None:
    host, store = companion.reminders, companion.store
    if host is None or store is None or plan.remind_every_s <= 0:
        return
    loop = asyncio.get_running_loop()
    now = companion.clock.now()
    reminder = await asyncio.to_thread(
        add_reminder,
        store.engine,
        at=dt.time(7, 0),
        days=(),
        routine=plan.routines[-1],
        now_wall=now,
    )
    while loop.time() + plan.remind_every_s < end:
        await asyncio.sleep(plan.remind_every_s)
        # The scheduler's job, as its thread would run it at this (virtual) minute.
        await asyncio.to_thread(host.remind, reminder.id, False, companion.clock.now())
        night.reminders_fired += 1


async def _memory(plan: NightPlan, night: NightRun, end: float, started: float) -> None:
    process = psutil.Process()
    loop = asyncio.get_running_loop()
    traced: tracemalloc.Snapshot | None = None
    while True:
        night.readings.append(MemoryReading(loop.time() - started, process.memory_info().rss))
        if plan.trace_memory and traced is None and loop.time() - started >= plan.settle_s:
            gc.collect()
            traced = tracemalloc.take_snapshot()
        if loop.time() >= end:
            break
        await asyncio.sleep(min(plan.sample_every_s, end - loop.time()))
    if traced is not None:
        gc.collect()
        night.growth = top_growth(traced, tracemalloc.take_snapshot())


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> list[str]:
    """The allocations that grew most between two snapshots, by the traceback that made them."""
    skip = (tracemalloc.Filter(False, tracemalloc.__file__),)
    diff = after.filter_traces(skip).compare_to(before.filter_traces(skip), "traceback")
    lines = []
    for stat in diff[:TOP_GROWTH]:
        frames = [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in stat.traceback]
        lines.append(
            f"{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks: "
            + " <- ".join(reversed(frames[-6:]))
        )
    return lines


async def _night(plan: NightPlan, data_dir: Path) -> NightRun:
    night = NightRun(plan)
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop), "the night runs on virtual time"
    settings = Settings.build(data_dir=data_dir, simulate=True)
    async with build_companion(
        settings,
        store=StoreUse.OPEN,
        reminders=True,
        web=WebSettings(),
        listeners=(night.bus,),
    ) as companion:
        if not await companion.links.link.async_wait_connected(CONNECT_TIMEOUT_S):
            raise RuntimeError("the link never reached the virtual band")
        assert companion.app is not None and companion.store is not None
        night.db_path = settings.data_dir / "companion.db"
        server = await asyncio.to_thread(serve, companion.app, "127.0.0.1", 0)
        dashboard = StreamThread(server.url, lambda e: _count(night, e))
        try:
            await asyncio.to_thread(dashboard.__enter__)
            if plan.trace_memory:
                tracemalloc.start(TRACE_FRAMES)
            started = loop.time()
            end = started + plan.hours * 3600.0
            tasks = [
                asyncio.create_task(_routines(companion, plan, night, end)),
                asyncio.create_task(_drops(companion, plan, night, end)),
                asyncio.create_task(_reminders(companion, plan, night, end)),
                asyncio.create_task(_memory(plan, night, end, started)),
            ]
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    night.failures.append(f"crashed: {outcome!r}")
            night.virtual_s = loop.time() - started
            if dashboard.error is not None:
                night.failures.append(f"the dashboard stream failed: {dashboard.error!r}")
            night.answered_at_end = companion.host.status() is not None
            runner = companion.host.runner
            if runner is not None and runner.state is not None and not runner.state.is_final:
                companion.host.command("stop")
                await asyncio.sleep(1.0)
        finally:
            if tracemalloc.is_tracing():
                tracemalloc.stop()
            await asyncio.to_thread(dashboard.__exit__, None, None, None)
            await asyncio.to_thread(server.close)
        # Let the last events reach the recorder's queue before the store closes and drains.
        await asyncio.sleep(1.0)
    return night


def _count(night: NightRun, event: SseEvent) -> None:
    night.streamed[event.name] += 1


def run_night(plan: NightPlan, data_dir: Path | None = None) -> tuple[NightRun, dict[str, int]]:
    """The night on virtual time; with the store's row counts once it has closed."""
    from bench.soak import count_rows  # the soak's row counter, read after the store closed

    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="night-")))
        night = run(_night(plan, data_dir))
        assert night.db_path is not None
        counts = count_rows(night.db_path)
    night_rows = dict(counts.rows)
    night_rows.update({f"link {k}": v for k, v in counts.link_states.items()})
    night_rows["sessions ended"] = sum(counts.outcomes.values())
    return night, night_rows


def rss_slope_mb_per_hour(readings: Sequence[MemoryReading], settle_s: float) -> float:
    from bench.soak import MB, slope_per_hour

    kept = [r for r in readings if r.virtual_s >= settle_s] or list(readings)
    return slope_per_hour([(r.virtual_s, r.rss / MB) for r in kept])
