"""Errors as JSON under /api: every failure says what went wrong, never with an HTML page.

Status codes (documented in docs/api.md):
400 malformed JSON or a body that is not an object; 401 missing/wrong token; 403 missing/wrong
CSRF token or unexpected Host; 404 unknown route or record; 405 method; 409 a command that does
not fit the session's state; 413 body too large; 415 body that is not JSON; 422 well-formed JSON
with values out of range; 429 too many streams; 503 the core or the store cannot answer now.
"""

from __future__ import annotations

import http
import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from companion.errors import (
    CompanionError,
    DeviceNotFoundError,
    SessionError,
    UnknownNameError,
)

_LOGGER = logging.getLogger(__name__)

API_PREFIX = "/api"


class ApiError(Exception):
    """An answer other than success, with the message the client sees."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class UnprocessableError(ApiError):
    """Well-formed input with a value that does not fit (HTTP 422)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(http.HTTPStatus.UNPROCESSABLE_ENTITY, f"{field}: {problem}", field=field)


def wants_json() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def error_response(status: int, message: str, **extra: Any) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _page_error(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status


def _on_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.message, **error.extra)


def _on_http(error: HTTPException) -> Response | tuple[str, int] | HTTPException:
    status = error.code or http.HTTPStatus.INTERNAL_SERVER_ERROR
    if error.response is not None:  # redirects and such that carry their own answer
        return error
    description = error.description or http.HTTPStatus(status).phrase
    if status == http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        description = f"the body is too large (at most {limit} bytes)"
    if not wants_json():
        return _page_error(status, description)
    response = error_response(status, description)
    # Keep headers the exception set, e.g. Allow on 405.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _on_companion(error: CompanionError) -> Response | tuple[str, int]:
    status: int
    extra: dict[str, Any] = {}
    if isinstance(error, SessionError):
        status = http.HTTPStatus.CONFLICT
    elif isinstance(error, UnknownNameError):
        status = http.HTTPStatus.NOT_FOUND
        extra["known"] = error.known
    elif isinstance(error, DeviceNotFoundError):
        status = http.HTTPStatus.NOT_FOUND
    else:
        _LOGGER.warning("request %s %s failed: %s", request.method, request.path, error)
        status = http.HTTPStatus.SERVICE_UNAVAILABLE
    if not wants_json():
        return _page_error(status, str(error))
    return error_response(status, str(error), **extra)


def _on_timeout(error: TimeoutError) -> Response | tuple[str, int]:
    _LOGGER.warning("core did not answer %s %s in time: %s", request.method, request.path, error)
    message = "the companion did not answer in time; try again"
    if not wants_json():
        return _page_error(http.HTTPStatus.SERVICE_UNAVAILABLE, message)
    return error_response(http.HTTPStatus.SERVICE_UNAVAILABLE, message)


def _on_unexpected(error: Exception) -> Response | tuple[str, int]:
    _LOGGER.error("unhandled error on %s %s", request.method, request.path, exc_info=error)
    message = "internal error; the log has the details"
    if not wants_json():
        return _page_error(http.HTTPStatus.INTERNAL_SERVER_ERROR, message)
    return error_response(http.HTTPStatus.INTERNAL_SERVER_ERROR, message)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, _on_api_error)
    app.register_error_handler(HTTPException, _on_http)
    app.register_error_handler(CompanionError, _on_companion)
    app.register_error_handler(TimeoutError, _on_timeout)
    app.register_error_handler(Exception, _on_unexpected)
