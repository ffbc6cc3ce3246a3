"""The reminders' jobs on APScheduler 3: one cron job per enabled reminder, the morning
summary at the wake time, and snoozes.

The service alone owns the scheduler and its job store (``apscheduler_jobs`` in the same
database) and keeps the jobs in step with the ``reminders`` table. Coalescing and a
misfire grace time mean a machine that slept fires at most one late reminder; older ones
are dropped and logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import Engine

from companion.clock import WallClock
from companion.reminders.model import Reminder

_LOGGER = logging.getLogger(__name__)

REMINDER_JOB_PREFIX = "reminder-"
SNOOZE_JOB_PREFIX = "snooze-"
SUMMARY_JOB_ID = "morning-summary"
SNOOZE_MINUTES = 10
# A reminder up to a quarter of an hour late still helps; one from hours ago only startles.
MISFIRE_GRACE_S = 15 * 60
JOB_TABLE = "apscheduler_jobs"


def trigger_for(reminder: Reminder, tz: dt.tzinfo) -> CronTrigger:
    return CronTrigger(
        day_of_week=",".join(reminder.days),
        hour=reminder.at.hour,
        minute=reminder.at.minute,
        timezone=tz,
    )


class ReminderRuntime(Protocol):
    """What the jobs do in the running service (called on the scheduler's threads, with
    the wall time the job runs at)."""

    def remind(self, reminder_id: int, snoozed: bool, now: float) -> None: ...

    def morning_summary(self, now: float) -> None: ...


class _Binding:
    """The running service the stored jobs reach.

    APScheduler stores a job as the import path of its function, so the jobs below are
    module-level functions and find the service through this one binding, which the
    scheduler sets when it starts and clears when it stops. The time a job runs at is read
    here, once, from the service's clock, and handed to the job.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bound: tuple[ReminderRuntime, WallClock] | None = None

    def bind(self, runtime: ReminderRuntime, clock: WallClock) -> None:
        with self._lock:
            if self._bound is not None and self._bound[0] is not runtime:
                raise RuntimeError("a reminder scheduler is already running in this process")
            self._bound = (runtime, clock)

    def unbind(self, runtime: ReminderRuntime) -> None:
        with self._lock:
            if self._bound is not None and self._bound[0] is runtime:
                self._bound = None

    def run(self, job: Callable[[ReminderRuntime, float], None]) -> None:
        with self._lock:
            bound = self._bound
        if bound is None:
            _LOGGER.warning("a reminder job ran with no service bound; ignored")
            return
        runtime, clock = bound
        job(runtime, clock.now())


_binding = _Binding()


def fire_reminder(reminder_id: int) -> None:
    _binding.run(lambda runtime, now: runtime.remind(reminder_id, snoozed=False, now=now))


def fire_snoozed_reminder(reminder_id: int) -> None:
    _binding.run(lambda runtime, now: runtime.remind(reminder_id, snoozed=True, now=now))


def fire_morning_summary() -> None:
    _binding.run(lambda runtime, now: runtime.morning_summary(now))


class ReminderScheduler:
    def __init__(
        self,
        engine: Engine,
        tz: dt.tzinfo,
        runtime: ReminderRuntime,
        clock: WallClock | None = None,
    ) -> None:
        self._tz = tz
        self._runtime = runtime
        self._clock = clock or WallClock()
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
        _binding.bind(self._runtime, self._clock)
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        _binding.unbind(self._runtime)

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
            elif job.func_ref == wanted[job.id][0] and str(job.trigger) == str(wanted[job.id][1]):
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
