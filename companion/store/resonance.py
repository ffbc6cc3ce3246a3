"""Resonance assessments in the store: every one kept (answered or not), newest first.

Called from worker threads (the breathing watcher's scoring thread, the web threads),
each through its own connection; never from the core loop.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Row, insert, select

from companion.store.queries import Bind, reading, writing
from companion.store.schema import ResonanceAssessment, table_of

_TABLE = table_of(ResonanceAssessment)


def save_assessment(bind: Bind, session_id: str | None, at: float, result: dict[str, Any]) -> int:
    """Store one assessment (``companion.heart.resonance.Assessment.to_json()``); its row id."""
    row = {
        "session_id": session_id,
        "at": at,
        "verdict": str(result["verdict"]),
        "pace_per_min": result.get("pace_per_min"),
        "confidence": float(result.get("confidence") or 0.0),
        "inhale_s": result.get("inhale_s"),
        "exhale_s": result.get("exhale_s"),
        "details_json": json.dumps(result, sort_keys=True),
    }
    with writing(bind) as connection:
        new_id = connection.execute(insert(_TABLE).values(row)).inserted_primary_key
    assert new_id is not None
    return int(new_id[0])


def list_assessments(bind: Bind, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` assessments, newest first."""
    query = select(_TABLE).order_by(_TABLE.c.at.desc(), _TABLE.c.id.desc()).limit(limit)
    with reading(bind) as connection:
        return [_shown(row) for row in connection.execute(query)]


def get_assessment(bind: Bind, assessment_id: int) -> dict[str, Any] | None:
    query = select(_TABLE).where(_TABLE.c.id == assessment_id)
    with reading(bind) as connection:
        row = connection.execute(query).first()
    return None if row is None else _shown(row)


def _shown(row: Row[Any]) -> dict[str, Any]:
    details = json.loads(row.details_json)
    return {
        "id": row.id,
        "session_id": row.session_id,
        "at": row.at,
        "verdict": row.verdict,
        "answered": row.verdict == "answered",
        "pace_per_min": row.pace_per_min,
        "confidence": row.confidence,
        "inhale_s": row.inhale_s,
        "exhale_s": row.exhale_s,
        "message": details.get("message", ""),
        "paces": details.get("paces", []),
    }
