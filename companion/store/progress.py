"""The progression level the next session uses, read from the stored history.

Kept apart from the composition root so ``companion plan`` can read it without loading
Bluetooth, the core or the web layer.
"""

from __future__ import annotations

from sqlalchemy import Engine

from companion.events import SessionState
from companion.routines.progression import (
    ProgressionLevel,
    ProgressionPolicy,
    SessionOutcome,
    progression_level,
)
from companion.store.database import create_engine_for_url
from companion.store.queries import recent_outcomes

HISTORY_FOR_PROGRESSION = 50


def level_from(engine: Engine) -> ProgressionLevel:
    """The pure policy applied to the latest finished sessions (a database read)."""
    rows = recent_outcomes(engine, HISTORY_FOR_PROGRESSION)
    finished = {s.value for s in SessionState if s.is_final}
    history = [
        SessionOutcome(row.routine, SessionState(row.outcome.value), row.ended_at or 0.0)
        for row in reversed(rows)
        if row.outcome.value in finished
    ]
    return progression_level(history, ProgressionPolicy())


def progression_level_from_store(url: str) -> ProgressionLevel:
    engine = create_engine_for_url(url)
    try:
        return level_from(engine)
    finally:
        engine.dispose()
