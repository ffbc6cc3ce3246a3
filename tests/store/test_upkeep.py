"""The service's store upkeep: one backup a night, thinning within its budget, never a crash,
and the scheduler running it off the core loop."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from sqlalchemy import func, select

from companion.reminders.service import ReminderHost
from companion.store.backup import nightly_backups
from companion.store.database import create_engine_for_url, sqlite_url, upgrade_to_head
from companion.store.retention import SECONDS_PER_DAY
from companion.store.schema import HeartMinute, Sample
from companion.store.upkeep import StoreUpkeep
from tests.store.conftest import record, sample

NOW = 1_760_000_000.0
NIGHT = dt.datetime(2026, 12, 1, 3, 10)


def counts(url: str) -> tuple[int, int]:
    engine = create_engine_for_url(url)
    try:
        with engine.connect() as c:
            samples = c.execute(select(func.count()).select_from(Sample)).scalar_one()
            minutes = c.execute(select(func.count()).select_from(HeartMinute)).scalar_one()
    finally:
        engine.dispose()
    return samples, minutes


def test_a_run_backs_up_once_a_night_then_folds_old_heart_rate(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "companion.db")
    upgrade_to_head(url)
    engine = create_engine_for_url(url)
    old = (NOW - 40 * SECONDS_PER_DAY) // 60 * 60  # a minute start: ten whole minutes
    record(engine, [sample(old + i, 60) for i in range(600)])
    engine.dispose()
    clock = [NIGHT]
    upkeep = StoreUpkeep(url, tmp_path, now=lambda: NOW, local_now=lambda: clock[0])

    upkeep.run()
    clock[0] = NIGHT + dt.timedelta(hours=2)
    upkeep.run()

    (backup,) = nightly_backups(tmp_path / "backups")
    assert backup.name == "nightly-20261201-031000.db"
    assert counts(url) == (0, 10)
    # The backup was taken before the samples were folded.
    assert counts(sqlite_url(backup)) == (600, 0)


def test_a_run_against_a_broken_store_logs_and_returns(tmp_path: Path) -> None:
    (tmp_path / "companion.db").write_text("not a database")
    upkeep = StoreUpkeep(sqlite_url(tmp_path / "companion.db"), tmp_path, local_now=lambda: NIGHT)
    upkeep.run()  # must not raise: the scheduler thread and the service carry on
    assert nightly_backups(tmp_path / "backups") == []


class _NoWrist:
    def buzz(self, cue: str) -> bool:
        return True

    def show_text(self, text: str) -> bool:
        return True

    def publish(self, event: object) -> None:
        pass


def test_the_reminder_host_runs_the_upkeep_on_a_scheduler_thread(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "companion.db")
    upgrade_to_head(url)
    engine = create_engine_for_url(url)
    ran_on: list[str] = []
    ran = threading.Event()

    def upkeep() -> None:
        ran_on.append(threading.current_thread().name)
        ran.set()

    host = ReminderHost(
        engine=engine,
        tz=dt.UTC,
        wrist=_NoWrist(),
        store_upkeep=upkeep,
        store_upkeep_every_s=0.05,
    )
    host.start()
    try:
        assert ran.wait(30), "the upkeep job never ran"
    finally:
        host.stop()
        engine.dispose()
    assert ran_on[0] != threading.main_thread().name
