"""Serving the app with waitress in a thread of its own, with a clean stop, and with the
connection guard (``web.connection_guard``) deciding which sockets it keeps."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.trigger import trigger

from web.auth import TokenRequiredError
from web.connection_guard import ConnectionLimits, OpenConnection, overdue, to_close_for
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
# Waitress stops accepting at its own connection_limit; ours (max_open) acts first, and this
# leaves room above it for the listeners, the wake-up trigger and connections being closed.
WAITRESS_LIMIT_HEADROOM = 16
# How often (whole seconds, as waitress takes it) the guard looks for overdue connections.
SWEEP_INTERVAL_S = 1


class GuardedChannel(HTTPChannel):  # type: ignore[misc]  # waitress has no type hints
    """A waitress connection that notes what the guard needs: when it last received or sent
    a byte, and when the request it is receiving began. Runs on waitress's loop thread,
    except ``send``, which answering threads call too (a float assignment is atomic)."""

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
        self.active_at = time.monotonic()
        self.request_began: float | None = None
        super().__init__(server, sock, addr, adj, map=map)
        guard: ConnectionGuard = server.connection_guard
        guard.admit(self)

    def received(self, data: bytes) -> bool:
        before = self.request
        result: bool = super().received(data)
        now = time.monotonic()
        self.active_at = now
        if self.request is None:
            self.request_began = None
        elif self.request is not before:  # a new request began in this chunk
            self.request_began = now
        return result

    def send(self, data: bytes, do_close: bool = True) -> int:
        sent: int = super().send(data, do_close=do_close)
        if sent:
            self.active_at = time.monotonic()
        return sent

    def seen(self) -> OpenConnection:
        began = self.request_began
        return OpenConnection(
            key=id(self),
            client=str(self.addr[0]) if self.addr else "",
            answering=bool(self.requests),
            partial=began is not None,
            since=began if began is not None else self.active_at,
        )


class ConnectionGuard:
    """Applies ``ConnectionLimits`` to the connections in one waitress socket map."""

    def __init__(self, limits: ConnectionLimits, socket_map: dict[int, Any]) -> None:
        self.limits = limits
        self._map = socket_map

    def _open(self) -> list[GuardedChannel]:
        return [
            d
            for d in list(self._map.values())
            if isinstance(d, GuardedChannel) and not d.will_close
        ]

    def admit(self, newcomer: GuardedChannel) -> None:
        """Make room for a connection just accepted (closing others, or it)."""
        others = {id(c): c for c in self._open() if c is not newcomer}
        closing = to_close_for(newcomer.seen(), [c.seen() for c in others.values()], self.limits)
        for key in closing:
            channel = newcomer if key == id(newcomer) else others[key]
            _LOGGER.debug("closing a connection from %s to make room", channel.addr)
            channel.will_close = True  # waitress's loop closes it on its next turn

    def sweep(self, _wall_now: float = 0.0) -> None:
        """Close connections that waited too long (waitress calls this as ``maintenance``)."""
        channels = {id(c): c for c in self._open()}
        late = overdue([c.seen() for c in channels.values()], time.monotonic(), self.limits)
        for key in late:
            _LOGGER.debug("closing an idle or too slow connection from %s", channels[key].addr)
            channels[key].will_close = True


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
        shutdown(self._app)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        # Each open stream sees the shutdown flag within a poll, ends, and gives its feed
        # subscription back; waitress is stopped only once they have.
        poll_s = web_state(self._app).settings.poll_s
        while self._streams_open() and time.monotonic() < deadline:
            time.sleep(poll_s / 2)
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

    def _streams_open(self) -> int:
        """Open streams as the live feed counts them (the one count of them); 0 when the core
        cannot say (it is stopping), so there is nothing left to wait for."""
        try:
            return web_state(self._app).core.status().streams
        except Exception as error:
            _LOGGER.debug("no stream count from the core while stopping: %s", error)
            return 0


def serve(
    app: Flask,
    host: str,
    port: int,
    threads: int | None = None,
    limits: ConnectionLimits | None = None,
) -> RunningServer:
    """Start serving ``app`` on ``host:port`` (port 0 picks a free one) and return at once.
    ``limits`` bound the open connections (see ``web.connection_guard``).

    Raises TokenRequiredError for a host beyond this machine when the app has no token.
    """
    limits = limits or ConnectionLimits()
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
        connection_limit=limits.max_open + WAITRESS_LIMIT_HEADROOM,
        cleanup_interval=SWEEP_INTERVAL_S,
        max_request_header_size=limits.max_header_bytes,
        max_request_body_size=limits.max_upload_bytes,
        # poll() has no FD_SETSIZE ceiling, which select() hits at 1024 descriptors.
        asyncore_use_poll=True,
        ident="companion",
    )
    _guard_listeners(server, limits)
    thread = threading.Thread(target=server.run, name="companion-web", daemon=True)
    running = RunningServer(app, server, thread)
    thread.start()
    _LOGGER.info("web server listening on %s with %d threads", running.url, count)
    return running


def _guard_listeners(server: Any, limits: ConnectionLimits) -> None:
    """Give each listener (one per address "localhost" resolves to) our connection class and
    our sweep in place of waitress's own idle check. Nothing is accepted before the loop
    thread starts, so every connection is a guarded one."""
    socket_map = getattr(server, "_map", None) or server.map
    guard = ConnectionGuard(limits, socket_map)
    for listener in [d for d in socket_map.values() if isinstance(d, BaseWSGIServer)]:
        listener.connection_guard = guard
        listener.channel_class = GuardedChannel
        listener.maintenance = guard.sweep
