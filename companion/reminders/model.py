"""Bedtime and morning reminders, and the morning summary job, on APScheduler 3.

The person's reminders live in the store's ``reminders`` table, which the CLI, the API and
the dashboard all edit, whether or not the service runs. The service alone owns the
scheduler and its job store (``apscheduler_jobs`` in the same database) and keeps the jobs
in step with the table. Coalescing and a misfire grace time mean a machine that slept
fires at most one late reminder; older ones are dropped and logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import Engine

_LOGGER = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REMINDER_JOB_PREFIX = "reminder-"
SNOOZE_JOB_PREFIX = "snooze-"
SUMMARY_JOB_ID = "morning-summary"
SNOOZE_MINUTES = 10
# A reminder up to a quarter of an hour late still helps; one from hours ago only startles.
MISFIRE_GRACE_S = 15 * 60
JOB_TABLE = "apscheduler_jobs"


@dataclass(frozen=True)
class Reminder:
    id: int
    at: dt.time
    days: tuple[str, ...]
    routine: str
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.strftime("%H:%M"),
            "days": list(self.days),
            "routine": self.routine,
            "enabled": self.enabled,
        }


def parse_time(text: str) -> dt.time:
    """``HH:MM`` on a 24-hour clock."""
    try:
        hours, minutes = text.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"time {text!r} is not HH:MM on a 24-hour clock, e.g. 21:30") from None


def parse_days(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Weekdays as ``mon,tue,...``; empty or None means every day. Returned in week order."""
    if text is None:
        return WEEKDAYS
    words = text.split(",") if isinstance(text, str) else list(text)
    days = {word.strip().lower()[:3] for word in words if word.strip()}
    unknown = sorted(days - set(WEEKDAYS))
    if unknown:
        raise ValueError(f"unknown day(s) {', '.join(unknown)}; use {','.join(WEEKDAYS)}")
    return tuple(day for day in WEEKDAYS if day in days) or WEEKDAYS


def trigger_for(reminder: Reminder, tz: dt.tzinfo) -> CronTrigger:
    return CronTrigger(
        day_of_week=",".join(reminder.days),
        hour=reminder.at.hour,
        minute=reminder.at.minute,
        timezone=tz,
    )


class ReminderRuntime(Protocol):
    """What the jobs do in the running service (called on the scheduler's threads)."""

    def remind(self, reminder_id: int, snoozed: bool) -> None: ...

    def morning_summary(self) -> None: ...


# APScheduler stores a job as the import path of its function, so the jobs below must be
# module-level functions; they reach the running service through this one binding, which
# the service sets when its scheduler starts and clears when it stops.
_runtime: ReminderRuntime | None = None
_runtime_lock = threading.Lock()


def _bound() -> ReminderRuntime | None:
    with _runtime_lock:
        if _runtime is None:
            _LOGGER.warning("a reminder job ran with no service bound; ignored")
        return _runtime


def fire_reminder(reminder_id: int) -> None:
    runtime = _bound()
    if runtime is not None:
        runtime.remind(reminder_id, snoozed=False)


def fire_snoozed_reminder(reminder_id: int) -> None:
    runtime = _bound()
    if runtime is not None:
        runtime.remind(reminder_id, snoozed=True)


def fire_morning_summary() -> None:
    runtime = _bound()
    if runtime is not None:
        runtime.morning_summary()


class ReminderScheduler:
    def __init__(self, engine: Engine, tz: dt.tzinfo, runtime: ReminderRuntime) -> None:
        self._tz = tz
        self._runtime = runtime
        self._scheduler = BackgroundScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE),
                # Housekeeping that lives and dies with this process, never persisted.
                "process": MemoryJobStore(),
            },
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": MISFIRE_GRACE_S,
                "max_instances": 1,
            },
            timezone=tz,
        )
        self._scheduler.add_listener(self._on_job_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)

    def start(self) -> None:
        global _runtime
        with _runtime_lock:
            if _runtime is not None and _runtime is not self._runtime:
                raise RuntimeError("a reminder scheduler is already running in this process")
            _runtime = self._runtime
        self._scheduler.start()

    def shutdown(self) -> None:
        global _runtime
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        with _runtime_lock:
            if _runtime is self._runtime:
                _runtime = None

    def _on_job_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            _LOGGER.warning(
                "skipped job %s planned for %s: it is too late to be useful",
                event.job_id,
                event.scheduled_run_time,
            )
        else:
            _LOGGER.error("job %s failed: %s", event.job_id, event.exception)

    def sync(self, reminders: Sequence[Reminder], wake_time: dt.time | None) -> None:
        """Make the scheduled jobs match the reminders table (and the summary time)."""
        wanted: dict[str, tuple[str, CronTrigger, list[Any]]] = {}
        for reminder in reminders:
            if reminder.enabled:
                wanted[f"{REMINDER_JOB_PREFIX}{reminder.id}"] = (
                    f"{__name__}:fire_reminder",
                    trigger_for(reminder, self._tz),
                    [reminder.id],
                )
        if wake_time is not None:
            wanted[SUMMARY_JOB_ID] = (
                f"{__name__}:fire_morning_summary",
                CronTrigger(hour=wake_time.hour, minute=wake_time.minute, timezone=self._tz),
                [],
            )
        for job in self._scheduler.get_jobs(jobstore="default"):
            if job.id.startswith(SNOOZE_JOB_PREFIX):
                continue
            if job.id not in wanted:
                job.remove()
            elif str(job.trigger) == str(wanted[job.id][1]):
                del wanted[job.id]  # unchanged: keep its stored next run time
        for job_id, (func, trigger, args) in wanted.items():
            self._scheduler.add_job(func, trigger, args=args, id=job_id, replace_existing=True)

    def snooze(self, reminder_id: int, now: dt.datetime) -> dt.datetime:
        when = now + dt.timedelta(minutes=SNOOZE_MINUTES)
        self._scheduler.add_job(
            f"{__name__}:fire_snoozed_reminder",
            DateTrigger(run_date=when, timezone=self._tz),
            args=[reminder_id],
            id=f"{SNOOZE_JOB_PREFIX}{reminder_id}",
            replace_existing=True,
        )
        return when

    def add_interval_job(self, func: Callable[[], None], every_s: float, job_id: str) -> None:
        self._scheduler.add_job(
            func, "interval", seconds=every_s, id=job_id, jobstore="process", replace_existing=True
        )

    def next_runs(self) -> dict[str, dt.datetime | None]:
        """Next run of each stored (persistent) job."""
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs(jobstore="default")}
