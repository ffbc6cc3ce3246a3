"""The progression level the next session uses, read from the stored history.

Kept apart from the composition root so ``companion plan`` can read it without loading
Bluetooth, the core or the web layer; for a SQLite file it reads with the standard
library alone (read-only), so ``plan`` also stays clear of SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from companion.events import SessionState
from companion.routines.progression import (
    ProgressionLevel,
    ProgressionPolicy,
    SessionOutcome,
    progression_level,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

HISTORY_FOR_PROGRESSION = 50
_FINISHED = frozenset(s.value for s in SessionState if s.is_final)
# The same rows as queries.recent_outcomes: newest finished sessions first.
_RECENT_SQL = (
    "SELECT routine, outcome, ended_at FROM sessions WHERE outcome != 'running' "
    "ORDER BY started_at DESC, id LIMIT ?"
)


def _level(newest_first: Iterable[tuple[str, str, float | None]]) -> ProgressionLevel:
    history = [
        SessionOutcome(routine, SessionState(outcome), ended_at or 0.0)
        for routine, outcome, ended_at in reversed(list(newest_first))
        if outcome in _FINISHED
    ]
    return progression_level(history, ProgressionPolicy())


def level_from(engine: Engine) -> ProgressionLevel:
    """The pure policy applied to the latest finished sessions (a database read)."""
    from companion.store.queries import recent_outcomes

    rows = recent_outcomes(engine, HISTORY_FOR_PROGRESSION)
    return _level((row.routine, row.outcome.value, row.ended_at) for row in rows)


def level_from_sqlite_file(path: Path) -> ProgressionLevel:
    """:func:`level_from` for a SQLite file, read-only with the standard library."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = connection.execute(_RECENT_SQL, (HISTORY_FOR_PROGRESSION,)).fetchall()
    finally:
        connection.close()
    return _level(rows)


def progression_level_from_store(url: str) -> ProgressionLevel:
    prefix = "sqlite:///"
    if url.startswith(prefix) and "?" not in url:
        return level_from_sqlite_file(Path(url[len(prefix) :]))
    from companion.store.database import create_engine_for_url

    engine = create_engine_for_url(url)
    try:
        return level_from(engine)
    finally:
        engine.dispose()
