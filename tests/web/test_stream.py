"""The live event stream: frames, heartbeats, the cap on open streams, and clean endings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from companion.events import LinkState, SessionState
from companion.json_records import to_json
from companion.session.live_feed import FeedFullError
from tests.web.conftest import BAND, T0, FakeCore, cue_event, hr_event, link_event, state_event
from web import shutdown
from web.stream import HEARTBEAT, sse_frame


def _as_bytes(chunk: str | bytes) -> bytes:
    return chunk if isinstance(chunk, bytes) else chunk.encode()


def open_stream(client: FlaskClient, **environ: Any) -> tuple[TestResponse, Iterator[bytes]]:
    response = client.get("/api/stream", buffered=False, environ_overrides=environ)
    assert response.status_code == 200
    return response, (_as_bytes(chunk) for chunk in response.response)


def parse(frame: bytes) -> tuple[str, dict[str, Any]]:
    lines = frame.decode().rstrip("\n").split("\n")
    assert lines[0].startswith("event: ") and lines[1].startswith("data: ")
    return lines[0][len("event: ") :], json.loads(lines[1][len("data: ") :])


def skip_greeting(frames: Iterator[bytes]) -> dict[str, Any]:
    """The opening comment, then the status snapshot; returns the snapshot."""
    assert next(frames) == b"retry: 3000\n: connected\n\n"
    kind, snapshot = parse(next(frames))
    assert kind == "status"
    return snapshot


def next_event(frames: Iterator[bytes]) -> tuple[str, dict[str, Any]]:
    for frame in frames:
        if frame != HEARTBEAT:
            return parse(frame)
    raise AssertionError("the stream ended")


def test_a_frame_is_event_name_then_one_line_of_json() -> None:
    frame = sse_frame("hr", {"hr": 61, "note": "two\nlines"})

    assert frame == b'event: hr\ndata: {"hr":61,"note":"two\\nlines"}\n\n'


def test_an_odd_event_name_is_sent_as_a_plain_message() -> None:
    assert sse_frame("no\nway", {}).startswith(b"event: message\n")


def test_headers_say_event_stream_and_no_caching(client: FlaskClient) -> None:
    response, _frames = open_stream(client)

    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    response.close()


def test_a_new_stream_starts_with_the_status_snapshot(client: FlaskClient, core: FakeCore) -> None:
    response, frames = open_stream(client)

    assert skip_greeting(frames) == to_json(core.status())
    response.close()


def test_core_events_arrive_named_by_kind_with_their_json(
    client: FlaskClient, core: FakeCore
) -> None:
    response, frames = open_stream(client)
    skip_greeting(frames)
    events = [
        hr_event(64),
        cue_event("run1", "breath-in", 10.0, 4.0),
        state_event("run1", SessionState.PAUSED),
        link_event(LinkState.LOST),
    ]

    for event in events:
        core.publish(event)

    received = [next_event(frames) for _ in events]
    assert received == [(event.kind, event.to_json()) for event in events]
    assert received[0] == (
        "hr",
        {"type": "hr", "wall": T0, "device": BAND, "hr": 64, "contact": True,
         "energy_kj": None, "rr_ms": []},
    )  # fmt: skip
    response.close()


def test_an_idle_stream_sends_heartbeat_comments(client: FlaskClient) -> None:
    response, frames = open_stream(client)
    skip_greeting(frames)

    assert [next(frames), next(frames)] == [HEARTBEAT, HEARTBEAT]
    response.close()


def test_streams_beyond_the_cap_get_429_json(client: FlaskClient, app: Flask) -> None:
    first, _ = open_stream(client)
    second, _ = open_stream(client)

    refused = client.get("/api/stream")

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert "limit 2" in refused.get_json()["error"]
    first.close()
    second.close()


def test_closing_a_stream_gives_back_its_slot_and_feed_subscription(
    client: FlaskClient, core: FakeCore
) -> None:
    first, _ = open_stream(client)
    second, _ = open_stream(client)
    first.close()

    third, _ = open_stream(client)

    assert len(core.feed) == 2
    second.close()
    third.close()
    assert len(core.feed) == 0


def test_a_stream_whose_body_was_never_read_still_gives_back_its_slot(
    client: FlaskClient, core: FakeCore
) -> None:
    response = client.get("/api/stream", buffered=False)

    response.close()

    assert len(core.feed) == 0


def test_the_core_refusing_a_subscriber_is_429(
    client: FlaskClient, core: FakeCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full() -> None:
        raise FeedFullError("already 8 live dashboards open")

    monkeypatch.setattr(core, "subscribe_feed", full)

    response = client.get("/api/stream")

    assert response.status_code == 429
    assert len(core.feed) == 0


def test_the_feed_alone_counts_open_streams_so_a_subscriber_from_elsewhere_takes_a_place(
    client: FlaskClient, core: FakeCore
) -> None:
    elsewhere = core.feed.subscribe()
    first, _ = open_stream(client)

    refused = client.get("/api/stream")
    elsewhere.close()
    second, _ = open_stream(client)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert "limit 2" in refused.get_json()["error"]
    assert len(core.feed) == 2
    first.close()
    second.close()


def test_streams_end_when_the_app_shuts_down(
    client: FlaskClient, app: Flask, core: FakeCore
) -> None:
    response, frames = open_stream(client)
    skip_greeting(frames)

    shutdown(app)

    assert list(frames) == []
    assert len(core.feed) == 0
    assert client.get("/api/stream").status_code == 503
    response.close()


def test_a_stream_ends_when_waitress_says_the_client_left(
    client: FlaskClient, core: FakeCore
) -> None:
    response, frames = open_stream(client, **{"waitress.client_disconnected": lambda: True})
    skip_greeting(frames)

    assert list(frames) == []
    assert len(core.feed) == 0
    response.close()


def test_a_failing_status_snapshot_does_not_stop_the_stream(
    client: FlaskClient, core: FakeCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> dict[str, Any]:
        raise TimeoutError("core busy")

    monkeypatch.setattr(core, "status", broken)
    response, frames = open_stream(client)
    assert next(frames) == b"retry: 3000\n: connected\n\n"

    core.publish(hr_event(70))

    assert next_event(frames)[0] == "hr"
    response.close()
