"""The breathing pattern saved on the dashboard, which the next session uses.

The service reads the same record with the same parser (``companion.preferences``) each
time a routine starts; ``companion plan`` reads it here so it shows what the next session
will actually use. Like ``companion.store.progress``, a SQLite file is read read-only with the
standard library alone, so ``plan`` stays quick.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from companion.preferences import PREFERENCES_KEY, read_preferences
from companion.routines.pacer import BreathPattern

_SETTING_SQL = "SELECT value FROM settings WHERE key = ?"


def pattern_from_preferences(saved: Any) -> BreathPattern | None:
    """The pattern in a stored preferences record; None when there is none or it is not
    a valid one (the service then uses each routine's own, and so does the plan)."""
    return read_preferences(saved).pattern


def saved_pattern_from_store(url: str) -> BreathPattern | None:
    """The saved pattern in the database at ``url`` (None when nothing is saved)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and "?" not in url:
        path = Path(url[len(prefix) :])
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = connection.execute(_SETTING_SQL, (PREFERENCES_KEY,)).fetchone()
        finally:
            connection.close()
        return pattern_from_preferences(json.loads(row[0]) if row else None)
    from companion.store.database import create_engine_for_url
    from companion.store.queries import get_setting

    engine = create_engine_for_url(url)
    try:
        return pattern_from_preferences(get_setting(engine, PREFERENCES_KEY))
    finally:
        engine.dispose()
