"""What reminders and the morning summary do in the running service.

The scheduler's jobs run on its own threads; from there this adapter reads the store,
buzzes the wrist and puts a banner on the dashboard through the core's thread-safe handle.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine

from companion.cues import CueName
from companion.events import Notice, ReminderDue
from companion.reminders.model import ReminderScheduler
from companion.store.queries import get_setting
from companion.store.reminders import get_reminder, list_reminders

_LOGGER = logging.getLogger(__name__)

WAKE_TIME_SETTING = "wake_time"
DEFAULT_WAKE_TIME = dt.time(7, 0)
# The CLI may edit reminders while the service runs; it picks changes up this often.
RESYNC_S = 30.0


class ReminderHost:
    """The service side of the reminders: the core to reach, and the store to read."""

    def __init__(
        self,
        *,
        engine: Engine,
        tz: dt.tzinfo,
        buzz: Callable[[str], bool],
        show_text: Callable[[str], bool],
        publish: Callable[[ReminderDue | Notice], None],
        summary_line: Callable[[dt.date], str] | None = None,
        routine_title: Callable[[str], str] = lambda name: name,
        store_upkeep: Callable[[], None] | None = None,
        store_upkeep_every_s: float = 600.0,
    ) -> None:
        self._engine = engine
        self._tz = tz
        self._buzz = buzz
        self._show_text = show_text
        self._publish = publish
        self._summary_line = summary_line
        self._routine_title = routine_title
        # The nightly backup and heart-rate thinning (companion.store.upkeep), on a
        # scheduler thread so the core loop never waits for the store.
        self._store_upkeep = store_upkeep
        self._store_upkeep_every_s = store_upkeep_every_s
        self.scheduler = ReminderScheduler(engine, tz, self)

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
        if isinstance(saved, str):
            try:
                return dt.time.fromisoformat(saved)
            except ValueError:
                _LOGGER.warning("ignored wake time %r in settings", saved)
        return DEFAULT_WAKE_TIME

    def snooze(self, reminder_id: int) -> dt.datetime:
        return self.scheduler.snooze(reminder_id, dt.datetime.now(self._tz))

    # --- ReminderRuntime ------------------------------------------------------------------

    def remind(self, reminder_id: int, snoozed: bool) -> None:
        reminder = get_reminder(self._engine, reminder_id)
        if reminder is None:
            _LOGGER.info("reminder %d no longer exists", reminder_id)
            return
        title = self._routine_title(reminder.routine)
        on_wrist = self._buzz(CueName.REMINDER)
        again = " (snoozed)" if snoozed else ""
        _LOGGER.info("reminder %d for %s%s; on wrist: %s", reminder_id, title, again, on_wrist)
        self._publish(
            ReminderDue(
                mono=time.monotonic(),
                wall=time.time(),
                reminder_id=reminder_id,
                routine=reminder.routine,
                message=f"Time for your {title} routine{again}.",
                on_wrist=on_wrist,
            )
        )

    def morning_summary(self) -> None:
        today = dt.datetime.now(self._tz).date()
        if self._summary_line is not None:
            line = self._summary_line(today)
            self._show_text(line)
        self._publish(
            Notice(
                mono=time.monotonic(),
                wall=time.time(),
                level="info",
                topic="summary",
                message="Your morning summary is ready.",
            )
        )
