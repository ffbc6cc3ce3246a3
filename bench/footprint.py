"""What the running service costs the machine: resident memory and CPU of
``companion run --simulate`` (a subprocess, free port, temporary data dir), read with psutil.

1. start-up: until the band link is connected, then ``--settle`` seconds more;
2. idle: ``--idle-seconds`` (60) with nothing asked of it and no dashboard open;
3. routine: one dashboard stream open (as a bedside tablet would keep it) and the taster
   started through the API ``--runs`` times (2), each as soon as the one before has ended.

For each phase: resident set size (RSS, what the target is about) at its start and end
and its peak (sampled every second), the unique set size at the end (USS: memory no other
process shares, i.e. what stopping the service would give back), and CPU time (user +
system) over wall time as a percentage of one core.

Targets: under 120 MB resident; under 3% of one core while idle.

    .venv/bin/python -m bench.footprint [--idle-seconds 60] [--runs 2] [--routine taster]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped]

from bench.common import Verdict, conditions, exit_status, judge, quiet_logging, reproduce, table
from bench.service_harness import LiveService as ServiceProcess
from bench.service_harness import RoutineCycler, StreamThread, running_service
from bench.service_harness import ServiceError as BenchError

MODULE = "bench.footprint"
QUICK_ARGS = ("--idle-seconds", "5", "--runs", "1", "--settle", "1")
DEFAULT_IDLE_S = 60.0
DEFAULT_RUNS = 2
DEFAULT_SETTLE_S = 10.0
DEFAULT_ROUTINE = "taster"
SAMPLE_EVERY_S = 1.0
TARGET_RSS_MB = 120.0
TARGET_IDLE_CPU_PCT = 3.0
MB = 1024 * 1024
# A routine's own length plus this, before the run is given up on.
ROUTINE_SLACK_S = 120.0


@dataclass(frozen=True)
class Reading:
    mono: float
    rss: int
    cpu_s: float
    threads: int


def read(process: psutil.Process) -> Reading:
    times = process.cpu_times()
    return Reading(
        mono=time.monotonic(),
        rss=process.memory_info().rss,
        cpu_s=times.user + times.system,
        threads=process.num_threads(),
    )


@dataclass(frozen=True)
class Phase:
    name: str
    readings: tuple[Reading, ...]
    uss_end: int
    note: str = ""

    @property
    def seconds(self) -> float:
        return self.readings[-1].mono - self.readings[0].mono

    @property
    def cpu_pct(self) -> float:
        first, last = self.readings[0], self.readings[-1]
        return (last.cpu_s - first.cpu_s) / max(self.seconds, 1e-9) * 100.0

    @property
    def rss_peak(self) -> int:
        return max(r.rss for r in self.readings)

    def row(self) -> list[str]:
        first, last = self.readings[0], self.readings[-1]
        return [
            self.name,
            f"{self.seconds:.1f}",
            f"{first.rss / MB:.1f}",
            f"{last.rss / MB:.1f}",
            f"{self.rss_peak / MB:.1f}",
            f"{self.uss_end / MB:.1f}",
            f"{self.cpu_pct:.2f}",
            f"{first.threads}->{last.threads}",
            self.note,
        ]


def watch(process: psutil.Process, name: str, until: Callable[[], bool], note: str = "") -> Phase:
    """Readings every second from now until ``until()`` is true."""
    readings = [read(process)]
    next_at = readings[0].mono + SAMPLE_EVERY_S
    while not until():
        time.sleep(max(0.0, min(next_at - time.monotonic(), SAMPLE_EVERY_S)))
        if time.monotonic() >= next_at:
            readings.append(read(process))
            next_at += SAMPLE_EVERY_S
    readings.append(read(process))
    return Phase(name, tuple(readings), process.memory_full_info().uss, note)


def _after(seconds: float) -> Callable[[], bool]:
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


def measure_phases(
    service: ServiceProcess, idle_s: float, runs: int, routine: str, settle_s: float
) -> list[Phase]:
    process = psutil.Process(service.pid)
    began = read(process)
    api = service.api()
    api.wait_connected()
    time.sleep(settle_s)
    phases = [
        Phase(
            "start-up",
            (began, read(process)),
            process.memory_full_info().uss,
            f"from the dashboard's announce to link connected + {settle_s:g} s",
        )
    ]
    phases.append(watch(process, "idle", _after(idle_s), "no dashboard open"))
    planned = {r["name"]: float(r["total_s"]) for r in api.get("/api/routines")}
    if routine not in planned:
        raise BenchError(f"no routine {routine!r}; there are {', '.join(planned)}")
    cycler = RoutineCycler(api, [routine], limit=runs)
    with StreamThread(service.url, cycler.on_event) as dashboard:
        cycler.start_next()
        give_up = _after(runs * (planned[routine] + ROUTINE_SLACK_S))
        phase = watch(
            process,
            "routine",
            lambda: cycler.all_ended.is_set() or give_up(),
            f"{runs} x {routine}, one dashboard stream open",
        )
        events = sum(dashboard.counts.values())
    if cycler.failures:
        raise BenchError(f"routines did not start: {cycler.failures}")
    if cycler.ended < runs:
        raise BenchError(f"only {cycler.ended} of {runs} routines ended in time")
    phases.append(
        Phase(phase.name, phase.readings, phase.uss_end, f"{phase.note}, {events} events")
    )
    return phases


def verdicts(phases: Sequence[Phase]) -> list[Verdict]:
    peak = max(p.rss_peak for p in phases) / MB
    idle = next(p for p in phases if p.name == "idle").cpu_pct
    return [
        judge(MODULE, "resident memory at its peak", peak, TARGET_RSS_MB, "MB", digits=1),
        judge(MODULE, "CPU while idle, % of one core", idle, TARGET_IDLE_CPU_PCT, "%"),
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--idle-seconds", type=float, default=DEFAULT_IDLE_S)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="routines, back to back")
    parser.add_argument("--routine", default=DEFAULT_ROUTINE)
    parser.add_argument(
        "--settle", type=float, default=DEFAULT_SETTLE_S, help="seconds after start-up"
    )
    args = parser.parse_args(argv)
    if args.idle_seconds <= 0 or args.runs < 1 or args.settle < 0:
        parser.error("--idle-seconds must be positive, --runs at least 1, --settle not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    with running_service() as service:
        phases = measure_phases(service, args.idle_seconds, args.runs, args.routine, args.settle)
        pid = service.pid
    command = ["--idle-seconds", f"{args.idle_seconds:g}", "--runs", str(args.runs)]
    command += ["--routine", args.routine, "--settle", f"{args.settle:g}"]
    print(f"Footprint of `companion run --simulate` (pid {pid}), sampled every second")
    header = ["phase", "seconds", "RSS start MB", "RSS end MB", "RSS peak MB", "USS end MB"]
    header += ["CPU % of a core", "threads", "note"]
    print(table(header, [p.row() for p in phases]))
    startup_cpu = phases[0].readings[0].cpu_s
    print(f"CPU time before the dashboard was announced (imports, migrations): {startup_cpu:.2f} s")
    print(f"Conditions: {conditions(False)}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    return exit_status(verdicts(phases))


if __name__ == "__main__":
    raise SystemExit(main())
