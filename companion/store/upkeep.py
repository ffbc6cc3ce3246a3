"""The store's housekeeping in the running service: the nightly backup, then thinning.

The service's scheduler runs :meth:`StoreUpkeep.run` every ``UPKEEP_EVERY_S`` on one of its
threads, never on the core loop. Each run backs up once a night (from 03:00 local time,
or at the first run after it when the machine was off) and then folds old between-session
heart rate for at most ``THINNING_BUDGET_S``, so a stopping service never waits long for
it; a backlog (years of raw samples from before retention existed) is worked off over
successive runs, a batch at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path

from companion.store.backup import (
    backups_dir,
    backups_kept,
    last_backup_time,
    nightly_backup,
    nightly_backup_due,
)
from companion.store.database import create_engine_for_url
from companion.store.retention import ThinningReport, thin_heart_rate

_LOGGER = logging.getLogger(__name__)

UPKEEP_EVERY_S = 10 * 60.0
THINNING_BUDGET_S = 10.0


class StoreUpkeep:
    """What one scheduler job does for the store; ``now``/``local_now`` are for tests."""

    def __init__(
        self,
        db_url: str,
        data_dir: Path,
        *,
        now: Callable[[], float] = time.time,
        local_now: Callable[[], dt.datetime] = dt.datetime.now,
        thinning_budget_s: float = THINNING_BUDGET_S,
    ) -> None:
        self._db_url = db_url
        self._data_dir = data_dir
        self._now = now
        self._local_now = local_now
        self._budget_s = thinning_budget_s

    def run(self) -> None:
        """Never raises: a failed backup or thinning is logged and tried again next run."""
        try:
            self.back_up_if_due()
        except Exception:
            _LOGGER.exception("the nightly backup failed; it is tried again at the next run")
        try:
            self.thin()
        except Exception:
            _LOGGER.exception("thinning old heart rate failed; it resumes at the next run")

    def back_up_if_due(self) -> Path | None:
        local = self._local_now()
        if not nightly_backup_due(last_backup_time(backups_dir(self._data_dir)), local):
            return None
        check = nightly_backup(self._db_url, self._data_dir, local, backups_kept(self._db_url))
        return check.path

    def thin(self) -> ThinningReport:
        deadline = time.monotonic() + self._budget_s
        engine = create_engine_for_url(self._db_url)
        try:
            return thin_heart_rate(
                engine, self._now(), should_stop=lambda: time.monotonic() > deadline
            )
        finally:
            engine.dispose()
