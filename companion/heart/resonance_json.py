"""A resonance assessment as JSON (``Assessment.to_json``, ``PaceScore.to_json``), typed key
by key.

The ``to_json`` methods are annotated with these, so mypy holds every key and value they
write; that JSON is what the store keeps (companion/store/resonance.py), what the
breathing watcher announces, and, each pace as it was written, what /api/resonance
answers: web/openapi.py generates the schemas from these types. Only typing here; nothing
runs.
"""

from __future__ import annotations

from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from companion.heart.resonance import BlockQuality, Verdict


class PaceJson(TypedDict):
    """One pace's figures (``PaceScore.to_json``), to three decimals: the beats kept and
    rejected and the breaths scored; the size figures (swing, its standard error,
    amplitude, the spectrum's peak and the phase) null where the data was too poor to
    measure them, and the score (0..1 among the good paces) null unless good."""

    pace_per_min: float
    quality: BlockQuality
    beats_kept: int
    beats_rejected: int
    breaths: int
    swing_bpm: float | None
    swing_se_bpm: float | None
    amplitude_bpm: float | None
    peak_per_min: float | None
    phase_deg: float | None
    score: float | None


class AssessmentJson(TypedDict):
    """A whole assessment (``Assessment.to_json``): answered or why not, the pace and the
    pattern that paces it (null unless answered), how confident, whether the answer is the
    slowest or fastest pace tried, the message shown and each pace's figures."""

    verdict: Verdict
    pace_per_min: float | None
    confidence: float
    at_edge: bool
    inhale_s: float | None
    exhale_s: float | None
    message: str
    paces: list[PaceJson]
