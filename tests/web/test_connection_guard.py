"""Sockets that send nothing, or trickle a request, cannot starve the owner: the guard's
rules as a table, then the real server holding 300 such sockets while the Pain button works."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.web.conftest import FakeCore
from web import WebSettings, create_app
from web.connection_guard import ConnectionLimits, OpenConnection, overdue, to_close_for
from web.server import RunningServer, serve

LIMITS = ConnectionLimits(max_open=4, max_per_client=2, request_timeout_s=10, idle_timeout_s=15)
NOW = 1_000.0
LAN = "192.168.1.20"
OTHER = "192.168.1.30"
HERE = "127.0.0.1"


def conn(
    key: int, since: float, *, client: str = HERE, answering: bool = False, partial: bool = False
) -> OpenConnection:
    return OpenConnection(key=key, client=client, answering=answering, partial=partial, since=since)


# --- the rules --------------------------------------------------------------------------------


def test_overdue_closes_late_partial_requests_and_silent_connections_only() -> None:
    connections = [
        conn(1, NOW - 9.9, partial=True),  # a request still within its 10 s
        conn(2, NOW - 10, partial=True),  # a request trickling past its 10 s
        conn(3, NOW - 14.9),  # silent, within 15 s
        conn(4, NOW - 15),  # silent for 15 s
        conn(5, NOW - 3_600, answering=True),  # a live stream for an hour
        conn(6, NOW - 3_600, answering=True, partial=True),  # answering, next request queued
    ]

    assert overdue(connections, NOW, LIMITS) == [2, 4]


def test_below_the_caps_nothing_is_closed() -> None:
    others = [conn(1, NOW - 5), conn(2, NOW - 1, client=LAN)]

    assert to_close_for(conn(9, NOW, client=LAN), others, LIMITS) == []


def test_when_full_the_longest_waiting_unanswered_connection_makes_room() -> None:
    others = [
        conn(1, NOW - 100, answering=True),  # the oldest, but being answered
        conn(2, NOW - 8, partial=True),  # a trickled request, longest waiting of the rest
        conn(3, NOW - 5),
        conn(4, NOW - 1),
    ]

    assert to_close_for(conn(9, NOW), others, LIMITS) == [2]


def test_when_every_connection_is_being_answered_the_newcomer_is_refused() -> None:
    others = [conn(k, NOW - k, answering=True) for k in range(1, 5)]

    assert to_close_for(conn(9, NOW), others, LIMITS) == [9]


def test_an_address_beyond_this_machine_is_capped_on_its_own_connections() -> None:
    others = [
        conn(1, NOW - 9, client=OTHER),
        conn(2, NOW - 5, client=LAN),
        conn(3, NOW - 1, client=LAN),
    ]

    assert to_close_for(conn(9, NOW, client=LAN), others, LIMITS) == [2]


def test_a_capped_address_whose_connections_are_all_answered_is_refused() -> None:
    others = [conn(k, NOW - k, client=LAN, answering=True) for k in (1, 2)]

    assert to_close_for(conn(9, NOW, client=LAN), others, LIMITS) == [9]


def test_this_machine_shares_one_address_so_it_has_no_per_client_cap() -> None:
    others = [conn(1, NOW - 3), conn(2, NOW - 2)]

    assert to_close_for(conn(9, NOW, client=HERE), others, LIMITS) == []


@pytest.mark.parametrize(
    "changes",
    [{"max_open": 0}, {"max_per_client": 0}, {"request_timeout_s": 0}, {"idle_timeout_s": -1}],
)
def test_limits_must_be_positive(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ConnectionLimits(**changes)  # type: ignore[arg-type]


# --- the real server ----------------------------------------------------------------------------

HOSTILE_SOCKETS = 300
# A generous bound for "answers": the old server kept such sockets for minutes.
ANSWER_TIMEOUT_S = 30.0
PARTIAL_HEAD = b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@contextlib.contextmanager
def held_sockets(server: RunningServer, count: int) -> Iterator[list[socket.socket]]:
    """``count`` loopback sockets to the server: every other one sends half a request head and
    stops, the rest send nothing. All are closed at the end, whatever happens."""
    held: list[socket.socket] = []
    try:
        for index in range(count):
            sock = socket.create_connection((server.host, server.port), timeout=5)
            held.append(sock)
            if index % 2:
                sock.sendall(PARTIAL_HEAD)
        yield held
    finally:
        for sock in held:
            sock.close()


def owner_request(
    server: RunningServer, method: str, path: str, headers: dict[str, str]
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request as the owner's browser sends it, on a fresh connection."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=ANSWER_TIMEOUT_S)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def press_pain(server: RunningServer) -> tuple[int, bytes]:
    """What the dashboard does: its CSRF token (and session cookie), then the Pain command."""
    status, headers, body = owner_request(server, "GET", "/api/csrf", {})
    assert status == 200, body
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    sent = {"Cookie": cookie, "X-CSRF-Token": json.loads(body)["csrf_token"]}
    status, _, body = owner_request(server, "POST", "/api/session/pain", sent)
    return status, body


def serve_app(
    core: FakeCore, engine: Engine, limits: ConnectionLimits | None, **settings: float
) -> RunningServer:
    app = create_app(core, store_engine=engine, settings=WebSettings(**settings))
    return serve(app, "127.0.0.1", 0, limits=limits)


@pytest.fixture
def serving(core: FakeCore, engine: Engine) -> Iterator[RunningServer]:
    server = serve_app(core, engine, None)  # the limits the service runs with
    yield server
    server.close()


def test_the_pain_button_answers_while_300_sockets_send_nothing_or_half_a_request(
    serving: RunningServer, core: FakeCore
) -> None:
    core.start_session("bedtime", 3)

    with held_sockets(serving, HOSTILE_SOCKETS):
        status, body = press_pain(serving)

    assert status == 200, body
    assert json.loads(body)["state"] == "pain"
    assert core.commands == ["pain"]


QUICK = ConnectionLimits(request_timeout_s=1.0, idle_timeout_s=1.0)
HEARTBEAT_S = 0.5
TRICKLE_EVERY_S = 0.2


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed the socket (end of stream or a reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.fixture
def quick(core: FakeCore, engine: Engine) -> Iterator[RunningServer]:
    server = serve_app(core, engine, QUICK, heartbeat_s=HEARTBEAT_S, poll_s=0.05)
    yield server
    server.close()


def test_a_request_head_trickled_a_byte_at_a_time_is_cut_off(quick: RunningServer) -> None:
    with socket.create_connection((quick.host, quick.port), timeout=TRICKLE_EVERY_S) as sock:
        sock.sendall(b"GET /api/status HTTP/1.1\r\n")
        # Keep sending for up to 20 times the deadline; the old server never closed it.
        for _ in range(int(20 * QUICK.request_timeout_s / TRICKLE_EVERY_S)):
            if closed_by_server(sock):
                break
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
        else:
            pytest.fail("the server kept a request that never finished")


def test_a_socket_that_sends_nothing_is_closed(quick: RunningServer) -> None:
    with socket.create_connection((quick.host, quick.port), timeout=ANSWER_TIMEOUT_S) as sock:
        assert closed_by_server(sock)


def test_a_connection_being_answered_outlives_the_timeouts(
    quick: RunningServer, core: FakeCore
) -> None:
    connection = http.client.HTTPConnection(quick.host, quick.port, timeout=ANSWER_TIMEOUT_S)
    connection.request("GET", "/api/stream")
    response = connection.getresponse()
    heartbeats = 0
    # Six heartbeats take three seconds: well past both timeouts and a sweep.
    while heartbeats < 6:
        line = response.readline()
        assert line, "the stream was cut"
        heartbeats += line == b": heartbeat\n"
    connection.close()
