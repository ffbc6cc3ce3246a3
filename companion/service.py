"""``companion run``: the companion built once (``companion.wiring.build_companion``) and
served until SIGINT/SIGTERM, after checking it can listen where asked.

Start: data dir -> store (migrate, mark interrupted sessions) -> recorder thread -> core
loop (bus, band link, session host) -> scheduler -> web server. Stop runs the other way,
and a routine still running when the service stops is recorded as interrupted.
"""

from __future__ import annotations

import asyncio
import errno
import signal
import socket
from collections.abc import Callable

from companion.config import Settings
from companion.dashboard_token import load_token
from companion.errors import ListenError
from companion.service_notices import bluetooth_notice, problem_notices
from companion.wiring import build_companion


def run_service(settings: Settings, *, announce: Callable[[str], None]) -> int:
    """``companion run``: everything in one process until SIGINT/SIGTERM."""
    from web.server import serve
    from web.settings import WebSettings, is_loopback

    check_can_listen(settings.host, settings.port)
    token: str | None = None
    if not is_loopback(settings.host):
        token, fresh = load_token(settings)
        if fresh:
            announce(f"Dashboard token (shown once, kept in {settings.token_file}): {token}")
    web_settings = WebSettings(host=settings.host, token=token)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with build_companion(settings, reminders=True, web=web_settings) as companion:
            for notice in problem_notices(companion.catalogues.problems, companion.clock):
                announce(f"warning: {notice.message}")
                companion.bus.publish(notice)
            companion.bus.subscribe(
                bluetooth_notice(companion.bus.publish, companion.clock, announce)
            )
            assert companion.app is not None  # asked for with web=
            try:
                server = await asyncio.to_thread(serve, companion.app, settings.host, settings.port)
            except OSError as exc:
                raise listen_error(settings.host, settings.port, exc) from None
            try:
                announce(f"Dashboard: {server.url}")
                await stop.wait()
                announce("Stopping…")
            finally:
                await asyncio.to_thread(server.close)

    asyncio.run(main())
    return 0


def check_can_listen(host: str, port: int) -> None:
    """Fail before anything starts when the dashboard could not listen at ``host:port``
    (bound the way the web server binds, then let go at once)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise listen_error(host, port, exc) from None


def listen_error(host: str, port: int, exc: OSError) -> ListenError:
    """What a failed listen means for the person, with the fix."""
    if isinstance(exc, socket.gaierror):
        return ListenError(
            host, port, f"{host!r} is not a known address", "use 127.0.0.1 or 0.0.0.0"
        )
    if exc.errno == errno.EADDRINUSE:
        return ListenError(
            host,
            port,
            "the port is in use",
            "is the companion already running? Stop it, or choose another --port",
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ListenError(
            host,
            port,
            f"{host} is not an address of this machine",
            "use 127.0.0.1, or 0.0.0.0 for every network",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ListenError(
            host, port, "not allowed to use this port", "choose a --port of 1024 or above"
        )
    return ListenError(host, port, exc.strerror or str(exc), "choose another --host or --port")
