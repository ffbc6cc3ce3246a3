"""What reminders and the morning summary do in the running service.

The scheduler's jobs run on its own threads, each handed the wall time it runs at; from
there this reads the store, buzzes the wrist and puts a banner on the dashboard through
the session's thread-safe reach (``companion.session.bridge.HostReach``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from sqlalchemy import Engine

from companion.clock import WallClock
from companion.cues import CueName
from companion.events import Notice, ReminderDue
from companion.reminders.model import DEFAULT_WAKE_TIME, WAKE_TIME_SETTING, wake_time_from
from companion.reminders.scheduler import ReminderScheduler
from companion.routines.catalog import Routine
from companion.store.queries import get_setting
from companion.store.reminders import get_reminder, list_reminders

_LOGGER = logging.getLogger(__name__)

# The CLI may edit reminders while the service runs; it picks changes up this often.
RESYNC_S = 30.0


class Wrist(Protocol):
    """What a reminder reaches in the running session (from the scheduler's threads)."""

    def buzz(self, cue: CueName) -> bool: ...

    def show_text(self, text: str) -> bool: ...

    def publish(self, event: ReminderDue | Notice) -> None: ...


def morning_line(engine: Engine, tz: dt.tzinfo, now: dt.datetime) -> str:
    """The morning summary in one line, for the band's screen."""
    from companion.store.summary_facts import summary_for
    from companion.summary.morning import one_line

    return one_line(summary_for(engine, now.date(), tz, now, breathing=True))


class ReminderHost:
    """The service side of the reminders: the wrist to reach, and the store to read."""

    def __init__(
        self,
        *,
        engine: Engine,
        tz: dt.tzinfo,
        wrist: Wrist,
        clock: WallClock | None = None,
        routines: Mapping[str, Routine] | None = None,
        store_upkeep: Callable[[], None] | None = None,
        store_upkeep_every_s: float = 600.0,
    ) -> None:
        self._engine = engine
        self._tz = tz
        self._wrist = wrist
        self._clock = clock or WallClock()
        self._routines = dict(routines or {})
        # The nightly backup and heart-rate thinning (companion.store.upkeep), on a
        # scheduler thread so the core loop never waits for the store.
        self._store_upkeep = store_upkeep
        self._store_upkeep_every_s = store_upkeep_every_s
        self.scheduler = ReminderScheduler(engine, tz, self, self._clock)

    def start(self) -> None:
        self.scheduler.start()
        self.resync()
        self.scheduler.add_interval_job(self.resync, RESYNC_S, "resync")
        if self._store_upkeep is not None:
            self.scheduler.add_interval_job(
                self._store_upkeep, self._store_upkeep_every_s, "store-upkeep"
            )

    def stop(self) -> None:
        self.scheduler.shutdown()

    def resync(self) -> None:
        try:
            self.scheduler.sync(list_reminders(self._engine), self._wake_time())
        except Exception:  # a store hiccup must not end the reminders
            _LOGGER.exception("could not read the reminders")

    def _wake_time(self) -> dt.time:
        saved = get_setting(self._engine, WAKE_TIME_SETTING)
        wake_time = wake_time_from(saved)
        if wake_time is None and saved is not None:
            _LOGGER.warning("ignored wake time %r in settings", saved)
        return wake_time or DEFAULT_WAKE_TIME

    def snooze(self, reminder_id: int) -> dt.datetime:
        return self.scheduler.snooze(reminder_id, self._local(self._clock.now()))

    def _local(self, wall: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(wall, self._tz)

    def _title(self, name: str) -> str:
        routine = self._routines.get(name)
        return routine.title.lower() if routine else name

    # --- ReminderRuntime ------------------------------------------------------------------

    def remind(self, reminder_id: int, snoozed: bool, now: float) -> None:
        reminder = get_reminder(self._engine, reminder_id)
        if reminder is None:
            _LOGGER.info("reminder %d no longer exists", reminder_id)
            return
        title = self._title(reminder.routine)
        on_wrist = self._wrist.buzz(CueName.REMINDER)
        again = " (snoozed)" if snoozed else ""
        _LOGGER.info("reminder %d for %s%s; on wrist: %s", reminder_id, title, again, on_wrist)
        self._wrist.publish(
            ReminderDue(
                mono=time.monotonic(),
                wall=now,
                reminder_id=reminder_id,
                routine=reminder.routine,
                message=f"Time for your {title} routine{again}.",
                on_wrist=on_wrist,
            )
        )

    def morning_summary(self, now: float) -> None:
        self._wrist.show_text(morning_line(self._engine, self._tz, self._local(now)))
        self._wrist.publish(
            Notice(
                mono=time.monotonic(),
                wall=now,
                level="info",
                topic="summary",
                message="Your morning summary is ready.",
            )
        )
