"""Soak: a night of the companion, eight hours on virtual time by default (``--hours``).

The night (``bench.night``): the whole companion in this process on a virtual-time loop
(``bench.virtual_time``: the band's notifications, cues, timeouts and stored times are what
a real night gives; only the waiting is gone), bedtime and morning routines in turn with
idle heart-rate streaming between them, the band out of range for 20 s every 5 minutes, a
reminder every 30 minutes, one dashboard stream read throughout. Goals (issue 17): RSS
slope after the first hour at most 1 MB per (virtual) hour; no crash; every routine
started, ended and stored; no row lost (every heart-rate sample and cue the bus carried is
in the store); every drop recorded as lost and reconnected; every reminder fired and shown
on the dashboard. ``--trace-memory`` adds tracemalloc's heap growth after the warm-up,
grouped by traceback (slower; its own bookkeeping shows in RSS).

    .venv/bin/python -m bench.soak [--hours 8] [--trace-memory]

``--real-time`` runs the earlier real-time soak across processes instead:
``companion run`` with the virtual band through routines back to back for ``--minutes`` of
real time (60 by default), one dashboard stream open throughout, the band dropping out
every 5 minutes and a reminder every 10 (see below). Routines (taster, bedtime, morning in
turn by default) are started through the API, each as soon as the one before has ended;
the one running at the end is stopped through the API.

Reported: resident memory (RSS) and CPU at the start and end; RSS, threads and open files
fitted over time (least squares, leaving out the first ``--settle-minutes``), so growth
without bound shows as a slope in MB/hour; cue timing from the stored cues (``actual_s -
planned_s`` of every cue of every session, read back through ``GET /api/sessions/<id>``);
and rows written, counted in the SQLite file once the service has stopped.

Goals (issue 17): RSS slope after warm-up at most 1 MB an hour; the service alive at the
end (no crash); every routine started; nothing lost (every session started is stored,
every cue the dashboard saw is stored, and at least one sample is stored for every
heart-rate event it saw).

Cue timing is taken at the band: by default the virtual band runs in a process of its own
(``companion band``) on Bumble's virtual controllers (``python -m bumble.apps.controllers``,
two TCP servers on one virtual link), the service reaches it with ``--hci tcp-client:...``
as it would a USB dongle, and the band prints every vibration it receives as a JSON line
with its wall-clock time. Each cue meant for the wrist is matched to the first write the
band received from its planned instant on (the plan's origin is the stored cue's ``at -
actual_s``); lateness = receipt - planned instant. ``--in-process-band`` runs the service
with ``--simulate`` instead, and then only the engine's stored timing can be reported.
With the band in its own process ``--drop-every M`` sends it ``drop S`` every M minutes
(out of range for ``--drop-seconds``), and every drop must show up as a recorded loss and
reconnection; cues planned while the band is away are counted, not timed.
``--remind-every M`` adds a reminder (through the API, as Settings does) for a minute about
every M minutes of the run, so reminders fire among the routines; each must reach the
dashboard stream as a ``reminder`` event.

Goals (cue timing): p99 at the band at most 50 ms (the band's record; the wrist cannot
tell a few tens of milliseconds) and every cue meant for the wrist found at the band, save
those planned during a drop.

    .venv/bin/python -m bench.soak --real-time [--minutes 60] [--routines taster,bedtime,morning]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench.common import (
    MS_PER_S,
    Summary,
    Verdict,
    conditions,
    exit_status,
    judge,
    judge_true,
    ms,
    quiet_logging,
    reproduce,
    table,
)
from bench.night import NightPlan, NightRun, rss_slope_mb_per_hour, run_night
from bench.service_harness import (
    ApiClient,
    RoutineCycler,
    ServiceError,
    StreamThread,
    is_final_state,
    running_service,
)

MODULE = "bench.soak"
QUICK_ARGS = ("--hours", "1", "--settle-minutes", "15")
DEFAULT_MINUTES = 60.0
DEFAULT_SETTLE_MINUTES = 5.0
DEFAULT_ROUTINES = "taster,bedtime,morning"
SAMPLE_EVERY_S = 10.0
STOP_WAIT_S = 15.0
MB = 1024 * 1024
S_PER_H = 3600.0
# Growth below this many MB an hour is noise from allocator arenas, not a leak.
RSS_SLOPE_WORTH_NOTING_MB_H = 1.0
PROJECT_HOURS = 8.0
# CPU is also shown over the first and the last this many seconds (runs of twice as long).
WINDOW_S = 600.0
TIMELINE_EVERY_S = 300.0
TABLES = ("sessions", "steps", "cues", "samples", "link_events", "pacing_events", "devices")
# A reminder is set at least this far ahead (the service picks changes up at once, but a
# minute that has begun would be missed) and this long before the run ends.
REMINDER_LEAD_S = 30.0
REMINDER_END_MARGIN_S = 20.0
GOAL_BAND_P99_MS = 50.0
# A band write this long before a cue's planned instant is not that cue's (clocks of two
# processes agree to well under this), and one later than MATCH_WINDOW_S is not either.
EARLY_TOLERANCE_S = 0.05
MATCH_WINDOW_S = 1.0
# After a drop ends the band must be found and connected again; cues planned until then
# wait for the link (or go to the screen) and are counted apart, not timed.
RECONNECT_GRACE_S = 15.0
# Fates of cues that are meant to reach the wrist (the others were folded into another
# cue, dropped or shown on the screen only).
WRIST_FATES = (None, "played", "delayed", "cut")
# Only these are timed against their plan: a delayed cue waited, by design, for the pattern
# before it on the band's one channel, so its lateness is that pattern's length.
TIMED_FATES = (None, "played")
BAND_START_TIMEOUT_S = 20.0
BAND_START_ATTEMPTS = 5
DEFAULT_DROP_SECONDS = 10.0
# A night as the bedside sees it: the band wanders out of range now and then, reminders fire.
DEFAULT_DROP_EVERY_MIN = 5.0
DEFAULT_REMIND_EVERY_MIN = 10.0


# --- the band in a process of its own ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class BandProcess:
    """``companion band`` on its own virtual controller; ``writes`` is its record."""

    process: subprocess.Popen[str]
    link_args: tuple[str, ...]
    writes: list[tuple[float, str]] = field(default_factory=list)

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def read_record(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                vibration = json.loads(line)["vibration"]
                self.writes.append((float(vibration["t"]), str(vibration["value"])))


def _start_band(hci: str) -> tuple[subprocess.Popen[str], threading.Thread] | None:
    band = subprocess.Popen(
        [sys.executable, "-m", "companion", "band", "--hci", hci],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert band.stderr is not None
    deadline = time.monotonic() + BAND_START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = band.stderr.readline()
        if not line:
            break  # it ended: the controller was not listening yet
        if "advertising" in line:
            # Keep draining its stderr so the band never blocks on a full pipe.
            drain = threading.Thread(target=band.stderr.read, daemon=True)
            drain.start()
            return band, drain
    band.kill()
    band.wait()
    _close_pipes(band)
    return None


def _close_pipes(process: subprocess.Popen[str]) -> None:
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


@contextlib.contextmanager
def band_in_own_process() -> Iterator[BandProcess]:
    service_port, band_port = free_port(), free_port()
    controllers = subprocess.Popen(
        [
            sys.executable, "-m", "bumble.apps.controllers",
            f"tcp-server:127.0.0.1:{service_port}", f"tcp-server:127.0.0.1:{band_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    band: subprocess.Popen[str] | None = None
    threads: list[threading.Thread] = []
    try:
        for _ in range(BAND_START_ATTEMPTS):
            started = _start_band(f"tcp-client:127.0.0.1:{band_port}")
            if started is not None:
                band, drain = started
                threads.append(drain)
                break
            time.sleep(1.0)
        if band is None:
            raise ServiceError("the virtual band did not start on its own controller")
        record = BandProcess(band, ("--hci", f"tcp-client:127.0.0.1:{service_port}"))
        reader = threading.Thread(target=record.read_record, daemon=True)
        reader.start()
        threads.append(reader)
        yield record
    finally:
        for process in (band, controllers):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if band is not None:
            for thread in threads:
                thread.join(5)  # the band has ended: its pipes are at their end
            _close_pipes(band)


def planned_wall(cue: Mapping[str, Any]) -> float:
    """The wall-clock instant a stored cue was planned for (its session's timeline origin,
    ``at - actual_s``, plus ``planned_s``)."""
    return float(cue["at"]) - float(cue["actual_s"]) + float(cue["planned_s"])


def meant_for_wrist(cue: Mapping[str, Any]) -> bool:
    return bool(cue["on_wrist"]) and cue.get("fate") in WRIST_FATES


@dataclass(frozen=True)
class BandTiming:
    late_s: list[float]  # receipt of each played cue's first write - its planned instant
    missing: int  # cues meant for the wrist, planned outside drops, with no write at the band
    during_drops: int  # cues planned while the band was away or reconnecting (not timed)
    delayed_late_s: list[float] = field(default_factory=list)  # delayed or cut: apart


def band_timing(
    cues: Sequence[Mapping[str, Any]],
    writes: Sequence[tuple[float, str]],
    drops: Sequence[tuple[float, float]] = (),
) -> BandTiming:
    """Match cues meant for the wrist to the band's record (pure; see the module doc)."""
    planned = sorted((planned_wall(c), c.get("fate")) for c in cues if meant_for_wrist(c))
    received = sorted(t for t, _value in writes)
    late: list[float] = []
    delayed: list[float] = []
    missing = during = 0
    j = 0
    for instant, fate in planned:
        while j < len(received) and received[j] < instant - EARLY_TOLERANCE_S:
            j += 1
        found = j < len(received) and received[j] - instant <= MATCH_WINDOW_S
        if any(start <= instant <= end + RECONNECT_GRACE_S for start, end in drops):
            during += 1  # the link was down or coming back: not a timing figure
        elif found:
            (late if fate in TIMED_FATES else delayed).append(received[j] - instant)
        else:
            missing += 1
        j += found
    return BandTiming(late, missing, during, delayed)


@dataclass(frozen=True)
class Reading:
    elapsed_s: float
    rss: int
    cpu_s: float
    threads: int
    fds: int


def read(process: psutil.Process, started: float) -> Reading:
    times = process.cpu_times()
    return Reading(
        elapsed_s=time.monotonic() - started,
        rss=process.memory_info().rss,
        cpu_s=times.user + times.system,
        threads=process.num_threads(),
        fds=process.num_fds(),
    )


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour; 0 for fewer than two."""
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread * S_PER_H


def cpu_pct(first: Reading, last: Reading) -> float:
    return (last.cpu_s - first.cpu_s) / max(last.elapsed_s - first.elapsed_s, 1e-9) * 100.0


@dataclass(frozen=True)
class StoreCounts:
    rows: dict[str, int]
    samples_in_sessions: int
    outcomes: dict[str, int]
    file_mb: float
    link_states: dict[str, int]


def count_rows(db_path: Path) -> StoreCounts:
    """Rows in the SQLite file, read directly (the service has stopped)."""
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = {
            name: int(connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            for name in TABLES
        }
        in_sessions = connection.execute(
            "SELECT count(*) FROM samples WHERE session_id IS NOT NULL"
        ).fetchone()[0]
        outcomes = dict(
            connection.execute("SELECT outcome, count(*) FROM sessions GROUP BY outcome")
        )
        states = dict(connection.execute("SELECT state, count(*) FROM link_events GROUP BY state"))
    finally:
        connection.close()
    return StoreCounts(rows, int(in_sessions), outcomes, db_path.stat().st_size / MB, states)


def stored_cues(api: ApiClient, session_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every stored cue of the sessions, as ``GET /api/sessions/<id>`` gives them."""
    return [cue for sid in session_ids for cue in api.get(f"/api/sessions/{sid}")["cues"]]


def cue_lateness(cues: Sequence[Mapping[str, Any]]) -> tuple[list[float], int]:
    """Seconds each stored cue fired after its plan (``actual_s - planned_s``), and how many
    of them were shown on the screen only (the band did not take them)."""
    late = [float(cue["actual_s"]) - float(cue["planned_s"]) for cue in cues]
    return late, sum(not cue["on_wrist"] for cue in cues)


def _stop_running(api: ApiClient) -> None:
    """Stop the routine still running at the end, and wait until it is recorded as ended."""
    if is_final_state(api.session_state()):
        return
    try:
        api.post("/api/session/stop")
    except ServiceError:
        # It may have ended on its own between the two calls (a 409: nothing to stop).
        if not is_final_state(api.session_state()):
            raise
    deadline = time.monotonic() + STOP_WAIT_S
    while time.monotonic() < deadline:
        if is_final_state(api.session_state()):
            return
        time.sleep(0.2)
    raise ServiceError(f"the last routine did not stop within {STOP_WAIT_S:g} s")


@dataclass(frozen=True)
class Soak:
    readings: list[Reading]
    started: list[tuple[str, str]]
    late_s: list[float]
    off_wrist: int
    events: dict[str, int]
    store: StoreCounts
    failures: list[str]
    alive_at_end: bool
    band: BandTiming | None  # None when the band ran inside the service
    drops: list[tuple[float, float]]  # wall-clock start and end of each drop sent
    reminders_due: int  # reminders set for a minute within the run


def run_soak(
    minutes: float,
    routines: Sequence[str],
    sample_every_s: float,
    *,
    band_process: bool = True,
    drop_every_s: float = 0.0,
    drop_s: float = DEFAULT_DROP_SECONDS,
    remind_every_s: float = 0.0,
) -> Soak:
    with contextlib.ExitStack() as stack:
        band = stack.enter_context(band_in_own_process()) if band_process else None
        link_args = band.link_args if band is not None else ("--simulate",)
        return _soak(
            minutes,
            routines,
            sample_every_s,
            band,
            link_args,
            (drop_every_s, drop_s),
            remind_every_s,
        )


def set_reminders(api: ApiClient, routine: str, minutes: float, every_s: float) -> int:
    """Reminders for whole minutes about ``every_s`` apart, from the first whole minute at
    least ``REMINDER_LEAD_S`` ahead until ``REMINDER_END_MARGIN_S`` before the end; how many
    distinct minutes were set."""
    now = datetime.now()
    end = now + timedelta(minutes=minutes, seconds=-REMINDER_END_MARGIN_S)
    # The first whole minute at least REMINDER_LEAD_S ahead.
    lead = now + timedelta(seconds=REMINDER_LEAD_S)
    at = lead.replace(second=0, microsecond=0) + timedelta(minutes=1)
    wanted: set[str] = set()
    while at <= end:
        wanted.add(at.strftime("%H:%M"))
        at += timedelta(seconds=max(every_s, 60.0))
    for hh_mm in sorted(wanted):
        api.post("/api/reminders", {"at": hh_mm, "routine": routine})
    return len(wanted)


def _soak(
    minutes: float,
    routines: Sequence[str],
    sample_every_s: float,
    band: BandProcess | None,
    link_args: Sequence[str],
    dropping: tuple[float, float],
    remind_every_s: float,
) -> Soak:
    drop_every_s, drop_s = dropping
    drops: list[tuple[float, float]] = []
    reminders_due = 0
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        data_dir = Path(tmp)
        with running_service(data_dir, link_args=link_args) as service:
            api = service.api()
            api.wait_connected()
            known = {r["name"] for r in api.get("/api/routines")}
            unknown = [name for name in routines if name not in known]
            if unknown:
                raise ServiceError(f"no routine {', '.join(unknown)}; there are {sorted(known)}")
            if remind_every_s > 0:
                reminders_due = set_reminders(api, routines[0], minutes, remind_every_s)
            process = psutil.Process(service.pid)
            started = time.monotonic()
            readings = [read(process, started)]
            cycler = RoutineCycler(api, routines)
            with StreamThread(service.url, cycler.on_event) as dashboard:
                cycler.start_next()
                end = started + minutes * 60.0
                next_at = started + sample_every_s
                next_drop = started + drop_every_s if band and drop_every_s > 0 else float("inf")
                while (now := time.monotonic()) < end:
                    time.sleep(max(0.0, min(next_at, next_drop, end) - now))
                    if time.monotonic() >= next_at:
                        readings.append(read(process, started))
                        next_at += sample_every_s
                    if band is not None and time.monotonic() >= next_drop:
                        # Only a drop the band can come back from before the end counts.
                        if end - time.monotonic() > drop_s + RECONNECT_GRACE_S:
                            band.send(f"drop {drop_s:g}")
                            drops.append((time.time(), time.time() + drop_s))
                        next_drop += drop_every_s
                    if dashboard.error is not None:
                        raise ServiceError(f"the dashboard stream failed: {dashboard.error!r}")
                cycler.stop()
                alive = service.process.poll() is None
                readings.append(read(process, started))
                _stop_running(api)
                events = dict(dashboard.counts)
            cues = stored_cues(api, cycler.session_ids)
            db_path = service.db_path
        store = count_rows(db_path)  # after the service stopped: every batch is written
    late, off_wrist = cue_lateness(cues)
    timing = band_timing(cues, list(band.writes), drops) if band is not None else None
    return Soak(
        readings,
        list(cycler.started),
        late,
        off_wrist,
        events,
        store,
        cycler.failures,
        alive,
        timing,
        drops,
        reminders_due,
    )


# --- reporting ---------------------------------------------------------------------------------


def rss_timeline(readings: Sequence[Reading], every_s: float = TIMELINE_EVERY_S) -> str:
    """RSS at the first reading of each ``every_s`` window: the shape behind the slope."""
    marks: list[str] = []
    next_at = 0.0
    for r in readings:
        if r.elapsed_s >= next_at:
            marks.append(f"{r.elapsed_s / 60:.0f} min {r.rss / MB:.1f}")
            next_at += every_s
    marks.append(f"end {readings[-1].rss / MB:.1f}")
    return ", ".join(marks)


def growth_lines(readings: Sequence[Reading], settle_s: float) -> list[str]:
    kept = [r for r in readings if r.elapsed_s >= settle_s] or list(readings)
    span_min = (kept[-1].elapsed_s - kept[0].elapsed_s) / 60.0
    rss_slope = slope_per_hour([(r.elapsed_s, r.rss / MB) for r in kept])
    middle = (kept[0].elapsed_s + kept[-1].elapsed_s) / 2
    late_slope = slope_per_hour([(r.elapsed_s, r.rss / MB) for r in kept if r.elapsed_s >= middle])
    threads_slope = slope_per_hour([(r.elapsed_s, float(r.threads)) for r in kept])
    fds_slope = slope_per_hour([(r.elapsed_s, float(r.fds)) for r in kept])
    flat = abs(rss_slope) < RSS_SLOPE_WORTH_NOTING_MB_H
    verdict = "flat" if flat else "GROWS"
    return [
        f"RSS slope {rss_slope:+.2f} MB/hour over {len(kept)} readings ({span_min:.1f} min after "
        f"the first {settle_s / 60:g} min): {verdict} (under {RSS_SLOPE_WORTH_NOTING_MB_H:g} "
        f"MB/hour counts as flat; {PROJECT_HOURS:g} hours at this slope: "
        f"{rss_slope * PROJECT_HOURS:+.1f} MB); over the second half alone {late_slope:+.2f} "
        "MB/hour",
        f"RSS MB over time: {rss_timeline(readings)}",
        f"Threads {kept[0].threads} -> {kept[-1].threads} ({threads_slope:+.2f}/hour), open "
        f"files {kept[0].fds} -> {kept[-1].fds} ({fds_slope:+.2f}/hour)",
    ]


def report(soak: Soak, minutes: float, settle_s: float) -> list[str]:
    readings = soak.readings
    first, last = readings[0], readings[-1]
    tail_from = max(0.0, last.elapsed_s - WINDOW_S)
    tail = next(r for r in readings if r.elapsed_s >= tail_from)
    head = next((r for r in readings if r.elapsed_s >= WINDOW_S), last)
    per_routine: dict[str, int] = {}
    for routine, _ in soak.started:
        per_routine[routine] = per_routine.get(routine, 0) + 1
    lines = [
        f"Soak of `companion run --simulate`: {last.elapsed_s / 60:.1f} min of real time "
        f"(asked: {minutes:g}), {len(soak.started)} routine(s) back to back "
        f"({', '.join(f'{n} x {r}' for r, n in per_routine.items())}), one dashboard stream open",
        table(
            ["", "RSS MB", "threads", "open files", "CPU % of a core"],
            [
                ["start", f"{first.rss / MB:.1f}", str(first.threads), str(first.fds), ""],
                [
                    "end",
                    f"{last.rss / MB:.1f}",
                    str(last.threads),
                    str(last.fds),
                    f"{cpu_pct(first, last):.2f} (whole run)",
                ],
                ["peak", f"{max(r.rss for r in readings) / MB:.1f}", "", "", ""],
                *(
                    [
                        ["first 10 min", "", "", "", f"{cpu_pct(first, head):.2f}"],
                        ["last 10 min", "", "", "", f"{cpu_pct(tail, last):.2f}"],
                    ]
                    if last.elapsed_s >= 2 * WINDOW_S
                    else []
                ),
            ],
        ),
        *growth_lines(readings, settle_s),
    ]
    if soak.late_s:
        late = Summary.of([x * MS_PER_S for x in soak.late_s])
        early = sum(x < 0 for x in soak.late_s)
        lines.append(
            f"Cue timing from the store (actual_s - planned_s, {late.count} cues): p50 "
            f"{ms(late.p50)} ms, p99 {ms(late.p99)} ms, max {ms(late.max)} ms, mean "
            f"{ms(late.mean)} ms; {early} early, {soak.off_wrist} not taken by the band"
        )
    if soak.band is not None and soak.band.late_s:
        at_band = Summary.of([x * MS_PER_S for x in soak.band.late_s])
        lines.append(
            f"Cue timing at the band (its record: receipt of a cue's first write - the cue's "
            f"planned instant, {at_band.count} cues): p50 {ms(at_band.p50)} ms, p99 "
            f"{ms(at_band.p99)} ms, max {ms(at_band.max)} ms; {soak.band.missing} not found at "
            f"the band; {soak.band.during_drops} planned during a drop or the "
            f"{RECONNECT_GRACE_S:g} s after it, not timed"
        )
    if soak.band is not None and soak.band.delayed_late_s:
        waited = Summary.of([x * MS_PER_S for x in soak.band.delayed_late_s])
        lines.append(
            f"Cues delayed or cut on the band's one channel (by design, behind the pattern "
            f"before them; {waited.count}): at the band p50 {ms(waited.p50)} ms, max "
            f"{ms(waited.max)} ms after their plan"
        )
    if soak.drops:
        states = ", ".join(f"{k} {v}" for k, v in sorted(soak.store.link_states.items()))
        lines.append(f"Link drops sent to the band: {len(soak.drops)}; link events: {states}")
    store = soak.store
    rows = ", ".join(f"{name} {count}" for name, count in store.rows.items())
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(store.outcomes.items()))
    lines += [
        f"Rows written: {rows} (samples in a session {store.samples_in_sessions}, between "
        f"sessions {store.rows['samples'] - store.samples_in_sessions}); database file "
        f"{store.file_mb:.1f} MB",
        f"Outcomes: {outcomes}",
        "Dashboard events: " + ", ".join(f"{k} {v}" for k, v in sorted(soak.events.items())),
    ]
    if soak.failures:
        lines.append(f"Routines that did not start: {soak.failures}")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--hours", type=float, default=NightPlan.hours, help="virtual hours of night"
    )
    parser.add_argument(
        "--trace-memory", action="store_true", help="heap growth by traceback (tracemalloc)"
    )
    parser.add_argument(
        "--real-time", action="store_true", help="the real-time soak across processes"
    )
    parser.add_argument(
        "--minutes", type=float, default=DEFAULT_MINUTES, help="real time to run (--real-time)"
    )
    parser.add_argument("--routines", default=None, help="comma-separated, started in turn")
    parser.add_argument(
        "--settle-minutes",
        type=float,
        default=None,
        help="left out of the growth fit (caches and pools fill up first)",
    )
    parser.add_argument(
        "--sample-every", type=float, default=SAMPLE_EVERY_S, help="seconds between readings"
    )
    parser.add_argument(
        "--in-process-band",
        action="store_true",
        help="run the service with --simulate (no timing at the band, no drops)",
    )
    parser.add_argument(
        "--drop-every",
        type=float,
        default=DEFAULT_DROP_EVERY_MIN,
        help="minutes between link drops (0: none)",
    )
    parser.add_argument(
        "--drop-seconds", type=float, default=DEFAULT_DROP_SECONDS, help="how long a drop lasts"
    )
    parser.add_argument(
        "--remind-every",
        type=float,
        default=DEFAULT_REMIND_EVERY_MIN,
        help="minutes between reminders (0: none)",
    )
    args = parser.parse_args(argv)
    if args.routines is None:
        args.routines = DEFAULT_ROUTINES if args.real_time else ",".join(NightPlan.routines)
    if args.settle_minutes is None:
        args.settle_minutes = (
            DEFAULT_SETTLE_MINUTES if args.real_time else NightPlan.settle_s / 60.0
        )
    args.routine_list = [name.strip() for name in args.routines.split(",") if name.strip()]
    if args.hours <= 0 or args.minutes <= 0 or args.settle_minutes < 0 or args.sample_every <= 0:
        parser.error("--minutes and --sample-every must be positive, --settle-minutes not negative")
    if not args.routine_list:
        parser.error("--routines names no routine")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    if not args.real_time:
        return night_main(args)
    soak = run_soak(
        args.minutes,
        args.routine_list,
        args.sample_every,
        band_process=not args.in_process_band,
        drop_every_s=args.drop_every * 60.0,
        drop_s=args.drop_seconds,
        remind_every_s=args.remind_every * 60.0,
    )
    command = ["--real-time", "--minutes", f"{args.minutes:g}"]
    command += ["--routines", ",".join(args.routine_list)]
    command += ["--settle-minutes", f"{args.settle_minutes:g}"]
    command += ["--sample-every", f"{args.sample_every:g}"]
    if args.remind_every > 0:
        command += ["--remind-every", f"{args.remind_every:g}"]
    if args.in_process_band:
        command.append("--in-process-band")
    elif args.drop_every > 0:
        command += [
            "--drop-every",
            f"{args.drop_every:g}",
            "--drop-seconds",
            f"{args.drop_seconds:g}",
        ]
    for line in report(soak, args.minutes, args.settle_minutes * 60.0):
        print(line)
    print(f"Conditions: {conditions(False)}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    return exit_status(verdicts(soak, args.settle_minutes * 60.0))


def verdicts(soak: Soak, settle_s: float) -> list[Verdict]:
    kept = [r for r in soak.readings if r.elapsed_s >= settle_s] or list(soak.readings)
    slope = slope_per_hour([(r.elapsed_s, r.rss / MB) for r in kept])
    rows = soak.store.rows
    streamed_cues = soak.events.get("cue", 0)
    streamed_hr = soak.events.get("hr", 0)
    at_band: list[Verdict] = []
    if soak.band is not None:
        late = Summary.of([x * MS_PER_S for x in soak.band.late_s or [float("inf")]]).p99
        at_band.append(judge(MODULE, "cue timing at the band, p99", late, GOAL_BAND_P99_MS, "ms"))
        at_band.append(
            judge_true(
                MODULE,
                "every cue meant for the wrist found at the band (outside drops)",
                soak.band.missing == 0,
                f"{len(soak.band.late_s)} found, {soak.band.missing} missing",
            )
        )
    if soak.reminders_due:
        fired = soak.events.get("reminder", 0)
        at_band.append(
            judge_true(
                MODULE,
                "every reminder fired",
                fired >= soak.reminders_due,
                f"{fired} fired of {soak.reminders_due}",
            )
        )
    if soak.drops:
        states = soak.store.link_states
        recorded = min(states.get("lost", 0), states.get("reconnected", 0))
        at_band.append(
            judge_true(
                MODULE,
                "every link drop recorded as lost and reconnected",
                recorded >= len(soak.drops),
                f"{len(soak.drops)} drops, {states.get('lost', 0)} lost, "
                f"{states.get('reconnected', 0)} reconnected",
            )
        )
    return [
        *at_band,
        judge(MODULE, "RSS slope after warm-up", slope, RSS_SLOPE_WORTH_NOTING_MB_H, "MB/hour"),
        judge_true(
            MODULE,
            "the service alive at the end",
            soak.alive_at_end,
            "alive" if soak.alive_at_end else "gone",
        ),
        judge_true(
            MODULE,
            "every routine started",
            not soak.failures,
            f"{len(soak.started)} started, {len(soak.failures)} failed",
        ),
        judge_true(
            MODULE,
            "every session started is stored",
            rows["sessions"] == len(soak.started),
            f"{rows['sessions']} stored of {len(soak.started)}",
        ),
        judge_true(
            MODULE,
            "every cue streamed is stored",
            rows["cues"] >= streamed_cues,
            f"{rows['cues']} stored, {streamed_cues} streamed",
        ),
        judge_true(
            MODULE,
            "a sample stored for every heart-rate event streamed",
            rows["samples"] >= streamed_hr,
            f"{rows['samples']} stored, {streamed_hr} streamed",
        ),
    ]


# --- the night on virtual time -----------------------------------------------------------------


def night_main(args: argparse.Namespace) -> int:
    plan = NightPlan(
        hours=args.hours,
        routines=tuple(args.routine_list),
        settle_s=args.settle_minutes * 60.0,
        trace_memory=args.trace_memory,
    )
    started = time.monotonic()
    night, rows = run_night(plan)
    real_s = time.monotonic() - started
    for line in night_report(night, rows, real_s):
        print(line)
    command = ["--hours", f"{args.hours:g}", "--routines", ",".join(args.routine_list)]
    command += ["--settle-minutes", f"{args.settle_minutes:g}"]
    command += ["--trace-memory"] if args.trace_memory else []
    print(f"Conditions: {conditions(False)}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    return exit_status(night_verdicts(night, rows))


def night_report(night: NightRun, rows: Mapping[str, int], real_s: float) -> list[str]:
    plan = night.plan
    per_routine: dict[str, int] = {}
    for routine, _ in night.started:
        per_routine[routine] = per_routine.get(routine, 0) + 1
    readings = night.readings
    slope = rss_slope_mb_per_hour(readings, plan.settle_s)
    hourly = [
        next((r for r in readings if r.virtual_s >= h * 3600.0), readings[-1])
        for h in range(int(readings[-1].virtual_s // 3600) + 1)
    ]
    marks = ", ".join(f"{r.virtual_s / 3600:.0f} h {r.rss / MB:.1f}" for r in hourly)
    lines = [
        f"A night on virtual time: {night.virtual_s / 3600:.2f} h in {real_s:.0f} s of real "
        f"time; {len(night.started)} routine(s) "
        f"({', '.join(f'{n} x {r}' for r, n in per_routine.items())}), "
        f"{plan.idle_between_s / 60:g} min of idle streaming between them; the band away for "
        f"{plan.drop_s:g} s every {plan.drop_every_s / 60:g} min ({night.drops} drops); "
        f"{night.reminders_fired} reminder(s); one dashboard stream open",
        f"RSS slope after the first {plan.settle_s / 60:g} min: {slope:+.2f} MB per virtual "
        f"hour ({len(readings)} readings, every {plan.sample_every_s / 60:g} virtual min); "
        f"start {readings[0].rss / MB:.1f} MB, end {readings[-1].rss / MB:.1f} MB, peak "
        f"{max(r.rss for r in readings) / MB:.1f} MB",
        f"RSS MB by virtual hour: {marks}",
        f"On the bus: {night.bus.heart_rate} heart-rate samples, {night.bus.cues} cues, "
        f"{night.bus.sessions_ended} routines ended, {night.bus.reminders} reminders; link "
        + ", ".join(f"{k} {v}" for k, v in sorted(night.bus.link_states.items())),
        "In the store: " + ", ".join(f"{k} {v}" for k, v in rows.items()),
        "On the dashboard stream: "
        + ", ".join(f"{k} {v}" for k, v in sorted(night.streamed.items())),
    ]
    if night.growth:
        lines.append("Heap growth after the warm-up (tracemalloc, by traceback):")
        lines += [f"  {line}" for line in night.growth]
    if night.failures:
        lines.append(f"Failures: {night.failures}")
    return lines


def night_verdicts(night: NightRun, rows: Mapping[str, int]) -> list[Verdict]:
    slope = rss_slope_mb_per_hour(night.readings, night.plan.settle_s)
    bus = night.bus
    started = len(night.started)
    lost, back = rows.get("link lost", 0), rows.get("link reconnected", 0)
    streamed_reminders = night.streamed.get("reminder", 0)
    return [
        judge(
            MODULE,
            "RSS slope after warm-up (per virtual hour)",
            slope,
            RSS_SLOPE_WORTH_NOTING_MB_H,
            "MB/hour",
        ),
        judge_true(
            MODULE,
            "no crash (every part ran to the end, status answered)",
            not night.failures and night.answered_at_end,
            f"{len(night.failures)} failure(s)",
        ),
        judge_true(
            MODULE,
            "every routine started, ended and stored",
            started > 0 and rows["sessions"] == started == rows["sessions ended"],
            f"{started} started, {rows['sessions']} stored, {rows['sessions ended']} ended",
        ),
        judge_true(
            MODULE,
            "no row lost (every heart-rate sample and cue on the bus is stored)",
            rows["samples"] >= bus.heart_rate > 0 and rows["cues"] >= bus.cues > 0,
            f"samples {rows['samples']} of {bus.heart_rate}, cues {rows['cues']} of {bus.cues}",
        ),
        judge_true(
            MODULE,
            "every drop recorded as lost and reconnected",
            night.drops > 0 and lost >= night.drops and back >= night.drops,
            f"{night.drops} drops, {lost} lost, {back} reconnected",
        ),
        judge_true(
            MODULE,
            "every reminder fired and reached the dashboard",
            night.reminders_fired > 0
            and bus.reminders == night.reminders_fired
            and streamed_reminders >= night.reminders_fired,
            f"{night.reminders_fired} fired, {streamed_reminders} on the dashboard",
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
