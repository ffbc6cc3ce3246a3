"""History with a long past: the server time of ``GET /history`` and ``GET /api/sessions`` over a
store of 1,000 sessions.

The store is made the way the service makes it (Alembic migrations to head) and filled with
bulk inserts: sessions of the built-in routines (bedtime, morning, now and then the taster)
about one a day going back in time, each with its plan, its steps, a cue row for every
planned cue (a few milliseconds late, as recorded), a link event, now and then a pacing
change, and ~420 heart-rate samples a second apart with RR intervals.

Each page is asked for ``--requests`` times (50 by default, after 3 not counted):

- through Flask's test client on the real app (``web.create_app``, the store's engine):
  the server's own time, with no socket in between;
- over HTTP from ``companion run --simulate`` started on the same data dir (``--no-live``
  leaves it out): what a browser on this machine waits for.

Target: under 100 ms.

    .venv/bin/python -m bench.history [--sessions 1000] [--samples 420] [--requests 50]
        [--data-dir DIR] [--no-live]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, insert

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
from bench.service_harness import ApiClient as Api
from bench.service_harness import running_service
from companion.ble.profiles import load_profiles
from companion.config import Settings
from companion.cues import CueName
from companion.errors import SessionError
from companion.routines.catalog import load_routines
from companion.routines.plan import Plan, PlanSettings, compile_plan
from companion.routines.progression import ProgressionPolicy, progression_level
from companion.session.control import FeedSubscription
from companion.store.database import create_engine_for_url, upgrade_to_head
from companion.store.schema import (
    Cue,
    Device,
    LinkEvent,
    Outcome,
    PacingEvent,
    Sample,
    Session,
    Step,
    table_of,
)
from companion.store.writes import plan_steps
from web import create_app
from web.settings import WebSettings

MODULE = "bench.history"
QUICK_ARGS = ("--sessions", "100", "--requests", "10", "--no-live")
DEFAULT_SESSIONS = 1000
DEFAULT_SAMPLES = 420
DEFAULT_REQUESTS = 50
WARMUP_REQUESTS = 3
TARGET_MS = 100.0
SEED = 20_240_601
DAY_S = 86_400.0
BATCH_ROWS = 20_000
DEVICE = "C0:FF:EE:00:00:01"
PROFILE = "immediate-alert"
# Most nights and mornings, now and then a taster.
ROUTINE_WEIGHTS = {"bedtime": 5, "morning": 4, "taster": 1}
OUTCOME_WEIGHTS = {
    Outcome.COMPLETED: 85,
    Outcome.STOPPED: 8,
    Outcome.PAIN: 3,
    Outcome.INTERRUPTED: 4,
}
# How late a recorded cue typically is, and how spread (seconds).
CUE_LATE_MEAN_S = 0.002
CUE_LATE_SPREAD_S = 0.001
RESTING_HR = 62
# Which History page is "deep": far enough back that the offset matters.
DEEP_PAGE = 20


# --- making the store -------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreSize:
    sessions: int
    steps: int
    cues: int
    samples: int
    seconds: float


def _plans() -> dict[str, Plan]:
    routines = load_routines(None)
    level = progression_level([], ProgressionPolicy())
    return {name: compile_plan(routines[name], PlanSettings(), level) for name in ROUTINE_WEIGHTS}


def _insert(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        for start in range(0, len(rows), BATCH_ROWS):
            connection.execute(insert(table_of(model)), rows[start : start + BATCH_ROWS])


def _samples(
    rng: random.Random, session_id: str, start: float, count: int
) -> Iterator[dict[str, Any]]:
    hr = float(RESTING_HR)
    for k in range(count):
        hr = min(95.0, max(48.0, hr + rng.gauss(0.0, 1.2) - (hr - RESTING_HR) * 0.05))
        rr = [round(60_000.0 / hr + rng.gauss(0.0, 15.0), 1) for _ in range(rng.choice((1, 1, 2)))]
        yield {
            "session_id": session_id,
            "device": DEVICE,
            "t": start + k,
            "hr": round(hr),
            "contact": True,
            "energy_kj": k // 10 if k % 10 == 0 else None,
            "rr_ms": json.dumps(rr),
        }


def fill_store(engine: Engine, sessions: int, samples: int, seed: int = SEED) -> StoreSize:
    """``sessions`` past sessions with their steps, cues, events and samples."""
    began = time.perf_counter()
    rng = random.Random(seed)
    plans = _plans()
    writes = load_profiles(None)[PROFILE].writes_json
    plan_json = {name: plan.to_json(writes) for name, plan in plans.items()}
    names = list(ROUTINE_WEIGHTS)
    outcomes = list(OUTCOME_WEIGHTS)
    now = time.time()
    rows: dict[Any, list[dict[str, Any]]] = {
        model: [] for model in (Session, Step, Cue, Sample, LinkEvent, PacingEvent)
    }
    for number in range(sessions):
        name = rng.choices(names, weights=list(ROUTINE_WEIGHTS.values()))[0]
        plan, as_json = plans[name], plan_json[name]
        session_id = uuid.UUID(int=rng.getrandbits(128)).hex
        started = now - (sessions - number) * DAY_S * 0.8 + rng.uniform(0, 3600)
        pattern = plan.pattern
        durations = {
            CueName.BREATH_IN: pattern.inhale_s + pattern.hold_in_s,
            CueName.BREATH_OUT: pattern.exhale_s + pattern.hold_out_s,
        }
        outcome = rng.choices(outcomes, weights=list(OUTCOME_WEIGHTS.values()))[0]
        length = plan.total_s if outcome is Outcome.COMPLETED else rng.uniform(30, plan.total_s)
        ended = started + length
        rows[Session].append(
            {
                "id": session_id,
                "routine": name,
                "title": plan.title,
                "level": plan.level,
                "level_reason": plan.level_reason,
                "started_at": started,
                "ended_at": ended,
                "outcome": outcome.value,
                "pain_before": rng.randint(0, 7),
                "pain_after": rng.randint(0, 6) if rng.random() < 0.7 else None,
                "device": DEVICE,
                "total_planned_s": plan.total_s,
                "plan_json": json.dumps(as_json, sort_keys=True, default=str),
                "pain_step": None,
                "pain_at": ended if outcome is Outcome.PAIN else None,
            }
        )
        for step in plan_steps(session_id, plan):
            if step["planned_start_s"] < length:
                step["started_at"] = started + step["planned_start_s"]
                step["ended_at"] = started + min(step["planned_end_s"], length)
            rows[Step].append(step)
        for cue in plan.cues:
            if cue.at_s > length:
                break
            late = max(0.0, rng.gauss(CUE_LATE_MEAN_S, CUE_LATE_SPREAD_S))
            rows[Cue].append(
                {
                    "session_id": session_id,
                    "step_idx": cue.step,
                    "cue": cue.cue.value,
                    "planned_s": cue.at_s,
                    "actual_s": cue.at_s + late,
                    "duration_s": durations.get(cue.cue.value, 0.0),
                    "on_wrist": True,
                    "at": started + cue.at_s + late,
                }
            )
        count = max(1, round(samples * rng.uniform(0.9, 1.1) * min(1.0, length / plan.total_s)))
        rows[Sample].extend(_samples(rng, session_id, started, count))
        rows[LinkEvent].append(
            {
                "device": DEVICE,
                "t": started - 5.0,
                "state": "connected",
                "detail": "",
                "session_id": None,
            }
        )
        if rng.random() < 0.2:
            rows[PacingEvent].append(
                {
                    "session_id": session_id,
                    "t": started + length / 2,
                    "exhale_s": 7.0,
                    "reason": "breathing slower than the pattern",
                }
            )
    with engine.begin() as connection:
        connection.execute(
            insert(table_of(Device)),
            [
                {
                    "address": DEVICE,
                    "name": "Companion Virtual Band",
                    "profile": PROFILE,
                    "first_seen": now - sessions * DAY_S,
                    "last_seen": now,
                }
            ],
        )
    for model, model_rows in rows.items():
        _insert(engine, model, model_rows)
    return StoreSize(
        sessions=len(rows[Session]),
        steps=len(rows[Step]),
        cues=len(rows[Cue]),
        samples=len(rows[Sample]),
        seconds=time.perf_counter() - began,
    )


# --- a core the pages under test never call -----------------------------------------------------


class _NoCore:
    """The History pages read the store only; anything else would be a bench bug."""

    def _refuse(self) -> SessionError:
        return SessionError("the history benchmark has no core")

    def status(self) -> dict[str, Any]:
        raise self._refuse()

    def routines(self) -> list[dict[str, Any]]:
        raise self._refuse()

    def start_session(self, routine: str, pain_before: int | None) -> str:
        raise self._refuse()

    def command(self, name: str) -> dict[str, Any]:
        raise self._refuse()

    def rate_pain_after(self, pain: int) -> None:
        raise self._refuse()

    def subscribe_feed(self) -> FeedSubscription:
        raise self._refuse()

    def scan(self, timeout: float) -> list[dict[str, Any]]:
        raise self._refuse()

    def choose_device(self, address: str | None) -> None:
        raise self._refuse()

    def buzz(self, cue: str) -> bool:
        raise self._refuse()

    def reminders_changed(self) -> None:
        raise self._refuse()

    def snooze_reminder(self, reminder_id: int) -> float:
        raise self._refuse()


# --- timing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageTiming:
    where: str
    path: str
    times_s: list[float]
    size_bytes: int

    def row(self) -> list[str]:
        values = [t * MS_PER_S for t in self.times_s]
        return [
            self.where,
            self.path,
            str(len(values)),
            ms(percentile(values, 50)),
            ms(percentile(values, 90)),
            ms(max(values)),
            f"{self.size_bytes / 1024:.0f}",
        ]


def paths(newest_id: str) -> list[str]:
    return [
        "/history",
        f"/history?page={DEEP_PAGE}",
        "/api/sessions",
        "/api/sessions?limit=200",
        f"/api/sessions/{newest_id}",
    ]


def time_requests(
    fetch: Callable[[str], tuple[int, int]], where: str, path: str, requests: int
) -> PageTiming:
    times: list[float] = []
    size = 0
    for number in range(WARMUP_REQUESTS + requests):
        began = time.perf_counter()
        status, size = fetch(path)
        took = time.perf_counter() - began
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        if number >= WARMUP_REQUESTS:
            times.append(took)
    return PageTiming(where, path, times, size)


def test_client_fetch(app: Flask) -> Callable[[str], tuple[int, int]]:
    client = app.test_client()

    def fetch(path: str) -> tuple[int, int]:
        response = client.get(path, headers={"Accept": "application/json"})
        return response.status_code, len(response.get_data())

    return fetch


def http_fetch(api: Api) -> Callable[[str], tuple[int, int]]:
    def fetch(path: str) -> tuple[int, int]:
        answer = api.request("GET", path)
        return answer.status, len(answer.body)

    return fetch


def newest_session(engine: Engine) -> str:
    from companion.store.queries import list_sessions

    found = list_sessions(engine, 1, 0)
    if not found:
        raise RuntimeError("the store has no sessions")
    return found[0].id


def measure(
    data_dir: Path, sessions: int, samples: int, requests: int, live: bool
) -> tuple[StoreSize, list[PageTiming]]:
    settings = Settings.build(data_dir=data_dir)
    settings.ensure_data_dir()
    upgrade_to_head(settings.db_url)
    engine = create_engine_for_url(settings.db_url)
    try:
        size = fill_store(engine, sessions, samples)
        newest = newest_session(engine)
        app = create_app(_NoCore(), store_engine=engine, settings=WebSettings())
        fetch = test_client_fetch(app)
        timings = [time_requests(fetch, "test client", p, requests) for p in paths(newest)]
    finally:
        engine.dispose()
    if live:
        with running_service(data_dir) as service:
            api = service.api()
            fetch = http_fetch(api)
            timings += [time_requests(fetch, "live HTTP", p, requests) for p in paths(newest)]
    return size, timings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="per session")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="per page")
    parser.add_argument(
        "--data-dir", type=Path, help="make the store here and keep it (default: a temp dir)"
    )
    parser.add_argument("--no-live", action="store_true", help="only the test client")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.samples < 1 or args.requests < 1:
        parser.error("--sessions, --samples and --requests must be at least 1")
    if args.data_dir is not None and (args.data_dir / "companion.db").exists():
        parser.error(f"{args.data_dir} already holds a store; give an empty or new directory")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    if args.data_dir is not None:
        size, timings = measure(
            args.data_dir, args.sessions, args.samples, args.requests, not args.no_live
        )
    else:
        with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
            size, timings = measure(
                Path(tmp), args.sessions, args.samples, args.requests, not args.no_live
            )
    command = ["--sessions", str(args.sessions), "--samples", str(args.samples)]
    command += ["--requests", str(args.requests)]
    if args.no_live:
        command.append("--no-live")
    print(
        f"History over {size.sessions} sessions ({size.steps} steps, {size.cues} cues, "
        f"{size.samples} samples; made in {size.seconds:.1f} s), SQLite"
    )
    print(
        f"{args.requests} requests per page after {WARMUP_REQUESTS} not counted; "
        "the newest page of History is 30 rows, /api/sessions 50 unless limit says"
    )
    header = ["via", "GET", "requests", "median ms", "p90 ms", "max ms", "KiB"]
    print(table(header, [t.row() for t in timings]))
    worst = max(percentile(t.times_s, 90) for t in timings) * MS_PER_S
    print(f"Conditions: {conditions(False)}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    goal = f"History pages, worst p90 over {size.sessions} sessions"
    return exit_status([judge(MODULE, goal, worst, TARGET_MS, "ms")])


if __name__ == "__main__":
    raise SystemExit(main())
