"""The level `companion plan` shows: the same from the standard library's sqlite3 as from
the store's SQLAlchemy queries."""

from __future__ import annotations

from pathlib import Path

from companion.events import SessionState
from companion.store.database import create_engine_for_url, sqlite_url, upgrade_to_head
from companion.store.progress import (
    level_from,
    level_from_sqlite_file,
    progression_level_from_store,
)
from tests.store.conftest import T0, ended, record, started

HOUR = 3600.0


def test_a_sqlite_history_reads_the_same_without_sqlalchemy(tmp_path: Path) -> None:
    path = tmp_path / "companion.db"
    url = sqlite_url(path)
    upgrade_to_head(url)
    engine = create_engine_for_url(url)
    outcomes = [SessionState.COMPLETED] * 3 + [SessionState.PAIN] + [SessionState.COMPLETED] * 4
    events = []
    for i, outcome in enumerate(outcomes):
        events += [started(f"run{i}", T0 + i * HOUR), ended(f"run{i}", T0 + i * HOUR + 60, outcome)]
    events.append(started("still-running", T0 + 99 * HOUR))
    record(engine, events)

    through_sqlalchemy = level_from(engine)
    engine.dispose()

    assert level_from_sqlite_file(path) == through_sqlalchemy
    assert progression_level_from_store(url) == through_sqlalchemy
    assert through_sqlalchemy.level > 1  # the history moved it on, so the test compares something
