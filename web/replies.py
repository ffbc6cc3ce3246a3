"""Small pieces every API module shares: a JSON answer, and the store or a 503."""

from __future__ import annotations

import http
import logging
from typing import Any

from flask import Response, jsonify
from sqlalchemy import Engine

from companion.errors import CompanionError
from web.problems import ApiError
from web.state import web_state

_LOGGER = logging.getLogger(__name__)


def store_engine() -> Engine:
    """The app's store; 503 when it was built without one."""
    engine = web_state().store_engine
    if engine is None:
        raise ApiError(http.HTTPStatus.SERVICE_UNAVAILABLE, "no session store is configured")
    return engine


def json_reply(value: Any, status: int = http.HTTPStatus.OK) -> Response:
    response = jsonify(value)
    response.status_code = status
    return response


def notify_reminders_changed() -> None:
    """Tell the running service the reminders (or the wake time) changed, so its scheduler
    follows at once. The edit is already stored and the service re-reads the table every
    half minute anyway, so a core that cannot answer now costs a delay, not the change."""
    try:
        web_state().core.reminders_changed()
    except (CompanionError, TimeoutError) as error:
        _LOGGER.warning("the reminder schedule will catch up on its own: %s", error)
