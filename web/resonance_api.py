"""/api/resonance: the resonance-breathing assessments kept, and adopting one's pace.

Adopting writes the assessment's pattern (as it was paced: inhale shorter than exhale)
into the person's saved breathing pattern, through the same checks and record as
PUT /api/settings, so the next routine and `companion plan` use it.
"""

from __future__ import annotations

import http
from typing import Final

from flask import Blueprint, Response

from companion.json_records import to_json
from companion.routines.pacer import BreathPattern
from companion.store.resonance import get_assessment, list_assessments
from web import prefs, store_reads
from web.api_bodies import MAX_ASSESSMENT_ID, ResonanceAdopt, field_names
from web.api_records import ResonanceAdopted, ResonanceList
from web.body import json_object, query_int, reject_unknown, whole_number
from web.problems import ApiError, UnprocessableError
from web.replies import json_reply, store_engine

bp = Blueprint("resonance", __name__, url_prefix="/api/resonance")

MAX_LIST: Final = 200


@bp.get("")
def assessments() -> Response:
    limit = query_int("limit", 50, 1, MAX_LIST)
    return json_reply(to_json(ResonanceList(tuple(list_assessments(store_engine(), limit)))))


@bp.post("/adopt")
def adopt() -> Response:
    body = json_object()
    reject_unknown(body, field_names(ResonanceAdopt))
    assessment_id = whole_number(body.get("id"))
    if assessment_id is None or not 1 <= assessment_id <= MAX_ASSESSMENT_ID:
        raise UnprocessableError(
            "id", f"must be an assessment's id, a whole number 1-{MAX_ASSESSMENT_ID}"
        )
    asked = ResonanceAdopt(assessment_id)
    engine = store_engine()
    found = get_assessment(engine, asked.id)
    if found is None:
        raise ApiError(http.HTTPStatus.NOT_FOUND, f"no assessment {asked.id}")
    pace, inhale_s, exhale_s = found.pace_per_min, found.inhale_s, found.exhale_s
    if not found.answered or pace is None or inhale_s is None or exhale_s is None:
        raise UnprocessableError("id", "that assessment gave no clear answer; there is no pace")
    try:
        checked = prefs.check_update({prefs.PATTERN: {"inhale_s": inhale_s, "exhale_s": exhale_s}})
    except prefs.PrefsError as error:
        raise UnprocessableError(error.field, error.problem) from None
    record = prefs.merged(store_reads.load_setting(engine, prefs.STORE_KEY), checked)
    store_reads.save_settings(engine, {prefs.STORE_KEY: record})
    adopted = ResonanceAdopted(
        id=asked.id,
        pace_per_min=pace,
        pattern=BreathPattern(**record[prefs.PATTERN]),
        applies="from the next routine you start",
    )
    return json_reply(to_json(adopted))
