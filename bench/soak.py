"""Soak: ``companion run --simulate`` through routines back to back for ``--minutes`` of real
time (60 by default), with one dashboard stream open throughout.

The issue asks for eight hours in accelerated simulated time, or one real hour where that
cannot be done. The virtual band runs on a real-time virtual radio (notifications once a
second, cues on monotonic deadlines), so time cannot be sped up without changing what is
measured: this runs in real time. Routines (taster, bedtime, morning in turn by default) are
started through the API, each as soon as the one before has ended; the one running at the
end is stopped through the API.

Reported: resident memory (RSS) and CPU at the start and end; RSS, threads and open files
fitted over time (least squares, leaving out the first ``--settle-minutes``), so growth
without bound shows as a slope in MB/hour; cue timing from the stored cues (``actual_s -
planned_s`` of every cue of every session, read back through ``GET /api/sessions/<id>``);
and rows written, counted in the SQLite file once the service has stopped.

Goals (issue 17): RSS slope after warm-up at most 1 MB an hour; the service alive at the
end (no crash); every routine started; nothing lost (every session started is stored,
every cue the dashboard saw is stored, and at least one sample is stored for every
heart-rate event it saw).

Cue timing here is the engine's (``actual_s`` as stored): the virtual band that records
each vibration lives inside the service process, out of this benchmark's reach. Timing at
the band is measured by ``bench.cue_timing`` (the band's own record) and
``bench.ble_latency`` (``run_cue`` to the band's receipt).

    .venv/bin/python -m bench.soak [--minutes 60] [--routines taster,bedtime,morning]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
from bench.service_latency import (
    Api,
    BenchError,
    RoutineCycler,
    StreamThread,
    is_final_state,
    running_service,
)

MODULE = "bench.soak"
QUICK_ARGS = ("--minutes", "1", "--settle-minutes", "0.25", "--sample-every", "5")
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
    finally:
        connection.close()
    return StoreCounts(rows, int(in_sessions), outcomes, db_path.stat().st_size / MB)


def cue_lateness(api: Api, session_ids: Sequence[str]) -> tuple[list[float], int]:
    """Seconds each stored cue fired after its plan (``actual_s - planned_s``), and how many
    of them were shown on the screen only (the band did not take them)."""
    late: list[float] = []
    off_wrist = 0
    for session_id in session_ids:
        detail = api.get(f"/api/sessions/{session_id}")
        for cue in detail["cues"]:
            late.append(float(cue["actual_s"]) - float(cue["planned_s"]))
            off_wrist += not cue["on_wrist"]
    return late, off_wrist


def _stop_running(api: Api) -> None:
    """Stop the routine still running at the end, and wait until it is recorded as ended."""
    if is_final_state(api.session_state()):
        return
    try:
        api.post("/api/session/stop")
    except BenchError:
        # It may have ended on its own between the two calls (a 409: nothing to stop).
        if not is_final_state(api.session_state()):
            raise
    deadline = time.monotonic() + STOP_WAIT_S
    while time.monotonic() < deadline:
        if is_final_state(api.session_state()):
            return
        time.sleep(0.2)
    raise BenchError(f"the last routine did not stop within {STOP_WAIT_S:g} s")


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


def run_soak(minutes: float, routines: Sequence[str], sample_every_s: float) -> Soak:
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        data_dir = Path(tmp)
        with running_service(data_dir) as service:
            api = service.api()
            api.wait_connected()
            known = {r["name"] for r in api.get("/api/routines")}
            unknown = [name for name in routines if name not in known]
            if unknown:
                raise BenchError(f"no routine {', '.join(unknown)}; there are {sorted(known)}")
            process = psutil.Process(service.pid)
            started = time.monotonic()
            readings = [read(process, started)]
            cycler = RoutineCycler(api, routines)
            with StreamThread(service.url, cycler.on_event) as dashboard:
                cycler.start_next()
                end = started + minutes * 60.0
                next_at = started + sample_every_s
                while (now := time.monotonic()) < end:
                    time.sleep(max(0.0, min(next_at, end) - now))
                    if time.monotonic() >= next_at:
                        readings.append(read(process, started))
                        next_at += sample_every_s
                    if dashboard.error is not None:
                        raise BenchError(f"the dashboard stream failed: {dashboard.error!r}")
                cycler.stop()
                alive = service.process.poll() is None
                readings.append(read(process, started))
                _stop_running(api)
                events = dict(dashboard.counts)
            late, off_wrist = cue_lateness(api, cycler.session_ids)
            db_path = service.db_path
        store = count_rows(db_path)  # after the service stopped: every batch is written
    return Soak(
        readings, list(cycler.started), late, off_wrist, events, store, cycler.failures, alive
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
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="real time to run")
    parser.add_argument(
        "--routines", default=DEFAULT_ROUTINES, help="comma-separated, started in turn"
    )
    parser.add_argument(
        "--settle-minutes",
        type=float,
        default=DEFAULT_SETTLE_MINUTES,
        help="left out of the growth fit (caches and pools fill up first)",
    )
    parser.add_argument(
        "--sample-every", type=float, default=SAMPLE_EVERY_S, help="seconds between readings"
    )
    args = parser.parse_args(argv)
    args.routine_list = [name.strip() for name in args.routines.split(",") if name.strip()]
    if args.minutes <= 0 or args.settle_minutes < 0 or args.sample_every <= 0:
        parser.error("--minutes and --sample-every must be positive, --settle-minutes not negative")
    if not args.routine_list:
        parser.error("--routines names no routine")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    soak = run_soak(args.minutes, args.routine_list, args.sample_every)
    command = ["--minutes", f"{args.minutes:g}", "--routines", ",".join(args.routine_list)]
    command += ["--settle-minutes", f"{args.settle_minutes:g}"]
    command += ["--sample-every", f"{args.sample_every:g}"]
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
    return [
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


if __name__ == "__main__":
    raise SystemExit(main())
