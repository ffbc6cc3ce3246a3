"""The morning summary read from the store, against the length of the history behind it.

A daily user's history is generated straight into SQLite (bulk inserts, no recorder):
two routines a day (bedtime at 21:30 and morning at 07:30, Europe/Berlin, both compiled
from the built-in catalog, about 7 minutes each), one heart-rate sample a second with its
RR intervals, every cue and step of the plan as a real session records them. About one
day in 25 is missed (the same days, counted back from the end, in every size), and about
one session in 30 is stopped part-way. Each size is also generated without a missed day
(``unbroken``): the worst case for the streak, which must then be read back to the first
day. ``--daily-only`` leaves the unbroken histories out.

The databases are the product's as shipped: made by its migrations, with every index it
ships (the cue index of migration 0003 included), and brought up to the newest migration
before each run, so a table or index added later is there too.

The day facts (``companion.store.day_facts``) are then kept in the summary's zone, as the
recorder keeps them from its first start: a rebuild from every session when the database
has none yet (or has them in another zone), timed and shown as "day facts ms"; a read
otherwise.

``summary_for`` is then timed for the last day of each history (at 09:00, after that
morning's routine), warm, ``--runs`` times: median, 90th and 99th percentile, split into
the store read (``read_summary_input``, which also cleans each session's RR for its RMSSD)
and the pure summary (``summary_from``: ``build_summary`` with the streak the day facts
counted); the first, cold call is shown beside them. Warm is as the running service reads
a summary again: each session's heart facts (its cleaned RR and figures) are remembered
under a fingerprint of its samples. "cold p50" is the same call with nothing remembered,
as after a restart (a third as many calls); it is shown, not judged.

Goals (issue 17), for every history: p50 under 50 ms and p99 under 100 ms.

Generated databases are kept in the temporary directory, keyed by size and generator
version, so a rerun only measures (``--regenerate`` builds them again).

    .venv/bin/python -m bench.summary [--runs 30] [--sizes 1m,1y,5y] [--daily-only]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import (
    MS_PER_S,
    conditions,
    exit_status,
    judge,
    ms,
    percentile,
    quiet_logging,
    reproduce,
    table,
)
from companion.routines.catalog import built_in_routines, load_catalog
from companion.routines.plan import Plan, PlanSettings, compile_plan
from companion.routines.progression import ProgressionLevel
from companion.store.database import create_engine_for_url, sqlite_url, upgrade_to_head
from companion.store.day_facts import keep_day_facts
from companion.store.summary_facts import (
    forget_remembered_hearts,
    read_summary_input,
    summary_for,
    summary_from,
)
from companion.store.writes import plan_steps

MODULE = "bench.summary"
# Bump when the generated rows change, so cached databases are not reused.
GENERATOR_VERSION = 1
TZ = ZoneInfo("Europe/Berlin")
LAST_DAY = date(2026, 3, 31)  # two days after the spring clock change
NOW_TIME = clock(9, 0)
SIZES = {"1m": 30, "1y": 365, "5y": 1826}
DEFAULT_RUNS = 30
COLD_SHARE = 3  # a third as many cold calls as warm ones
QUICK_ARGS = ("--runs", "10", "--sizes", "1m")
GOAL_P50_MS = 50.0
GOAL_P99_MS = 100.0
BATCH_ROWS = 50_000
SEED = 20260331
# Earlier versions of this benchmark dropped the product's cue index (migration 0003)
# from their cached databases; it is put back so the product is measured as shipped.
CUE_INDEX = "ix_cues_session_id_cue_step_idx"
RESTORE_CUE_INDEX = f"CREATE INDEX IF NOT EXISTS {CUE_INDEX} ON cues (session_id, cue, step_idx)"

BAND = "F0:F1:F2:F3:F4:F5"
MISSED_DAY_CHANCE = 1 / 25
STOPPED_CHANCE = 1 / 30
LEVEL = 2
LEVELS = 4
BASELINE_BPM = 62.0
RSA_BPM = 5.0
BREATH_PERIOD_S = 10.0
RR_NOISE_MS = 8.0


@dataclass(frozen=True)
class Slot:
    """One routine of the day: when it starts and what it runs."""

    routine: str
    start: clock
    plan: Plan
    plan_json: dict[str, Any]


@dataclass(frozen=True)
class History:
    label: str
    days: int
    unbroken: bool
    path: Path
    sessions: int
    samples: int
    day_facts_ms: float  # keeping the day facts before the run (a rebuild when new)

    @property
    def name(self) -> str:
        return " ".join([self.label, *(["unbroken"] if self.unbroken else [])])


@dataclass(frozen=True)
class Timing:
    history: History
    total_ms: list[float]
    store_ms: list[float]
    pure_ms: list[float]
    streak_days: int
    first_ms: float
    cold_ms: list[float]  # with no session's heart facts remembered, as after a restart


def slots() -> tuple[Slot, ...]:
    catalog = load_catalog()
    routines = built_in_routines(catalog)
    level = ProgressionLevel(LEVEL, LEVELS, "benchmark")
    made = []
    for name, start in (("morning", clock(7, 30)), ("bedtime", clock(21, 30))):
        plan = compile_plan(routines[name], PlanSettings(), level)
        made.append(Slot(name, start, plan, plan.to_json()))
    return tuple(made)


# --- generating a history ---------------------------------------------------------------


class Rows:
    """Rows per table, written in large executemany batches."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._pending: dict[str, list[tuple[Any, ...]]] = {}
        self.sessions = 0
        self.samples = 0

    def add(self, statement: str, row: tuple[Any, ...]) -> None:
        batch = self._pending.setdefault(statement, [])
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            self._flush(statement)

    def _flush(self, statement: str) -> None:
        self._connection.executemany(statement, self._pending.pop(statement, []))

    def flush_all(self) -> None:
        for statement in list(self._pending):
            self._flush(statement)


INSERT_SESSION = (
    "INSERT INTO sessions (id, routine, title, level, level_reason, started_at, ended_at, "
    "outcome, pain_before, pain_after, device, total_planned_s, plan_json, pain_step, pain_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_STEP = (
    "INSERT INTO steps (session_id, idx, name, exercise, side, mode, planned_start_s, "
    "planned_end_s, breaths, reps, started_at, ended_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CUE = (
    "INSERT INTO cues (session_id, step_idx, cue, planned_s, actual_s, duration_s, on_wrist, at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_SAMPLE = (
    "INSERT INTO samples (session_id, device, t, hr, contact, energy_kj, rr_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def history_days(days: int, unbroken: bool) -> Iterator[tuple[date, bool]]:
    """Each day, oldest first, and whether the user did their routines that day.

    Drawn from the last day backwards, so every size shares its most recent days.
    """
    rng = random.Random(f"{SEED}:missed")
    drawn = [
        (LAST_DAY - timedelta(days=k), unbroken or rng.random() >= MISSED_DAY_CHANCE)
        for k in range(days)
    ]
    # The last two days always happen: the summary being timed is about them.
    for k in range(min(2, days)):
        drawn[k] = (drawn[k][0], True)
    return reversed(drawn)


def write_session(rows: Rows, rng: random.Random, number: int, slot: Slot, start: float) -> None:
    session_id = f"bench-{number:06d}"
    total = slot.plan.total_s
    stopped = rng.random() < STOPPED_CHANCE
    # A stopped session ends somewhere in its middle half.
    end_offset = total * rng.uniform(0.25, 0.75) if stopped else total + 0.05
    pain_before = rng.randint(1, 6)
    rows.add(
        INSERT_SESSION,
        (
            session_id,
            slot.routine,
            slot.plan.title,
            LEVEL,
            slot.plan.level_reason,
            start,
            start + end_offset,
            "stopped" if stopped else "completed",
            pain_before,
            None if stopped else max(0, pain_before - rng.randint(0, 2)),
            BAND,
            total,
            json.dumps(slot.plan_json, sort_keys=True),
            None,
            None,
        ),
    )
    for step in plan_steps(session_id, slot.plan):
        began = step["planned_start_s"] if step["planned_start_s"] < end_offset else None
        finished = None if began is None else min(step["planned_end_s"], end_offset)
        rows.add(
            INSERT_STEP,
            (
                session_id,
                step["idx"],
                step["name"],
                step["exercise"],
                step["side"],
                step["mode"],
                step["planned_start_s"],
                step["planned_end_s"],
                step["breaths"],
                step["reps"],
                None if began is None else start + began,
                None if finished is None else start + finished,
            ),
        )
    for cue in slot.plan.cues:
        if cue.at_s > end_offset:
            break
        actual = cue.at_s + rng.uniform(0.0005, 0.004)
        rows.add(
            INSERT_CUE,
            (session_id, cue.step, cue.cue.value, cue.at_s, actual, 0.0, 1, start + actual),
        )
    write_samples(rows, rng, session_id, start, end_offset)
    rows.sessions += 1


def write_samples(
    rows: Rows, rng: random.Random, session_id: str, start: float, length_s: float
) -> None:
    """One sample a second, each carrying the beats that ended in that second."""
    baseline = BASELINE_BPM + rng.uniform(-4.0, 4.0)
    beat_s = rng.uniform(0.0, 1.0)
    second = 1
    packet: list[float] = []
    bpm = baseline
    while second <= length_s:
        bpm = baseline + RSA_BPM * math.sin(2 * math.pi * beat_s / BREATH_PERIOD_S)
        rr_ms = MS_PER_S * 60.0 / bpm + rng.gauss(0.0, RR_NOISE_MS)
        beat_s += rr_ms / MS_PER_S
        while beat_s > second and second <= length_s:
            rows.add(
                INSERT_SAMPLE,
                (
                    session_id,
                    BAND,
                    start + second,
                    round(bpm),
                    1,
                    None,
                    json.dumps(packet) if packet else None,
                ),
            )
            rows.samples += 1
            packet = []
            second += 1
        packet.append(round(rr_ms, 1))


def generate(path: Path, days: int, unbroken: bool) -> tuple[int, int]:
    """Write a history of ``days`` days ending on LAST_DAY into a new database at ``path``."""
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    upgrade_to_head(sqlite_url(building))
    rng = random.Random(f"{SEED}:{days}:{unbroken}")
    connection = sqlite3.connect(building)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        rows = Rows(connection)
        number = 0
        routines = slots()
        for day, happened in history_days(days, unbroken):
            if not happened:
                continue
            for slot in routines:
                start = datetime.combine(day, slot.start, tzinfo=TZ).timestamp()
                write_session(rows, rng, number, slot, start + rng.uniform(-900.0, 900.0))
                number += 1
        rows.flush_all()
        connection.commit()
        connection.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()
    building.rename(path)
    return rows.sessions, rows.samples


def prepared(label: str, days: int, unbroken: bool, regenerate: bool) -> History:
    folder = Path(tempfile.gettempdir()) / "companion-bench-summary"
    folder.mkdir(exist_ok=True)
    kind = "unbroken" if unbroken else "daily"
    path = folder / f"v{GENERATOR_VERSION}-{days}d-{kind}.db"
    if regenerate:
        path.unlink(missing_ok=True)
    if not path.exists():
        began = time.perf_counter()
        sessions, samples = generate(path, days, unbroken)
        print(
            f"generated {label} ({kind}): {sessions} sessions, {samples} samples "
            f"in {time.perf_counter() - began:.1f} s -> {path}"
        )
    # As shipped: every migration applied (a no-op when none is new) and every index there.
    upgrade_to_head(sqlite_url(path))
    with sqlite3.connect(path) as connection:
        connection.execute(RESTORE_CUE_INDEX)
        connection.execute("ANALYZE")
        sessions = connection.execute("SELECT count(*) FROM sessions").fetchone()[0]
        samples = connection.execute("SELECT count(*) FROM samples").fetchone()[0]
    # The day facts in the summary's zone, as the recorder keeps them from its first start
    # (the generator writes sessions straight into SQLite, past the recorder).
    engine = create_engine_for_url(sqlite_url(path))
    try:
        built_ms, _kept = timed(lambda: keep_day_facts(engine, TZ))
    finally:
        engine.dispose()
    return History(label, days, unbroken, path, sessions, samples, built_ms)


# --- timing -------------------------------------------------------------------------------


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = action()
    return (time.perf_counter() - began) * MS_PER_S, result


def measure(history: History, runs: int) -> Timing:
    engine = create_engine_for_url(sqlite_url(history.path))
    now = datetime.combine(LAST_DAY, NOW_TIME, tzinfo=TZ)
    try:
        # The first call also warms the pool and the page cache; it is shown, not judged.
        forget_remembered_hearts()
        first, summary = timed(lambda: summary_for(engine, LAST_DAY, TZ, now))
        totals, stores, pures, colds = [], [], [], []
        for _ in range(runs):
            total, _summary = timed(lambda: summary_for(engine, LAST_DAY, TZ, now))
            store, read = timed(lambda: read_summary_input(engine, LAST_DAY, TZ, now))
            pure, _built = timed(functools.partial(summary_from, LAST_DAY, TZ, read, now))
            totals.append(total)
            stores.append(store)
            pures.append(pure)
        for _ in range(max(1, runs // COLD_SHARE)):
            forget_remembered_hearts()
            cold, _summary = timed(lambda: summary_for(engine, LAST_DAY, TZ, now))
            colds.append(cold)
    finally:
        engine.dispose()
    return Timing(history, totals, stores, pures, summary.streak_days, first, colds)


def report(timings: Sequence[Timing]) -> str:
    header = (
        "history",
        "sessions",
        "samples",
        "streak",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "first ms",
        "cold p50",
        "store p50",
        "pure p50",
        "day facts ms",
    )
    rows = [
        (
            t.history.name,
            str(t.history.sessions),
            str(t.history.samples),
            str(t.streak_days),
            ms(statistics.median(t.total_ms)),
            ms(percentile(t.total_ms, 90)),
            ms(percentile(t.total_ms, 99)),
            ms(t.first_ms),
            ms(statistics.median(t.cold_ms)),
            ms(statistics.median(t.store_ms)),
            ms(statistics.median(t.pure_ms)),
            ms(t.history.day_facts_ms),
        )
        for t in timings
    ]
    lines = [table(header, rows)]
    base = timings[0]
    for t in timings[1:]:
        ratio = statistics.median(t.total_ms) / statistics.median(base.total_ms)
        growth = t.history.sessions / base.history.sessions
        lines.append(
            f"{t.history.name} / {base.history.name}: "
            f"{ratio:.2f}x the time for {growth:.0f}x the history"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--sizes", default=",".join(SIZES), help="of " + ", ".join(SIZES))
    parser.add_argument(
        "--daily-only", action="store_true", help="leave out the histories with no missed day"
    )
    parser.add_argument("--regenerate", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    labels = [label.strip() for label in args.sizes.split(",") if label.strip()]
    histories = [prepared(label, SIZES[label], False, args.regenerate) for label in labels]
    if not args.daily_only:
        histories += [prepared(label, SIZES[label], True, args.regenerate) for label in labels]
    timings = [measure(history, args.runs) for history in histories]
    command = ["--runs", str(args.runs), "--sizes", ",".join(labels)]
    command += ["--daily-only"] if args.daily_only else []
    print(f"Morning summary for {LAST_DAY} at {NOW_TIME:%H:%M} ({TZ.key}), warm, {args.runs} runs")
    print(report(timings))
    print(f"Conditions: {conditions(False)}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    verdicts = []
    for t in timings:
        name = f"summary p50, {t.history.name} ({t.streak_days}-day streak)"
        verdicts.append(judge(MODULE, name, statistics.median(t.total_ms), GOAL_P50_MS, "ms"))
        name = f"summary p99, {t.history.name}"
        verdicts.append(judge(MODULE, name, percentile(t.total_ms, 99), GOAL_P99_MS, "ms"))
    return exit_status(verdicts)


if __name__ == "__main__":
    raise SystemExit(main())
