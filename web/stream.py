"""Server-Sent Events: the live feed (hr, cue, state, link, ...) for one dashboard.

Each stream holds a server thread and a live-feed subscription while open. The feed's
subscriptions are the one count of open streams: when the core refuses another
subscription (``FeedFullError``, a ``SessionError``, at ``max_streams``), the stream is
answered 429. The generator runs after the request context is gone: it only touches what it
was handed. It ends when the app shuts down, when the client's socket is gone (waitress
tells us, or a heartbeat write fails), and it always gives its feed subscription back.
"""

from __future__ import annotations

import http
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, request

from companion.errors import SessionError
from companion.events import Event
from companion.json_records import to_json
from companion.session.control import FeedSubscription
from web.problems import error_response
from web.state import WebState, web_state

_LOGGER = logging.getLogger(__name__)

RETRY_MS = 3000
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Set by waitress when it can tell the client hung up (with channel_request_lookahead > 0).
DISCONNECT_KEY = "waitress.client_disconnected"


def sse_frame(kind: str, payload: dict[str, Any]) -> bytes:
    """One event: ``event: <kind>\\ndata: <json>\\n\\n`` (json.dumps never emits a raw newline)."""
    name = kind if _EVENT_NAME.fullmatch(kind) else "message"
    data = json.dumps(payload, separators=(",", ":"), default=str)
    return f"event: {name}\ndata: {data}\n\n".encode()


def event_frame(event: Event) -> bytes:
    return sse_frame(event.kind, event.to_json())


HEARTBEAT = b": heartbeat\n\n"


def _frames(
    state: WebState,
    subscription: FeedSubscription,
    client_gone: Callable[[], bool],
) -> Iterator[bytes]:
    settings = state.settings
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
        try:
            yield sse_frame("status", to_json(state.core.status()))
        except Exception as error:  # the live events still flow without the snapshot
            _LOGGER.warning("no status snapshot for a new stream: %s", error)
        last_write = time.monotonic()
        while not state.shutdown.is_set() and not client_gone():
            idle = time.monotonic() - last_write
            if idle >= settings.heartbeat_s:
                yield HEARTBEAT
                last_write = time.monotonic()
                continue
            event = subscription.get(timeout=min(settings.poll_s, settings.heartbeat_s - idle))
            if event is not None:
                yield event_frame(event)
                last_write = time.monotonic()
    finally:
        subscription.close()


def open_stream() -> Response:
    state = web_state()
    if state.shutdown.is_set():
        return error_response(http.HTTPStatus.SERVICE_UNAVAILABLE, "shutting down")
    try:
        subscription = state.core.subscribe_feed()
    except SessionError as error:
        # At the cap (or a core that does not answer): the client retries after a while.
        _LOGGER.info("feed refused a new stream: %s", error)
        return _too_many(state)
    disconnected = request.environ.get(DISCONNECT_KEY)
    client_gone: Callable[[], bool] = disconnected if callable(disconnected) else lambda: False
    response = Response(
        _frames(state, subscription, client_gone),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    # Also runs when the body is never iterated (client gone before the first byte).
    response.call_on_close(subscription.close)
    return response


def _too_many(state: WebState) -> Response:
    response = error_response(
        http.HTTPStatus.TOO_MANY_REQUESTS,
        f"too many open live streams (limit {state.settings.max_streams}); close another tab",
    )
    response.headers["Retry-After"] = str(RETRY_MS // 1000)
    return response
