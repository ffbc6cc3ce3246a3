"""Cue timing as the wrist feels it: each write's receipt at the virtual band against its plan.

One long routine (``--minutes``, 30 by default) is compiled from the real exercise catalog
and played three ways, each through its own BandLink to its own virtual band on its own
virtual radio, with the real profile's writes (immediate-alert, as the virtual band matches):

- ours: ``SessionHost.start_session`` -> ``SessionRunner`` on monotonic deadlines (``LoopTimer``);
- sleep chain: ``await asyncio.sleep(cue.at_s - previous_at_s)`` then ``run_cue``;
- APScheduler 3.x: an ``AsyncIOScheduler`` with one date-trigger job per cue.

Error of a write = its receipt time minus the first write's receipt, less its planned offset
from the first write's. Lateness = the same measured from the least-late write instead (one
late first write would otherwise shift every figure). Drift = mean error of the last 20
writes minus that of the first 20.
Another process spins on one core throughout (``--no-busy`` to leave it out). By default the
three share one asyncio loop and start 2/3 s apart so their cues do not coincide;
``--one-at-a-time`` runs them in turn instead (three times as long).

    .venv/bin/python -m bench.cue_timing [--minutes 30] [--one-at-a-time] [--no-busy] [--raw DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import enum
import itertools
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bench.common import (
    LOOP_PROBE_INTERVAL_S,
    MS_PER_S,
    GcPauses,
    HostWatch,
    LoopLagProbe,
    Summary,
    busy_core,
    conditions,
    exit_status,
    ms,
    quiet_logging,
    reproduce,
    table,
    take_verdicts,
)
from bench.strap_timing import strap_main
from companion.ble.link import BandLink
from companion.ble.profiles import DeviceProfile, load_profiles
from companion.ble.transport import BandChoice, LinkStack, band_link
from companion.ble.virtual_band import Vibration, VirtualBand
from companion.bus import EventBus
from companion.catalogues import Catalogues
from companion.config import Settings
from companion.events import CueFired, Event, PacingAdapted, SessionState, SessionStateChanged
from companion.routines.catalog import Catalog, Routine, load_catalog, parse_routine
from companion.routines.haptics import Playback, TimedWrite, Vocabulary, priority_of, write_timeline
from companion.routines.plan import Plan, PlannedCue, PlanSettings, compile_plan, compose_plan
from companion.routines.progression import ProgressionPolicy, progression_level
from companion.session.host import SessionHost
from companion.wiring import StoreUse, build_companion

MODULE = "bench.cue_timing"
# What `python -m bench --quick` passes: a short routine, for a check rather than figures.
QUICK_ARGS = ("--minutes", "3")
DEFAULT_MINUTES = 30.0
EDGE_WRITES = 20  # writes averaged at each end for drift
TARGET_MS = 10.0  # the p99 we aim for; the table counts writes later than this
CONNECT_TIMEOUT_S = 30.0
START_LEAD_S = 1.0
# Sharing one loop, the schedulers start this far apart; every cue in a plan falls on a
# whole number of seconds, so their cue instants never coincide (until the sleep chain drifts).
STAGGER_S = 2.0 / 3.0
# After the last cue: its writes (routine-end lasts 1.2 s) and some slack.
TAIL_S = 3.0
FINISH_SLACK_S = 60.0
ROUTINE_NAME = "bench-long"
ROUTINE_SOURCE = Path("bench/cue_timing.py")
# Planned times are compared at microsecond precision so float sums do not reorder ties.
PLANNED_DIGITS = 6

# A user-routine-like middle, cycled until the routine is as long as asked: the morning and
# bedtime exercises with their own doses at the first progression level.
MIDDLE_BLOCKS: tuple[dict[str, Any], ...] = (
    {"exercise": "knee-to-chest", "sides": ["left", "right", "both"]},
    {"exercise": "pelvic-tilt"},
    {"exercise": "spinal-rotation", "sides": ["left", "right"]},
    {"exercise": "bridging"},
    {"exercise": "cat-cow"},
)
# Below the length of a warm-up and a cool-down, a taster's short holds instead.
TASTER_BLOCKS: tuple[dict[str, Any], ...] = (
    {"exercise": "knee-to-chest", "sides": ["left"], "hold_s": 10},
    {"exercise": "knee-to-chest", "sides": ["right"], "hold_s": 10},
)
FIRST_LEVEL = progression_level([], ProgressionPolicy())
PROFILE = "immediate-alert"  # what the virtual band matches


class Scheduler(enum.Enum):
    ENGINE = "SessionRunner (ours)"
    SLEEP_CHAIN = "asyncio.sleep chain"
    APSCHEDULER = "APScheduler 3 date jobs"


PlannedWrite = tuple[float, bytes]


@dataclass(frozen=True)
class Run:
    scheduler: Scheduler
    planned: tuple[PlannedWrite, ...]
    received: tuple[Vibration, ...]
    note: str = ""


@dataclass(frozen=True)
class Timing:
    """One scheduler's writes against the plan, in milliseconds.

    ``from_first_ms``: each write's offset from the first write's receipt, less its planned
    offset from the first write. ``lateness_ms``: the same measured from the scheduler's
    least-late write instead, so one late (or prompt) first write does not shift every
    figure; timers never fire early, so that write is the best estimate of "on time".
    """

    scheduler: Scheduler
    planned: int
    received: int
    wrong_values: int
    planned_s: tuple[float, ...]
    from_first_ms: tuple[float, ...]
    lateness_ms: tuple[float, ...]
    drift_ms: float
    note: str

    @property
    def from_first(self) -> Summary:
        return Summary.of([abs(e) for e in self.from_first_ms])

    @property
    def lateness(self) -> Summary:
        return Summary.of(self.lateness_ms)

    @property
    def first_write_late_ms(self) -> float:
        return self.lateness_ms[0]

    @property
    def over_target(self) -> int:
        return sum(late > TARGET_MS for late in self.lateness_ms)


# --- the routine ------------------------------------------------------------------------------


def _routine(catalog: Catalog, middle: Sequence[dict[str, Any]], taster: bool) -> Routine:
    steps = (
        list(middle) if taster else [{"exercise": "warm-up"}, *middle, {"exercise": "cool-down"}]
    )
    data: dict[str, Any] = {
        "title": "Benchmark: a long routine",
        "description": "Built by bench/cue_timing.py from the built-in exercises.",
        "steps": steps,
    }
    if taster:
        data["taster"] = True
    return parse_routine(ROUTINE_NAME, data, catalog, ROUTINE_SOURCE)


def compile_first_level(routine: Routine) -> Plan:
    """The plan the core compiles for someone with no history (no store)."""
    return compile_plan(routine, PlanSettings(), FIRST_LEVEL)


def long_routine(minutes: float, catalog: Catalog) -> Routine:
    """The longest routine of whole exercise blocks that lasts at most ``minutes``."""
    target_s = minutes * 60.0
    taster = compile_first_level(_routine(catalog, [], taster=False)).total_s > target_s
    blocks = itertools.cycle(TASTER_BLOCKS if taster else MIDDLE_BLOCKS)
    middle = [next(blocks)] if taster else []
    while True:
        candidate = [*middle, next(blocks)]
        if compile_first_level(_routine(catalog, candidate, taster)).total_s > target_s:
            return _routine(catalog, middle, taster)
        middle = candidate


def planned_writes(plan: Plan, profile: DeviceProfile) -> tuple[PlannedWrite, ...]:
    """Every write the band should get at its plan offset: the composed channel when the plan
    was composed for the band (as the core does), else every cue's profile writes."""
    if plan.vocabulary is not None:
        timeline = write_timeline(c.delivery for c in plan.cues if c.delivery is not None)
        return tuple((round(w.at_s, PLANNED_DIGITS), w.write.value) for w in timeline)
    writes = [
        (round(cue.at_s + write.after_s, PLANNED_DIGITS), write.value)
        for cue in plan.cues
        for write in profile.cue_writes(cue.cue)
    ]
    return tuple(sorted(writes, key=lambda item: item[0]))


def play_composed(link: BandLink, cue: PlannedCue) -> bool:
    """Hand a composed cue's writes to the link from now, as the engine does from its deadline."""
    delivery = cue.delivery
    if delivery is None or not delivery.writes:
        return True  # folded or dropped by the plan: nothing goes out
    now = time.monotonic()
    writes = tuple(TimedWrite(now + (w.at_s - cue.at_s), w.write) for w in delivery.writes)
    return link.play(Playback(cue.cue.value, writes, priority_of(cue.cue.value)))


# --- measuring --------------------------------------------------------------------------------


def timing(run: Run) -> Timing:
    pairs = list(zip(run.planned, run.received, strict=False))
    if not pairs:
        raise RuntimeError(f"{run.scheduler.value}: the band received nothing")
    # Receipt minus plan, from an arbitrary origin; only differences between writes count.
    offsets = [(got.mono - at) * MS_PER_S for (at, _), got in pairs]
    best = min(offsets)
    edge = min(EDGE_WRITES, len(offsets))
    return Timing(
        scheduler=run.scheduler,
        planned=len(run.planned),
        received=len(run.received),
        wrong_values=sum(value != got.value for (_, value), got in pairs),
        planned_s=tuple(at for (at, _), _got in pairs),
        from_first_ms=tuple(o - offsets[0] for o in offsets),
        lateness_ms=tuple(o - best for o in offsets),
        drift_ms=sum(offsets[-edge:]) / edge - sum(offsets[:edge]) / edge,
        note=run.note,
    )


def write_raw(timings: Sequence[Timing], directory: Path) -> list[Path]:
    """One CSV per scheduler: every write's planned offset and both error measures."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for t in timings:
        path = directory / f"cue_timing_{t.scheduler.name.lower()}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["write", "planned_s", "from_first_ms", "lateness_ms"])
            for number, row in enumerate(
                zip(t.planned_s, t.from_first_ms, t.lateness_ms, strict=True)
            ):
                planned, first, late = row
                out.writerow([number, f"{planned:.3f}", f"{first:.3f}", f"{late:.3f}"])
        written.append(path)
    return written


def _received_since(band: VirtualBand | None, before: int) -> tuple[Vibration, ...]:
    if band is None:
        raise RuntimeError("the virtual band is missing")
    return tuple(list(band.vibrations)[before:])


def _profile(stack: LinkStack) -> DeviceProfile:
    if stack.link.profile is None:
        raise RuntimeError("the link chose no profile for the virtual band")
    return stack.link.profile


async def _sleep_until(loop_time: float) -> None:
    await asyncio.sleep(max(0.0, loop_time - asyncio.get_running_loop().time()))


async def run_engine(core: SessionHost, stack: LinkStack, start_at: float) -> Run:
    """Our engine as the product runs it: ``SessionHost.start_session`` on the core's loop."""
    finished = asyncio.Event()
    off_wrist = 0
    adapted = 0

    def on_event(event: Event) -> None:
        nonlocal off_wrist, adapted
        if isinstance(event, SessionStateChanged) and event.state.is_final:
            finished.set()
        elif isinstance(event, CueFired) and not event.on_wrist:
            # A cue folded into another (or dropped) by the plan has nothing of its own to send.
            off_wrist += event.fate not in ("folded", "dropped")
        elif isinstance(event, PacingAdapted):
            adapted += 1

    unsubscribe = core.bus.subscribe(on_event)
    await _sleep_until(start_at)
    before = len(stack.band.vibrations) if stack.band else 0
    await core.start_session(ROUTINE_NAME, pain_before=None)
    runner = core.runner
    if runner is None:
        raise RuntimeError("the core started no session")
    await asyncio.wait_for(finished.wait(), runner.plan.total_s + FINISH_SLACK_S)
    await asyncio.sleep(TAIL_S)
    unsubscribe()
    notes = []
    if runner.state is not SessionState.COMPLETED:
        notes.append(f"ended {runner.state}: {runner.finished_reason}")
    if adapted:
        notes.append(f"pacing adapted {adapted}x (measured against the re-timed plan)")
    if off_wrist:
        notes.append(f"{off_wrist} cues not sent")
    return Run(
        Scheduler.ENGINE,
        # After adaptive pacing the runner holds the re-timed plan it actually ran.
        planned_writes(runner.plan, _profile(stack)),
        _received_since(stack.band, before),
        "; ".join(notes),
    )


async def run_sleep_chain(stack: LinkStack, plan: Plan, start_at: float) -> Run:
    await _sleep_until(start_at)
    before = len(stack.band.vibrations) if stack.band else 0
    refused = 0
    previous = 0.0
    for cue in plan.cues:
        await asyncio.sleep(cue.at_s - previous)
        previous = cue.at_s
        refused += not play_composed(stack.link, cue)
    await asyncio.sleep(TAIL_S)
    return Run(
        Scheduler.SLEEP_CHAIN,
        planned_writes(plan, _profile(stack)),
        _received_since(stack.band, before),
        f"{refused} cues not sent" if refused else "",
    )


async def run_apscheduler(stack: LinkStack, plan: Plan, start_at: float) -> Run:
    loop = asyncio.get_running_loop()
    refused = 0
    fired = 0
    all_fired = asyncio.Event()

    async def fire(cue: PlannedCue) -> None:
        # A coroutine job runs on the loop itself; a plain function would go to a thread.
        nonlocal refused, fired
        refused += not play_composed(stack.link, cue)
        fired += 1
        if fired == len(plan.cues):
            all_fired.set()

    scheduler = AsyncIOScheduler(timezone=UTC)
    # APScheduler keeps time on the wall clock; anchor it to the same instant as start_at.
    anchor = datetime.now(UTC) + timedelta(seconds=start_at - loop.time())
    for number, cue in enumerate(plan.cues):
        scheduler.add_job(
            fire,
            DateTrigger(run_date=anchor + timedelta(seconds=cue.at_s), timezone=UTC),
            args=[cue],
            id=f"cue-{number:06d}",  # jobs due together run in id order: the plan's order
            misfire_grace_time=None,  # never drop a late cue; lateness is what we measure
        )
    await _sleep_until(start_at - START_LEAD_S / 2)
    before = len(stack.band.vibrations) if stack.band else 0
    scheduler.start()
    await asyncio.wait_for(all_fired.wait(), plan.total_s + FINISH_SLACK_S)
    await asyncio.sleep(TAIL_S)
    scheduler.shutdown(wait=False)
    await asyncio.sleep(0)  # shutdown is handed to the loop
    return Run(
        Scheduler.APSCHEDULER,
        planned_writes(plan, _profile(stack)),
        _received_since(stack.band, before),
        f"{refused} cues not sent" if refused else "",
    )


async def measure(
    routine: Routine, one_at_a_time: bool, host: HostWatch
) -> tuple[list[Run], list[float]]:
    """The three runs, and how late the shared loop woke throughout (seconds)."""
    profiles = load_profiles(None)
    # Composed for the band's one channel, as the core composes the engine's plan, so the
    # three schedulers hand the band the same writes.
    plan = compose_plan(compile_first_level(routine), Vocabulary.from_profile(profiles[PROFILE]))
    with tempfile.TemporaryDirectory(prefix="bench-cue-timing-") as data_dir:
        settings = Settings.build(data_dir=Path(data_dir), simulate=True)
        catalogues = Catalogues(profiles=profiles, routines={routine.name: routine})
        async with contextlib.AsyncExitStack() as stack:
            # Each band_link with simulate makes its own VirtualRadio: a band only ever
            # hears its own scheduler's writes.
            companion = await stack.enter_async_context(
                build_companion(settings, catalogues=catalogues, store=StoreUse.NONE)
            )
            core, ours = companion.host, companion.links
            chain = await stack.enter_async_context(
                band_link(BandChoice(simulate=True), EventBus(), profiles)
            )
            aps = await stack.enter_async_context(
                band_link(BandChoice(simulate=True), EventBus(), profiles)
            )
            for link_stack in (ours, chain, aps):
                if not await link_stack.link.async_wait_connected(CONNECT_TIMEOUT_S):
                    raise RuntimeError("a link never reached its virtual band")
            loop = asyncio.get_running_loop()
            probe = LoopLagProbe()
            probe.start()
            host.start()
            if one_at_a_time:
                runs = [
                    await run_engine(core, ours, loop.time() + START_LEAD_S),
                    await run_sleep_chain(chain, plan, loop.time() + START_LEAD_S),
                    await run_apscheduler(aps, plan, loop.time() + START_LEAD_S),
                ]
            else:
                start = loop.time() + START_LEAD_S
                runs = list(
                    await asyncio.gather(
                        run_engine(core, ours, start),
                        run_sleep_chain(chain, plan, start + STAGGER_S),
                        run_apscheduler(aps, plan, start + 2 * STAGGER_S),
                    )
                )
            await host.stop()
            await probe.stop()
            return runs, probe.lags_s


# --- reporting --------------------------------------------------------------------------------


def report(timings: Sequence[Timing]) -> str:
    rows = []
    for t in timings:
        late, first = t.lateness, t.from_first
        writes = f"{t.received}/{t.planned}"
        if t.wrong_values:
            writes += f" ({t.wrong_values} out of order)"
        rows.append(
            [
                t.scheduler.value,
                writes,
                ms(first.p50),
                ms(first.p99),
                ms(first.max),
                ms(late.p50),
                ms(late.p99),
                ms(late.max),
                f"{t.drift_ms:+.2f}",
                ms(t.first_write_late_ms),
                f"{t.over_target} ({t.over_target / len(t.lateness_ms):.1%})",
                t.note,
            ]
        )
    header = [
        "scheduler",
        "writes",
        "|err| p50",
        "p99",
        "max",
        "late p50",
        "p99",
        "max",
        "drift",
        "1st late",
        f"late > {TARGET_MS:g}",
        "note",
    ]
    return table(header, rows)


def describe(routine: Routine, plan: Plan, profile_writes: int) -> str:
    p = plan.pattern
    return (
        f"Routine {routine.name}: {plan.total_s / 60:.1f} min, {len(plan.steps)} steps, "
        f"{len(plan.cues)} cues, {profile_writes} writes, breathing {p.inhale_s:g} s in / "
        f"{p.exhale_s:g} s out"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument(
        "--minutes", type=float, default=DEFAULT_MINUTES, help="how long the routine lasts"
    )
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="run the three schedulers in turn instead of side by side on one loop",
    )
    parser.add_argument(
        "--no-busy", action="store_true", help="leave out the process that keeps a core busy"
    )
    parser.add_argument(
        "--raw", type=Path, metavar="DIR", help="also write every write's errors as CSV here"
    )
    parser.add_argument(
        "--strap",
        action="store_true",
        help="measure at a band in its own process over the virtual radio instead "
        "(bench/strap_timing.py): strap-side p99 and masked patterns, judged",
    )
    parser.add_argument(
        "--routines",
        default="bedtime,morning",
        help="with --strap: the built-in routines to run, comma-separated",
    )
    parser.add_argument(
        "--machine",
        default="idle,busy",
        help="with --strap: idle, busy (one core kept busy) or both, comma-separated",
    )
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    if args.strap:
        machine = [m for m in args.machine.split(",") if m]
        if not set(machine) <= {"idle", "busy"}:
            raise SystemExit("--machine takes idle, busy or idle,busy")
        strap_main([r for r in args.routines.split(",") if r], machine, MODULE)
        return exit_status(take_verdicts())
    routine = long_routine(args.minutes, load_catalog())
    plan = compile_first_level(routine)
    busy = not args.no_busy
    started = time.monotonic()
    with busy_core(busy), GcPauses().watching() as gc_pauses:
        host = HostWatch()
        runs, lags = asyncio.run(measure(routine, args.one_at_a_time, host))
    elapsed_min = (time.monotonic() - started) / 60
    timings = [timing(run) for run in runs]
    command = ["--minutes", f"{args.minutes:g}"]
    if args.one_at_a_time:
        command.append("--one-at-a-time")
    if args.no_busy:
        command.append("--no-busy")
    together = "one after another" if args.one_at_a_time else "side by side on one asyncio loop"
    print("Cue timing at the virtual band: receipt vs plan, offsets from the first write")
    print(describe(routine, plan, len(runs[0].planned)))
    print(f"Schedulers ran {together}; wall time {elapsed_min:.1f} min")
    print("All in ms. |err|: offset from the first write vs plan (absolute). late: behind plan,")
    print("measured from the least-late write. drift: last 20 writes vs first 20.")
    print(report(timings))
    lag = Summary.of([x * MS_PER_S for x in lags])
    print(
        f"Loop wake-up lag (a probe sleeping to deadlines {LOOP_PROBE_INTERVAL_S:g} s apart on "
        f"the same loop, {lag.count} wake-ups): p50 {ms(lag.p50)} ms, p99 {ms(lag.p99)} ms, "
        f"max {ms(lag.max)} ms"
    )
    print(f"Garbage collector: {gc_pauses.describe()}")
    print(f"Conditions: {conditions(busy)}")
    print(f"Machine during the run: {host.describe()}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    if args.raw is not None:
        for path in write_raw(timings, args.raw):
            print(f"Raw: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
