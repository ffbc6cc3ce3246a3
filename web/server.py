"""Serving the app with waitress in a thread of its own, with a clean stop."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask
from waitress.server import create_server
from waitress.trigger import trigger

from web.auth import TokenRequiredError
from web.settings import is_loopback
from web.state import shutdown, web_state

_LOGGER = logging.getLogger(__name__)

# Threads beyond the stream cap, so pages and commands never wait behind open streams.
SPARE_THREADS = 4
# How many requests waitress reads ahead on a connection; > 0 lets it tell a stream that the
# client has hung up (environ["waitress.client_disconnected"]).
REQUEST_LOOKAHEAD = 5
STOP_TIMEOUT_S = 5.0
OUTBUF_HIGH_WATERMARK = 1 << 20
FLUSH_POLL_S = 0.01


class RunningServer:
    """A waitress server running in its own thread; ``close()`` stops it and its streams."""

    def __init__(self, app: Flask, server: Any, thread: threading.Thread) -> None:
        self._app = app
        self._server = server
        self._thread = thread
        self._closed = False
        # One listener gives effective_host/port; a name with several addresses ("localhost")
        # gives a multi-socket server that lists them all.
        listen = getattr(server, "effective_listen", None)
        first = listen[0] if listen else (server.effective_host, server.effective_port)
        self.host: str = str(first[0])
        self.port: int = int(first[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        """End open streams, let running requests finish, then stop listening. Idempotent."""
        if self._closed:
            return
        self._closed = True
        state = web_state(self._app)
        shutdown(self._app)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while state.streams.open and time.monotonic() < deadline:
            time.sleep(state.settings.poll_s / 2)
        self._server.task_dispatcher.shutdown(timeout=max(0.0, deadline - time.monotonic()))
        socket_map = getattr(self._server, "_map", None) or self._server.map
        # Let the loop thread send what the last responses wrote (a stream's final bytes),
        # so clients see a finished body rather than a cut connection.
        while time.monotonic() < deadline and any(
            getattr(d, "total_outbufs_len", 0) for d in list(socket_map.values())
        ):
            time.sleep(FLUSH_POLL_S)
        # Closing every dispatcher in the map (listener, trigger, open channels) empties it,
        # which is what ends waitress's loop. It is done on the loop's own thread, through
        # waitress's trigger, so no socket is closed under a select() that still uses it.
        wake = next(d for d in socket_map.values() if isinstance(d, trigger))

        def close_all() -> None:
            for dispatcher in list(socket_map.values()):
                try:
                    dispatcher.close()
                except OSError as error:
                    _LOGGER.debug("closing %r: %s", dispatcher, error)

        wake.pull_trigger(close_all)
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            _LOGGER.warning("web server thread did not stop within %ss", STOP_TIMEOUT_S)
        _LOGGER.info("web server on %s stopped", self.url)


def serve(app: Flask, host: str, port: int, threads: int | None = None) -> RunningServer:
    """Start serving ``app`` on ``host:port`` (port 0 picks a free one) and return at once.

    Raises TokenRequiredError for a host beyond this machine when the app has no token.
    """
    settings = web_state(app).settings
    if not is_loopback(host):
        if settings.token is None:
            raise TokenRequiredError(host)
        if settings.loopback_only:
            raise ValueError(f"serving on {host!r} but the app's settings say {settings.host!r}")
    count = threads if threads is not None else settings.max_streams + SPARE_THREADS
    if count <= settings.max_streams:
        raise ValueError(f"threads ({count}) must exceed max_streams ({settings.max_streams})")
    server = create_server(
        app,
        host=host,
        port=port,
        threads=count,
        channel_request_lookahead=REQUEST_LOOKAHEAD,
        # Waitress frees a channel's sent output only past this mark (16 MB by default);
        # an event stream runs for hours, so keep it small or each stream hoards memory.
        outbuf_high_watermark=OUTBUF_HIGH_WATERMARK,
        ident="companion",
    )
    thread = threading.Thread(target=server.run, name="companion-web", daemon=True)
    running = RunningServer(app, server, thread)
    thread.start()
    _LOGGER.info("web server listening on %s with %d threads", running.url, count)
    return running
