"""Every resonance assessment is kept, newest first, with its per-pace figures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from companion.store.resonance import get_assessment, list_assessments, save_assessment
from tests.store.conftest import record, started

ANSWER: dict[str, Any] = {
    "verdict": "answered",
    "pace_per_min": 5.5,
    "confidence": 0.8,
    "inhale_s": 4.4,
    "exhale_s": 6.5,
    "message": "Your resonance pace: 5.5 breaths a minute, confidence 80%.",
    "paces": [
        {
            "pace_per_min": 5.5,
            "quality": "good",
            "beats_kept": 120,
            "beats_rejected": 2,
            "breaths": 10,
            "swing_bpm": 20.0,
            "swing_se_bpm": 1.2,
            "amplitude_bpm": 8.5,
            "peak_per_min": 5.6,
            "phase_deg": -12.5,
            "score": 1.0,
        }
    ],
}
NO_ANSWER: dict[str, Any] = {
    "verdict": "no_clear_peak",
    "pace_per_min": None,
    "confidence": 0.0,
    "inhale_s": None,
    "exhale_s": None,
    "message": "No clear answer, try again: no pace stood out from the others.",
    "paces": [],
}


def test_assessments_are_kept_newest_first_answered_or_not(engine: Engine) -> None:
    record(engine, [started("run-1", 1_000.0), started("run-2", 2_000.0)])
    first = save_assessment(engine, "run-1", 1_900.0, ANSWER)
    second = save_assessment(engine, "run-2", 2_900.0, NO_ANSWER)
    listed = list_assessments(engine)
    assert [a.id for a in listed] == [second, first]
    assert listed[0].answered is False and listed[0].pace_per_min is None
    assert listed[1].answered is True
    assert (listed[1].pace_per_min, listed[1].inhale_s, listed[1].exhale_s) == (5.5, 4.4, 6.5)
    assert list(listed[1].paces) == ANSWER["paces"]
    assert listed[1].session_id == "run-1"


def test_one_assessment_by_id_and_none_for_an_unknown_one(engine: Engine) -> None:
    saved = save_assessment(engine, None, 5.0, ANSWER)
    found = get_assessment(engine, saved)
    assert found is not None and found.message == ANSWER["message"]
    assert get_assessment(engine, saved + 1000) is None
