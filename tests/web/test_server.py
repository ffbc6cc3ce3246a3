"""Serving with waitress in its own thread: real HTTP, live streams, and a clean stop."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine

from companion.errors import CompanionError, SessionError
from companion.json_records import to_json
from tests.web.conftest import FakeCore, hr_event
from web import RunningServer, TokenRequiredError, WebSettings, create_app, serve

STREAM_SETTINGS = WebSettings(heartbeat_s=0.2, poll_s=0.02, max_streams=2)


@pytest.fixture
def settings() -> WebSettings:
    """What these servers run with (the fake core's feed takes as many streams)."""
    return STREAM_SETTINGS


@pytest.fixture
def running(core: FakeCore, engine: Engine) -> Iterator[RunningServer]:
    app = create_app(core, store_engine=engine, settings=STREAM_SETTINGS)
    server = serve(app, "127.0.0.1", 0)
    yield server
    server.close()


def connect(server: RunningServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.host, server.port, timeout=10)


def read_frame(response: http.client.HTTPResponse) -> bytes:
    """One SSE block (up to the blank line)."""
    lines: list[bytes] = []
    while True:
        line = response.readline()
        if line in (b"\n", b""):
            return b"".join(lines)
        lines.append(line)


def test_serves_json_over_real_http(running: RunningServer, core: FakeCore) -> None:
    conn = connect(running)
    conn.request("GET", "/api/status")
    response = conn.getresponse()

    assert response.status == 200
    assert json.loads(response.read()) == to_json(core.status())
    assert running.url == f"http://127.0.0.1:{running.port}"
    conn.close()


def test_a_live_stream_delivers_events_and_heartbeats(
    running: RunningServer, core: FakeCore
) -> None:
    conn = connect(running)
    conn.request("GET", "/api/stream")
    response = conn.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    assert read_frame(response) == b"retry: 3000\n: connected\n"
    assert read_frame(response).startswith(b"event: status\n")

    core.publish(hr_event(58))

    frame = read_frame(response)
    while frame == b": heartbeat\n":
        frame = read_frame(response)
    assert frame.startswith(b'event: hr\ndata: {"type":"hr"')
    assert read_frame(response) == b": heartbeat\n"
    conn.close()


def test_close_ends_open_streams_and_stops_listening(core: FakeCore, engine: Engine) -> None:
    app = create_app(core, store_engine=engine, settings=STREAM_SETTINGS)
    server = serve(app, "127.0.0.1", 0)
    conn = connect(server)
    conn.request("GET", "/api/stream")
    response = conn.getresponse()
    read_frame(response)

    server.close()

    rest = response.read()  # returns only because the server finished the body
    assert rest.startswith(b"event: status\n")
    assert response.isclosed()
    assert len(core.feed) == 0
    with pytest.raises(OSError):
        late = connect(server)
        late.request("GET", "/api/status")
        late.getresponse()
    server.close()  # a second close is harmless


def test_close_stops_listening_when_the_core_can_no_longer_count_streams(
    core: FakeCore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(create_app(core, store_engine=engine, settings=STREAM_SETTINGS), "127.0.0.1", 0)

    def stopping() -> None:
        raise SessionError("the companion is stopping")

    monkeypatch.setattr(core, "status", stopping)

    server.close()

    with pytest.raises(OSError):
        late = connect(server)
        late.request("GET", "/api/routines")
        late.getresponse()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_a_host_beyond_this_machine_needs_a_token(core: FakeCore, host: str) -> None:
    app = create_app(core, store_engine=None, settings=WebSettings(host=host))

    with pytest.raises(TokenRequiredError) as caught:
        serve(app, host, 0)

    assert isinstance(caught.value, CompanionError)
    assert "token" in str(caught.value)


def test_threads_must_exceed_the_stream_cap(core: FakeCore) -> None:
    app: Flask = create_app(core, store_engine=None, settings=WebSettings(max_streams=8))

    with pytest.raises(ValueError, match="must exceed max_streams"):
        serve(app, "127.0.0.1", 0, threads=8)


def test_a_client_that_hangs_up_frees_its_stream(running: RunningServer, core: FakeCore) -> None:
    conn = connect(running)
    conn.request("GET", "/api/stream")
    response = conn.getresponse()
    read_frame(response)
    assert len(core.feed) == 1

    response.close()
    conn.close()

    # Waitress notices on its next read or the next heartbeat write; wait for either.
    for _ in range(500):
        if len(core.feed) == 0:
            break
        threading.Event().wait(0.01)
    assert len(core.feed) == 0
