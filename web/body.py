"""Reading and checking JSON request bodies, so every endpoint fails the same way."""

from __future__ import annotations

import http
import json
import re
from collections.abc import Set as AbstractSet
from typing import Any

from flask import request

from companion.pain import PAIN_MAX, PAIN_MIN
from web.problems import ApiError, UnprocessableError

# The longest routine name a start or a reminder takes.
MAX_ROUTINE_NAME = 200
JSON_MEDIA_TYPE = "application/json"
_DIGITS = re.compile(r"[0-9]{1,10}")  # enough for the largest limit any query takes


def _has_body() -> bool:
    return bool(request.content_length) or bool(request.headers.get("Transfer-Encoding"))


def json_object(*, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object; {} when the body is absent and not required.

    415 when the body is not declared as JSON, 413 past the size cap (raised by Werkzeug while
    reading), 400 when it does not parse or is not an object.
    """
    if not _has_body():
        if required:
            raise ApiError(http.HTTPStatus.BAD_REQUEST, "a JSON object body is required")
        return {}
    if request.mimetype != JSON_MEDIA_TYPE:
        raise ApiError(
            http.HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"send the body as {JSON_MEDIA_TYPE}, not {request.mimetype or 'no content type'}",
        )
    raw = request.get_data(cache=True)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ApiError(http.HTTPStatus.BAD_REQUEST, f"malformed JSON: {error}") from None
    if not isinstance(value, dict):
        raise ApiError(http.HTTPStatus.BAD_REQUEST, "the JSON body must be an object")
    return value


def reject_unknown(body: dict[str, Any], allowed: AbstractSet[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise UnprocessableError(unknown[0], f"unknown field; allowed: {known}")


def whole_number(value: object) -> int | None:
    """``value`` as an int when JSON gave a whole number (9 or 9.0, as JSON Schema's
    "integer" allows); None otherwise. Booleans are not numbers here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def pain_rating(body: dict[str, Any], field: str, *, required: bool) -> int | None:
    """A pain score 0..10 (whole numbers; booleans are not numbers here)."""
    if field not in body or body[field] is None:
        if required:
            raise UnprocessableError(field, f"required, a whole number {PAIN_MIN}-{PAIN_MAX}")
        return None
    value = whole_number(body[field])
    if value is None:
        raise UnprocessableError(field, f"must be a whole number {PAIN_MIN}-{PAIN_MAX}")
    if not PAIN_MIN <= value <= PAIN_MAX:
        raise UnprocessableError(field, f"must be between {PAIN_MIN} and {PAIN_MAX}")
    return value


def text_field(body: dict[str, Any], field: str, *, max_len: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise UnprocessableError(field, "required, a non-empty string")
    if len(value) > max_len:
        raise UnprocessableError(field, f"at most {max_len} characters")
    return value


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    # int() alone would also take "1_0", " 7" and non-ASCII digits.
    if not _DIGITS.fullmatch(raw):
        raise ApiError(http.HTTPStatus.BAD_REQUEST, f"{name}: must be a whole number", field=name)
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(
            http.HTTPStatus.BAD_REQUEST, f"{name}: must be between {low} and {high}", field=name
        )
    return value
