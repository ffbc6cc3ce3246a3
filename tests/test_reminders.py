"""Reminder parsing, triggers as tables, and the scheduler's persistence and misfire rules."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Engine, create_engine

from companion.clock import WallClock
from companion.reminders.model import Reminder, parse_days, parse_time
from companion.reminders.scheduler import (
    JOB_TABLE,
    MISFIRE_GRACE_S,
    ReminderScheduler,
    fire_morning_summary,
    fire_reminder,
    fire_snoozed_reminder,
    trigger_for,
)
from tests.support import wait_until

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("21:30", dt.time(21, 30)), ("7:05", dt.time(7, 5)), (" 00:00 ", dt.time(0, 0))],
)
def test_times_are_read_on_a_24_hour_clock(text: str, expected: dt.time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "7", "7:60", "half past", ""])
def test_a_bad_time_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon,tue", ("mon", "tue")),
        ("Sun, Mon", ("mon", "sun")),
        ("saturday", ("sat",)),
        ("", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
        (None, ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
    ],
)
def test_days_are_read_in_week_order(text: str | None, expected: tuple[str, ...]) -> None:
    assert parse_days(text) == expected


def test_an_unknown_day_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown day.*xyz.*mon,tue,wed"):
        parse_days("mon,xyz")


@pytest.mark.parametrize(
    ("days", "now", "expected"),
    [
        # Every day at 21:30: later the same evening.
        (None, dt.datetime(2026, 11, 25, 20, 0, tzinfo=BERLIN), dt.datetime(2026, 11, 25, 21, 30)),
        # Already past: tomorrow.
        (None, dt.datetime(2026, 11, 25, 22, 0, tzinfo=BERLIN), dt.datetime(2026, 11, 26, 21, 30)),
        # Weekdays only, on a Friday night: Monday.
        ("mon,tue,wed,thu,fri", dt.datetime(2026, 11, 27, 22, 0, tzinfo=BERLIN),
         dt.datetime(2026, 11, 30, 21, 30)),
        # The night the clocks go back: still 21:30 on the wall.
        (None, dt.datetime(2026, 10, 25, 12, 0, tzinfo=BERLIN), dt.datetime(2026, 10, 25, 21, 30)),
    ],
)  # fmt: skip
def test_a_reminder_fires_next_at_its_wall_clock_time(
    days: str | None, now: dt.datetime, expected: dt.datetime
) -> None:
    reminder = Reminder(1, dt.time(21, 30), parse_days(days), "bedtime")
    fire = trigger_for(reminder, BERLIN).get_next_fire_time(None, now)
    assert fire is not None
    assert fire.replace(tzinfo=None) == expected
    assert fire.utcoffset() == expected.replace(tzinfo=BERLIN).utcoffset()


class RecordingRuntime:
    def __init__(self) -> None:
        self.reminded: list[tuple[int, bool]] = []
        self.summaries = 0
        self.times: list[float] = []
        self.changed = threading.Event()

    def remind(self, reminder_id: int, snoozed: bool, now: float) -> None:
        self.reminded.append((reminder_id, snoozed))
        self.times.append(now)
        self.changed.set()

    def morning_summary(self, now: float) -> None:
        self.summaries += 1
        self.times.append(now)
        self.changed.set()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield engine
    engine.dispose()


def test_jobs_survive_a_restart_of_the_scheduler_on_a_real_file(engine: Engine) -> None:
    first = ReminderScheduler(engine, dt.UTC, RecordingRuntime())
    first.start()
    first.sync([Reminder(4, dt.time(21, 30), parse_days("mon"), "bedtime")], dt.time(7, 0))
    planned = first.next_runs()
    first.shutdown()

    second = ReminderScheduler(engine, dt.UTC, RecordingRuntime())
    second.start()
    try:
        assert second.next_runs() == planned
        assert set(planned) == {"reminder-4", "morning-summary"}
    finally:
        second.shutdown()


def test_a_stored_job_whose_function_moved_is_replaced_on_sync(engine: Engine) -> None:
    reminder = Reminder(4, dt.time(21, 30), parse_days("mon"), "bedtime")
    scheduler = ReminderScheduler(engine, dt.UTC, RecordingRuntime())
    scheduler.start()
    try:
        # As an older release stored it: the same id and time, another function path.
        scheduler._scheduler.add_job(
            "companion.reminders.scheduler:fire_snoozed_reminder",
            trigger_for(reminder, dt.UTC),
            args=[4],
            id="reminder-4",
        )
        scheduler.sync([reminder], None)
        (job,) = scheduler._scheduler.get_jobs(jobstore="default")
        assert job.func_ref == "companion.reminders.scheduler:fire_reminder"
    finally:
        scheduler.shutdown()


def test_sync_removes_deleted_and_disabled_reminders(engine: Engine) -> None:
    scheduler = ReminderScheduler(engine, dt.UTC, RecordingRuntime())
    scheduler.start()
    try:
        scheduler.sync(
            [Reminder(1, dt.time(7, 0), parse_days(None), "morning"),
             Reminder(2, dt.time(22, 0), parse_days(None), "bedtime")],
            None,
        )  # fmt: skip
        scheduler.sync(
            [Reminder(1, dt.time(7, 0), parse_days(None), "morning", enabled=False)], None
        )
        assert scheduler.next_runs() == {}
    finally:
        scheduler.shutdown()


def _store_job_due_at(engine: Engine, when: dt.datetime) -> None:
    """Leave a reminder in the job store whose run time is ``when``, as a machine that was
    off or asleep would find it.

    The reminder's own time of day is set twelve hours from ``when``, so no later occurrence
    falls between ``when`` and now: otherwise, run at the wrong hour, the scheduler would
    rightly fire that newer occurrence instead of the stale one under test."""
    opposite = when + dt.timedelta(hours=12)
    at = dt.time(opposite.hour, opposite.minute)
    scheduler = ReminderScheduler(engine, dt.UTC, RecordingRuntime())
    scheduler.start()
    scheduler.sync([Reminder(9, at, parse_days(None), "bedtime")], None)
    scheduler.shutdown()
    # Rewrite the stored run time with no scheduler running, as a clock that moved on would.
    store = SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)
    store.start(scheduler._scheduler, "default")
    job = store.lookup_job("reminder-9")
    assert job is not None
    job.next_run_time = when
    store.update_job(job)


def test_one_late_reminder_within_the_grace_time_still_fires_once(engine: Engine) -> None:
    _store_job_due_at(engine, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    runtime = RecordingRuntime()
    scheduler = ReminderScheduler(engine, dt.UTC, runtime)
    scheduler.start()
    try:
        assert runtime.changed.wait(10)
        wait_until(lambda: scheduler.next_runs()["reminder-9"] is not None, 5)
        assert runtime.reminded == [(9, False)]
    finally:
        scheduler.shutdown()


def test_a_reminder_older_than_the_grace_time_is_dropped_and_logged(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    late = dt.timedelta(seconds=MISFIRE_GRACE_S + 3600)
    _store_job_due_at(engine, dt.datetime.now(dt.UTC) - late)
    runtime = RecordingRuntime()
    scheduler = ReminderScheduler(engine, dt.UTC, runtime)
    with caplog.at_level("WARNING", logger="companion.reminders.scheduler"):
        scheduler.start()
        try:
            wait_until(lambda: "skipped job reminder-9" in caplog.text, 10, "the missed-job log")
            assert runtime.reminded == []
            next_run = scheduler.next_runs()["reminder-9"]
            assert next_run is not None and next_run > dt.datetime.now(dt.UTC)
        finally:
            scheduler.shutdown()


def test_snooze_brings_the_reminder_back_ten_minutes_later(engine: Engine) -> None:
    scheduler = ReminderScheduler(engine, dt.UTC, RecordingRuntime())
    scheduler.start()
    try:
        now = dt.datetime(2030, 1, 1, 21, 30, tzinfo=dt.UTC)
        assert scheduler.snooze(3, now) == now + dt.timedelta(minutes=10)
        assert scheduler.next_runs() == {"snooze-3": now + dt.timedelta(minutes=10)}
    finally:
        scheduler.shutdown()


def test_a_second_scheduler_in_one_process_is_refused(engine: Engine) -> None:
    first = ReminderScheduler(engine, dt.UTC, RecordingRuntime())
    first.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            ReminderScheduler(engine, dt.UTC, RecordingRuntime()).start()
    finally:
        first.shutdown()


def test_each_job_is_handed_the_time_of_the_services_clock(engine: Engine) -> None:
    runtime = RecordingRuntime()
    clock = WallClock(system_wall=lambda: 1_900_000_000.0)
    scheduler = ReminderScheduler(engine, dt.UTC, runtime, clock)
    scheduler.start()
    try:
        # What APScheduler calls, by the import path stored with each job.
        fire_reminder(4)
        fire_snoozed_reminder(4)
        fire_morning_summary()
    finally:
        scheduler.shutdown()
    fire_reminder(5)  # no service bound any more: ignored

    assert runtime.reminded == [(4, False), (4, True)]
    assert runtime.summaries == 1
    assert runtime.times == pytest.approx([1_900_000_000.0] * 3, abs=1.0)
