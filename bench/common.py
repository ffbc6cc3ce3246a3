"""Helpers every benchmark shares: percentiles, a summary table, the conditions of the run,
the command that reproduces it, and a second process that keeps one core busy."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# The whole loop a busy process runs: pure Python, no I/O, never yields the core.
BUSY_LOOP = "while True: pass"
MS_PER_S = 1000.0
LOOP_PROBE_INTERVAL_S = 0.1
LOAD_SAMPLE_INTERVAL_S = 10.0
PROC_STAT = "/proc/stat"
# /proc/stat "cpu" line: user nice system idle iowait irq softirq steal ...
IDLE_FIELDS = (3, 4)
STEAL_FIELD = 7
# Collections shorter than this are noise beside the timings measured here.
GC_PAUSE_WORTH_NOTING_S = 0.002


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), interpolating linearly between the closest ranks."""
    if not values:
        raise ValueError("no values to take a percentile of")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be within 0..100, not {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


@dataclass(frozen=True)
class Summary:
    """Percentiles of one series of measurements, in the unit they were given in."""

    count: int
    p50: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(
            count=len(values),
            p50=percentile(values, 50),
            p99=percentile(values, 99),
            max=max(values),
            mean=sum(values) / len(values),
        )


def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A plain aligned table: the first ``left`` columns left-aligned, the others right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def ms(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def conditions(busy: bool) -> str:
    """One line saying what the figures were measured on."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    busy_text = "one core kept busy by another process" if busy else "no extra load"
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {busy_text}, "
        f"load average at the end {load}"
    )


def reproduce(module: str, args: Sequence[str]) -> str:
    """The command (run from the repository root) that measures the same thing again."""
    return " ".join([".venv/bin/python", "-m", module, *args])


@contextlib.contextmanager
def busy_core(enabled: bool = True) -> Iterator[int | None]:
    """Another Python process spinning on one core for as long as the block runs; its pid."""
    if not enabled:
        yield None
        return
    spinner = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        yield spinner.pid
    finally:
        spinner.kill()
        spinner.wait()


def quiet_logging() -> None:
    """Only warnings and errors from the stacks under test; the figures are the output."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


class LoopLagProbe:
    """How late the asyncio loop itself wakes: sleeps to deadlines every 100 ms and records
    how far past each deadline it woke. Nothing scheduled on that loop can do better."""

    def __init__(self, interval_s: float = LOOP_PROBE_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self.lags_s: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += self._interval_s
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            self.lags_s.append(loop.time() - deadline)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@dataclass
class GcPauses:
    """Garbage collections that stopped the process for longer than the noted threshold."""

    pauses_s: list[float] = field(default_factory=list)
    collections: int = 0
    _started: float = 0.0

    def _callback(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.collections += 1
        took = time.perf_counter() - self._started
        if took >= GC_PAUSE_WORTH_NOTING_S:
            self.pauses_s.append(took)

    @contextlib.contextmanager
    def watching(self) -> Iterator[GcPauses]:
        gc.callbacks.append(self._callback)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._callback)

    def describe(self) -> str:
        longest = f", longest {max(self.pauses_s) * MS_PER_S:.1f} ms" if self.pauses_s else ""
        threshold = GC_PAUSE_WORTH_NOTING_S * MS_PER_S
        return (
            f"{self.collections} garbage collections, {len(self.pauses_s)} of them "
            f"{threshold:g} ms or longer{longest}"
        )


@dataclass(frozen=True)
class CpuTimes:
    """The machine's CPU time so far, in clock ticks, from /proc/stat."""

    busy: int
    steal: int
    total: int

    @classmethod
    def read(cls) -> CpuTimes | None:
        try:
            with open(PROC_STAT, encoding="ascii") as stat:
                fields = [int(x) for x in stat.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        idle = sum(fields[i] for i in IDLE_FIELDS)
        return cls(busy=sum(fields) - idle, steal=fields[STEAL_FIELD], total=sum(fields))


class HostWatch:
    """What else the machine was doing while we measured: the load average (sampled every
    10 s), how busy both cores were, and how much time the hypervisor took away (steal)."""

    def __init__(self, interval_s: float = LOAD_SAMPLE_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self.loads: list[float] = []
        self._before: CpuTimes | None = None
        self._after: CpuTimes | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.loads.append(os.getloadavg()[0])
            await asyncio.sleep(self._interval_s)

    def start(self) -> None:
        self._before = CpuTimes.read()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._after = CpuTimes.read()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def describe(self) -> str:
        parts = []
        if self.loads:
            mean = sum(self.loads) / len(self.loads)
            parts.append(
                f"1-min load average over the run: mean {mean:.2f}, max {max(self.loads):.2f}"
            )
        before, after = self._before, self._after
        if before is not None and after is not None and after.total > before.total:
            total = after.total - before.total
            busy = (after.busy - before.busy) / total
            steal = (after.steal - before.steal) / total
            parts.append(f"both cores {busy:.0%} busy, {steal:.1%} stolen by the hypervisor")
        return "; ".join(parts) or "no host figures on this system"


# --- goals and verdicts -------------------------------------------------------------------
#
# Every benchmark states its goals and judges each figure against one with ``judge``: it
# prints "met" or "MISSED" with the figure and the machine's load, and records the verdict
# so ``python -m bench`` can end with one table of every goal. A benchmark's ``main``
# returns ``exit_status(verdicts)``: non-zero when any goal was missed.

MET = "met"
MISSED = "MISSED"


@dataclass(frozen=True)
class Verdict:
    """One goal, the figure measured against it, and whether it was met."""

    bench: str
    goal: str
    figure: str
    met: bool
    load: str

    @property
    def word(self) -> str:
        return MET if self.met else MISSED

    def line(self) -> str:
        return f"Goal: {self.goal}: {self.word} ({self.figure}; load {self.load})"


# Verdicts judged in this process, in order; ``python -m bench`` reads and clears them.
_verdicts: list[Verdict] = []


def load_now() -> str:
    """The 1-, 5- and 15-minute load averages and the core count, as one short text."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def judge(
    bench: str,
    goal: str,
    value: float,
    limit: float,
    unit: str = "",
    *,
    at_most: bool = True,
    digits: int = 2,
) -> Verdict:
    """Judge ``value`` against ``limit`` (a ceiling unless ``at_most`` is False), print the
    verdict line and record it. ``goal`` says what is measured, e.g. "summary p50 at 5 y"."""
    met = value <= limit if at_most else value >= limit
    bound = "at most" if at_most else "at least"
    suffix = f" {unit}" if unit else ""
    verdict = Verdict(
        bench=bench,
        goal=f"{goal} {bound} {limit:g}{suffix}",
        figure=f"{value:.{digits}f}{suffix}",
        met=met,
        load=load_now(),
    )
    return record_verdict(verdict)


def judge_true(bench: str, goal: str, holds: bool, figure: str) -> Verdict:
    """A goal that holds or not (no rows lost, no crash), with the figure that says so."""
    return record_verdict(Verdict(bench, goal, figure, holds, load_now()))


def record_verdict(verdict: Verdict) -> Verdict:
    _verdicts.append(verdict)
    print(verdict.line(), flush=True)
    return verdict


def take_verdicts() -> list[Verdict]:
    """The verdicts recorded since the last call (and forget them)."""
    taken = list(_verdicts)
    _verdicts.clear()
    return taken


def exit_status(verdicts: Sequence[Verdict]) -> int:
    """0 when every goal was met, 1 when any was missed (and 1 when none was judged: a
    benchmark that judged nothing measured nothing)."""
    return 0 if verdicts and all(v.met for v in verdicts) else 1


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    header = ("bench", "goal", "figure", "verdict", "load (1/5/15 min)")
    rows = [(v.bench, v.goal, v.figure, v.word, v.load) for v in verdicts]
    return table(header, rows, left=2)
