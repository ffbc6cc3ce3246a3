"""Cue timing where the person feels it: a band in its own process, across the virtual radio.

For each routine and condition: two virtual controllers on one virtual link
(``bumble.apps.controllers``), ``companion band`` on one of them and
``companion session --routine R --jsonl`` on the other, exactly as the README runs them.
The session prints the band's script (its ``band_script`` line: every write the band
should get, from the composed plan); the band prints every write it received with its
monotonic time (one clock for every process on Linux). Error of a write = its receipt less
its planned offset, less the median of that over the run (the routine's start is not shared
between processes). Masked or interleaved = writes out of their planned place (the plan has
no two patterns overlapping);
misread = cues the wearer (``haptics.read_wrist``, 50 ms rhythm tolerance) could not read
as planned, which lateness alone can cause.
Beside it, the engine-side figure: how late the engine fired each cue (``actual_s -
planned_s``), all the earlier benchmarks could see. Run with ``python -m bench.cue_timing
--strap``.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import MS_PER_S, Summary, busy_core, judge, judge_true, ms, table
from companion.ble.profiles import load_profiles
from companion.routines.haptics import Received, Vocabulary, read_wrist

STRAP_TARGET_MS = 10.0
PROFILE = "immediate-alert"  # what the virtual band matches
COMPANION = [sys.executable, "-m", "companion"]
START_TIMEOUT_S = 20.0
# The session command's own margin: finding the band, then the routine, then its tail.
SESSION_SLACK_S = 120.0


@dataclass(frozen=True)
class StrapRun:
    routine: str
    condition: str
    planned: int
    received: int
    errors_ms: tuple[float, ...]
    engine_late_ms: tuple[float, ...]
    sent_late_ms: tuple[float, ...]  # each cue's first write leaving our process, vs its time
    masked: int  # writes out of their planned place: a pattern masked or interleaved
    misread: int  # cues the wearer could not read as planned (rhythm bent by lateness too)
    note: str
    planned_s: tuple[float, ...] = ()

    def worst(self, count: int = 3) -> str:
        """The writes furthest from their plan: 'at 0.0 s +12.9 ms'."""
        ranked = sorted(zip(self.planned_s, self.errors_ms, strict=True), key=lambda p: -abs(p[1]))
        return ", ".join(f"at {at:.1f} s {err:+.1f} ms" for at, err in ranked[:count])

    @property
    def strap(self) -> Summary:
        return Summary.of([abs(e) for e in self.errors_ms])

    @property
    def over_target(self) -> int:
        return sum(abs(e) > STRAP_TARGET_MS for e in self.errors_ms)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def _band_process(data_dir: Path, band_out: Path) -> Iterator[str]:
    """Controllers and a band in their own processes; yields the companion's --hci."""
    hub, band_port = _free_port(), _free_port()
    env = {**os.environ, "COMPANION_DATA_DIR": str(data_dir)}
    radio = subprocess.Popen(
        [sys.executable, "-m", "bumble.apps.controllers",
         f"tcp-server:127.0.0.1:{hub}", f"tcp-server:127.0.0.1:{band_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    band: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(band_port):
            if time.monotonic() > deadline:
                raise RuntimeError("the virtual controllers did not start")
            time.sleep(0.1)
        with band_out.open("w") as out:
            band = subprocess.Popen(
                [*COMPANION, "band", "--hci", f"tcp-client:127.0.0.1:{band_port}"],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.DEVNULL, env=env,
            )  # fmt: skip
        yield f"tcp-client:127.0.0.1:{hub}"
    finally:
        for process in (band, radio):
            if process is not None:
                process.kill()
                process.wait()


def run_strap(routine: str, condition: str) -> StrapRun:
    with tempfile.TemporaryDirectory(prefix="bench-strap-") as tmp:
        data_dir, band_out = Path(tmp) / "data", Path(tmp) / "band.jsonl"
        with busy_core(condition == "busy"), _band_process(data_dir, band_out) as hci:
            env = {**os.environ, "COMPANION_DATA_DIR": str(data_dir)}
            session = subprocess.run(
                [*COMPANION, "session", "--hci", hci, "--routine", routine, "--jsonl"],
                capture_output=True, text=True, env=env, check=False,
                timeout=60 * 60 + SESSION_SLACK_S,
            )  # fmt: skip
            time.sleep(1.0)  # the last write crossing the radio
        if session.returncode != 0:
            raise RuntimeError(f"companion session exited {session.returncode}: {session.stderr}")
        events = [json.loads(line) for line in session.stdout.splitlines() if line.startswith("{")]
        received = [
            json.loads(line)["vibration"]
            for line in band_out.read_text().splitlines()
            if line.startswith("{") and "vibration" in line
        ]
    return measure(routine, condition, events, received)


def measure(
    routine: str, condition: str, events: Sequence[dict], received: Sequence[dict]
) -> StrapRun:
    plan = next(e["plan"] for e in events if e.get("type") == "session")
    script = next((e["writes"] for e in events if e.get("type") == "band_script"), [])
    planned = [(w["at_s"], w["value"]) for w in script]
    pairs = list(zip(planned, received, strict=False))
    notes = []
    if len(planned) != len(received):
        notes.append(f"{len(received)} writes received for {len(planned)} planned")
    # The plan has no two patterns overlapping, so a write out of its planned place is a
    # pattern masked or interleaved on the way.
    wrong = sum(value != got["value"] for (_, value), got in pairs)
    offsets = [(got["mono"] - at) * MS_PER_S for (at, _), got in pairs]
    middle = statistics.median(offsets) if offsets else 0.0
    vocabulary = Vocabulary.from_profile(load_profiles(None)[PROFILE])
    reading = read_wrist(
        [Received(v["mono"], v["characteristic"], bytes.fromhex(v["value"])) for v in received],
        vocabulary,
    )
    meant = [c["cue"] for c in plan["cues"] if c.get("fate") in ("played", "delayed")]
    felt = [f.cue for f in reading.felt]
    misread = sum(a != b for a, b in zip(meant, felt, strict=False)) + abs(len(meant) - len(felt))
    engine = [(e["actual_s"] - e["planned_s"]) * MS_PER_S for e in events if e.get("type") == "cue"]
    sent = [
        e["first_write_late_s"] * MS_PER_S
        for e in events
        if e.get("type") == "cue_delivered" and e.get("first_write_late_s") is not None
    ]
    return StrapRun(
        routine=routine,
        condition=condition,
        planned=len(planned),
        received=len(received),
        errors_ms=tuple(o - middle for o in offsets),
        engine_late_ms=tuple(engine),
        sent_late_ms=tuple(sent),
        masked=wrong + abs(len(planned) - len(received)),
        misread=len(reading.unreadable) + misread,
        note="; ".join(notes),
        planned_s=tuple(at for (at, _), _got in pairs),
    )


def report(runs: Sequence[StrapRun]) -> str:
    rows = []
    for run in runs:
        strap, engine = run.strap, Summary.of(list(run.engine_late_ms))
        sent = Summary.of(list(run.sent_late_ms) or [float("nan")])
        rows.append(
            [
                run.routine,
                run.condition,
                f"{run.received}/{run.planned}",
                ms(strap.p50),
                ms(strap.p99),
                ms(strap.max),
                str(run.over_target),
                str(run.masked),
                str(run.misread),
                ms(engine.p50),
                ms(engine.p99),
                ms(engine.max),
                ms(sent.p99),
                ms(sent.max),
                run.note,
            ]
        )
    header = [
        "routine",
        "machine",
        "writes",
        "strap p50",
        "p99",
        "max",
        f"> {STRAP_TARGET_MS:g}",
        "masked",
        "misread",
        "engine p50",
        "p99",
        "max",
        "sent p99",
        "max",
        "note",
    ]
    return table(header, rows)


def strap_main(routines: Sequence[str], conditions: Sequence[str], module: str) -> None:
    runs = [run_strap(routine, condition) for routine in routines for condition in conditions]
    print("Cue timing at a band in its own process (received - planned, median removed), ms;")
    print("engine: how late the engine fired each cue (what earlier runs measured); sent: how")
    print("late each cue's first write left the companion's process (the rest is the radio and")
    print("the other processes).")
    print(report(runs))
    for run in runs:
        print(f"Furthest from plan, {run.routine} ({run.condition}): {run.worst()}")
    for run in runs:
        where = f"over {run.routine} ({run.condition})"
        judge(module, f"strap-side p99 {where}", run.strap.p99, STRAP_TARGET_MS, "ms")
        judge_true(
            module,
            f"no masked or interleaved pattern {where}",
            run.masked == 0 and run.received == run.planned,
            f"{run.masked} masked, {run.received}/{run.planned} writes",
        )
