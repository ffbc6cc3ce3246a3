"""How big the database gets over five years, and how much it writes a day.

The database is built in bulk, straight into SQLite (no service), as it stands after
``--years`` of use with retention running:

* **sessions**: two routines a day (morning and bedtime) with their steps, cues and a
  heart-rate sample a second with RR intervals, kept for good (``bench.summary``'s
  generator: the same rows a real session records);
* **between sessions, the last 30 days raw**: one sample a second for ``--worn-hours`` a
  day (24 by default, the worst case: a band connected around the clock), each with its
  RR intervals, inserted by a recursive SQL query;
* **between sessions, everything older as per-minute rows**: one whole day of raw samples
  is folded by the product's own thinning (``companion.store.retention``), timed, and its
  minutes are copied by SQL to every older day.

Then a few days of steady state are played: a day of raw samples comes in, the oldest raw
day is folded, as the nightly upkeep does, and the file's growth per day is measured (freed
pages are reused, so it grows by a day's minutes, not a day's samples).

Write volume for the SD card, with a band connected between sessions, on a copy of the
five-year database with the product's connection settings (WAL, synchronous NORMAL): first
a sample a second committed one transaction at a time (as the recorder did before it
batched between-session samples, and still does within a session: ``flush_interval_s``
0.5 s makes every sample its own commit), through the product's write path; then the same
number of samples through the ``Recorder`` itself, which commits between-session samples
every ``idle_flush_interval_s`` (60 s). The recorder runs on a clock ``RECORDER_SPEEDUP``
(30) times faster: samples are submitted 30 a second on a fixed schedule and its interval
is a thirtieth, so each commit holds the 60 samples it holds at one a second. The bytes
the process handed to ``write()`` (``/proc/self/io``) are scaled to a day. That counts
every write the SD card may see; the kernel's page cache can merge some before they reach
it.

Goals: the five-year database at most 1 GB (issue 17: "well under"; the figure is what
counts), growth in steady state at most 1 MB a day, and the recorder writing at most 115
MB a day between sessions (a tenth of one commit a second).

    .venv/bin/python -m bench.storage [--years 5] [--worn-hours 24] [--raw-days 30]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import conditions, exit_status, judge, quiet_logging, reproduce, table
from bench.summary import BAND, LAST_DAY, TZ, generate
from companion.events import HeartRateSample
from companion.store.database import create_engine_for_url, sqlite_url
from companion.store.day_facts import keep_day_facts
from companion.store.recorder import DEFAULT_IDLE_FLUSH_INTERVAL_S, Recorder
from companion.store.retention import SECONDS_PER_DAY, thin_heart_rate
from companion.store.writes import EventTranslator, apply_writes

MODULE = "bench.storage"
QUICK_ARGS = ("--years", "0.2", "--steady-days", "1", "--write-seconds", "120")
DAYS_PER_YEAR = 365.25
DEFAULT_YEARS = 5.0
DEFAULT_WORN_HOURS = 24.0
DEFAULT_RAW_DAYS = 30
DEFAULT_STEADY_DAYS = 2
DEFAULT_WRITE_SECONDS = 900
MB = 1024 * 1024
GOAL_SIZE_MB = 1024.0
GOAL_GROWTH_MB_PER_DAY = 1.0
# A tenth of what one commit a second wrote (about 1.15 GB a day).
GOAL_WRITES_MB_PER_DAY = 115.0
RECORDER_SPEEDUP = 30.0
# Worn from this local hour on for --worn-hours (the night first, as a bedside band is).
WEAR_STARTS_HOUR = 22
PROC_IO = "/proc/self/io"

# One sample a second from ``start`` for ``count`` seconds. Heart rate 52-75; about nine
# samples in ten carry one RR interval, one in twenty two (as a band at rest sends them),
# written as the recorder writes them (json.dumps of a list of floats).
RAW_SAMPLES_SQL = """
WITH RECURSIVE second(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM second WHERE k < :count - 1)
INSERT INTO samples (session_id, device, t, hr, contact, energy_kj, rr_ms)
SELECT NULL, :band, :start + k, 52 + abs(random()) % 24, 1, NULL,
       CASE abs(random()) % 20
           WHEN 0 THEN NULL
           WHEN 1 THEN '[' || (800 + abs(random()) % 400) || '.' || (abs(random()) % 10)
                       || ', ' || (800 + abs(random()) % 400) || '.' || (abs(random()) % 10) || ']'
           ELSE '[' || (800 + abs(random()) % 400) || '.' || (abs(random()) % 10) || ']'
       END
FROM second
"""

COPY_MINUTES_SQL = """
WITH RECURSIVE back(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM back WHERE k < :days)
INSERT INTO heart_minutes (device, t, worn, unworn, hr_min, hr_mean, hr_max, rr_count,
                           rr_differences, rmssd_ms)
SELECT device, t - k * 86400.0, worn, unworn, hr_min, hr_mean, hr_max, rr_count,
       rr_differences, rmssd_ms
FROM heart_minutes, back
WHERE t >= :start AND t < :end
"""


@dataclass(frozen=True)
class Built:
    days: int
    sessions: int
    session_samples: int
    raw_samples: int
    minutes: int
    fold_s_per_day: float
    seconds: float


def wear_start(day_index: int, first_day: datetime) -> float:
    """When the band goes on for day ``day_index`` (local ``WEAR_STARTS_HOUR``)."""
    day = first_day + timedelta(days=day_index)
    return day.replace(hour=WEAR_STARTS_HOUR).timestamp()


def insert_raw_day(connection: sqlite3.Connection, start: float, worn_s: int) -> None:
    connection.execute(RAW_SAMPLES_SQL, {"count": worn_s, "band": BAND, "start": start})


def file_mb(path: Path) -> float:
    with sqlite3.connect(path) as connection:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    return float(pages * size) / MB


def table_sizes(path: Path) -> dict[str, float]:
    """MB per table, its indexes included (SQLite's dbstat, when compiled in)."""
    with sqlite3.connect(path) as connection:
        try:
            rows = connection.execute(
                "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s "
                "LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1 ORDER BY 2 DESC"
            ).fetchall()
        except sqlite3.OperationalError:
            return {}
    return {str(name): float(size) / MB for name, size in rows}


def build(path: Path, years: float, worn_hours: float, raw_days: int) -> Built:
    began = time.perf_counter()
    days = max(raw_days + 2, math.ceil(years * DAYS_PER_YEAR))
    sessions, session_samples = generate(path, days, unbroken=False)
    worn_s = int(worn_hours * 3600)
    first_day = datetime.combine(LAST_DAY - timedelta(days=days - 1), datetime.min.time(), TZ)
    raw_first = days - raw_days  # the index of the first day still kept raw
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        # The day before the raw window, raw for now: folded below by the product's code.
        insert_raw_day(connection, wear_start(raw_first - 1, first_day), worn_s)
        for index in range(raw_first, days):
            insert_raw_day(connection, wear_start(index, first_day), worn_s)
        connection.commit()
    finally:
        connection.close()
    folded_day_start = wear_start(raw_first - 1, first_day)
    engine = create_engine_for_url(sqlite_url(path))
    try:
        fold_began = time.perf_counter()
        now = wear_start(raw_first, first_day) + raw_days * SECONDS_PER_DAY
        report = thin_heart_rate(engine, now, raw_days=raw_days)
        fold_s = time.perf_counter() - fold_began
    finally:
        engine.dispose()
    if not report.finished or report.samples_folded != worn_s:
        raise RuntimeError(f"thinning folded {report.samples_folded} of {worn_s} samples")
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute(
            COPY_MINUTES_SQL,
            {
                "days": raw_first - 1,
                "start": folded_day_start,
                "end": folded_day_start + SECONDS_PER_DAY,
            },
        )
        connection.commit()
        connection.execute("ANALYZE")
        raw = connection.execute(
            "SELECT count(*) FROM samples WHERE session_id IS NULL"
        ).fetchone()[0]
        minutes = connection.execute("SELECT count(*) FROM heart_minutes").fetchone()[0]
    finally:
        connection.close()
    return Built(
        days=days,
        sessions=sessions,
        session_samples=session_samples,
        raw_samples=int(raw),
        minutes=int(minutes),
        fold_s_per_day=fold_s,
        seconds=time.perf_counter() - began,
    )


def steady_growth_mb_per_day(path: Path, built: Built, worn_hours: float, days: int) -> float:
    """Play ``days`` days of retention: a new raw day in, the oldest raw day folded. The
    first day is played before measuring: the bulk-built file has no freed pages yet."""
    before = 0.0
    first_day = datetime.combine(LAST_DAY - timedelta(days=built.days - 1), datetime.min.time(), TZ)
    engine = create_engine_for_url(sqlite_url(path))
    try:
        for extra in range(days + 1):
            if extra == 1:
                before = file_mb(path)
            index = built.days + extra
            with engine.begin() as connection:
                connection.exec_driver_sql(
                    RAW_SAMPLES_SQL.replace(":count", "?")
                    .replace(":band", "?")
                    .replace(":start", "?"),
                    (int(worn_hours * 3600), BAND, wear_start(index, first_day)),
                )
            now = wear_start(index, first_day) + SECONDS_PER_DAY
            thin_heart_rate(engine, now, raw_days=DEFAULT_RAW_DAYS)
    finally:
        engine.dispose()
    return (file_mb(path) - before) / max(days, 1)


def written_bytes() -> int | None:
    try:
        with open(PROC_IO, encoding="ascii") as io_stats:
            fields = dict(line.split(": ") for line in io_stats.read().splitlines())
    except (OSError, ValueError):
        return None
    return int(fields["wchar"])


@dataclass(frozen=True)
class WriteVolume:
    """MB a day handed to ``write()`` with a band connected between sessions."""

    one_commit_a_second: float  # as the recorder did before (and still does in a session)
    recorder: float  # the recorder as it is: between-session samples batched


def heart_rate_sample(k: int, start: float) -> HeartRateSample:
    return HeartRateSample(
        mono=float(k), wall=start + k, device=BAND, hr=60, contact=True,
        energy_kj=None, rr_ms=(1000.0 + k % 7,),
    )  # fmt: skip


def write_volume_mb_per_day(path: Path, seconds: int) -> WriteVolume | None:
    """Bytes written for ``seconds`` of between-session samples, scaled to a day (see
    above): first one commit a sample, then through the recorder, on a clock
    ``RECORDER_SPEEDUP`` times faster (its idle interval as much shorter, so each commit
    holds the samples it holds at one a second)."""
    engine = create_engine_for_url(sqlite_url(path))
    translator = EventTranslator()
    start = time.time() + SECONDS_PER_DAY
    try:
        with engine.begin() as connection:  # the connection's set-up is not counted
            connection.exec_driver_sql("SELECT 1")
        keep_day_facts(engine, TZ)  # as the recorder's first start would, not counted
        before = written_bytes()
        if before is None:
            return None
        for k in range(seconds):
            with engine.begin() as connection:
                apply_writes(connection, translator.writes_for(heart_rate_sample(k, start)))
        middle = written_bytes()
        recorder = Recorder(
            engine, idle_flush_interval_s=DEFAULT_IDLE_FLUSH_INTERVAL_S / RECORDER_SPEEDUP, tz=TZ
        )
        recorder.start()
        began = time.monotonic()
        for k in range(seconds):
            # On schedule, not a sleep a sample: a late wake-up is caught up, not added up.
            time.sleep(max(0.0, began + k / RECORDER_SPEEDUP - time.monotonic()))
            recorder.submit(heart_rate_sample(seconds + k, start))
        if not recorder.stop():
            raise RuntimeError("the recorder left rows unwritten")
        after = written_bytes()
    finally:
        engine.dispose()
    assert middle is not None and after is not None
    scale = SECONDS_PER_DAY / seconds / MB
    return WriteVolume((middle - before) * scale, (after - middle) * scale)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--years", type=float, default=DEFAULT_YEARS)
    parser.add_argument(
        "--worn-hours", type=float, default=DEFAULT_WORN_HOURS, help="band connected a day"
    )
    parser.add_argument("--raw-days", type=int, default=DEFAULT_RAW_DAYS)
    parser.add_argument("--steady-days", type=int, default=DEFAULT_STEADY_DAYS)
    parser.add_argument(
        "--write-seconds",
        type=int,
        default=DEFAULT_WRITE_SECONDS,
        help="one-sample commits timed for the write volume",
    )
    parser.add_argument("--keep", type=Path, help="keep the built database at this path")
    args = parser.parse_args(argv)
    if args.years <= 0 or not 0 < args.worn_hours <= 24 or args.raw_days < 2:
        parser.error("--years positive, --worn-hours within (0, 24], --raw-days at least 2")
    if args.steady_days < 1 or args.write_seconds < 10:
        parser.error("--steady-days at least 1, --write-seconds at least 10")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        path = Path(tmp) / "companion.db"
        built = build(path, args.years, args.worn_hours, args.raw_days)
        size_mb = file_mb(path)
        sizes = table_sizes(path)
        growth = steady_growth_mb_per_day(path, built, args.worn_hours, args.steady_days)
        written = write_volume_mb_per_day(path, args.write_seconds)
        if args.keep is not None:
            shutil.copyfile(path, args.keep)
    years = built.days / DAYS_PER_YEAR
    print(
        f"Database after {built.days} days ({years:.1f} years), band worn {args.worn_hours:g} "
        f"h a day, between-session heart rate raw for {args.raw_days} days; "
        f"built in {built.seconds:.0f} s"
    )
    print(
        table(
            ["what", "rows"],
            [
                ["sessions", str(built.sessions)],
                ["samples in sessions (kept for good)", str(built.session_samples)],
                [f"samples between sessions (last {args.raw_days} days)", str(built.raw_samples)],
                ["per-minute rows (older between-session heart rate)", str(built.minutes)],
            ],
        )
    )
    if sizes:
        print(
            table(["table (with its indexes)", "MB"], [[k, f"{v:.1f}"] for k, v in sizes.items()])
        )
    print(f"Database file: {size_mb:.1f} MB")
    print(f"Folding one day of between-session samples took {built.fold_s_per_day:.1f} s")
    print(f"Steady state: the file grows {growth:+.2f} MB a day (freed pages are reused)")
    if written is not None:
        print(
            "Write volume with the band connected between sessions, MB a day handed to "
            f"write() (WAL frames and checkpoints): {written.one_commit_a_second:.0f} with "
            f"one commit a second, {written.recorder:.0f} through the recorder (a commit "
            f"every {DEFAULT_IDLE_FLUSH_INTERVAL_S:g} s)"
        )
    command = ["--years", f"{args.years:g}", "--worn-hours", f"{args.worn_hours:g}"]
    command += ["--raw-days", str(args.raw_days), "--steady-days", str(args.steady_days)]
    command += ["--write-seconds", str(args.write_seconds)]
    print(f"Conditions: {conditions(False)}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    verdicts = [
        judge(
            MODULE, f"database size after {years:.1f} years", size_mb, GOAL_SIZE_MB, "MB", digits=1
        ),
        judge(MODULE, "growth a day in steady state", growth, GOAL_GROWTH_MB_PER_DAY, "MB"),
    ]
    if written is not None:
        verdicts.append(
            judge(
                MODULE,
                "written a day between sessions (recorder)",
                written.recorder,
                GOAL_WRITES_MB_PER_DAY,
                "MB",
                digits=1,
            )
        )
    return exit_status(verdicts)


if __name__ == "__main__":
    raise SystemExit(main())
