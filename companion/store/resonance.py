"""Resonance assessments in the store: every one kept (answered or not), newest first.

Called from worker threads (the breathing watcher's scoring thread, the web threads),
each through its own connection; never from the core loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, insert, select

from companion.heart.resonance import Verdict
from companion.heart.resonance_json import AssessmentJson, PaceJson
from companion.store.queries import Bind, reading, writing
from companion.store.schema import ResonanceAssessment, table_of

_TABLE = table_of(ResonanceAssessment)


@dataclass(frozen=True)
class StoredAssessment:
    """A resonance-breathing assessment as stored: when it was made (``at``, Unix time)
    and after which session, answered or why not (verdict), the pace it found and the
    pattern that paces it (null unless answered), how confident, the message shown and
    each pace's figures as the scorer wrote them."""

    id: int
    session_id: str | None
    at: float
    verdict: Verdict
    answered: bool
    pace_per_min: float | None
    confidence: float
    inhale_s: float | None
    exhale_s: float | None
    message: str
    paces: tuple[PaceJson, ...]


def save_assessment(bind: Bind, session_id: str | None, at: float, result: AssessmentJson) -> int:
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


def list_assessments(bind: Bind, limit: int = 50) -> list[StoredAssessment]:
    """The newest ``limit`` assessments, newest first."""
    query = select(_TABLE).order_by(_TABLE.c.at.desc(), _TABLE.c.id.desc()).limit(limit)
    with reading(bind) as connection:
        return [_stored(row) for row in connection.execute(query)]


def get_assessment(bind: Bind, assessment_id: int) -> StoredAssessment | None:
    query = select(_TABLE).where(_TABLE.c.id == assessment_id)
    with reading(bind) as connection:
        row = connection.execute(query).first()
    return None if row is None else _stored(row)


def _stored(row: Row[Any]) -> StoredAssessment:
    # The details are the scorer's own JSON (``Assessment.to_json``), kept whole.
    details = cast(AssessmentJson, json.loads(row.details_json))
    verdict = Verdict(row.verdict)
    return StoredAssessment(
        id=row.id,
        session_id=row.session_id,
        at=row.at,
        verdict=verdict,
        answered=verdict is Verdict.ANSWERED,
        pace_per_min=row.pace_per_min,
        confidence=row.confidence,
        inhale_s=row.inhale_s,
        exhale_s=row.exhale_s,
        message=details.get("message", ""),
        paces=tuple(details.get("paces", [])),
    )
