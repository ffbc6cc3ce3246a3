"""Fault drills on the whole service as a real process: killed with SIGKILL mid-routine, its
database refusing writes mid-routine, and a dashboard that stops reading its event stream.

Each drill runs ``companion run --simulate`` as a child process (tests/e2e/live.py) and
looks at it only from outside: its HTTP API, its event stream, its log and its memory.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.live import (
    ApiClient,
    LiveService,
    SseEvent,
    SseReader,
    running_service,
    start_service,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

RUN_BEFORE_KILL_S = 8.0
# One heart-rate sample a second, and the recorder commits at most 0.5 s after a row
# arrives: the newest stored sample may be up to 1 s + 0.5 s older than the kill.
SAMPLE_PERIOD_S = 1.0
RECORDER_FLUSH_S = 0.5
MAY_LOSE_S = SAMPLE_PERIOD_S + RECORDER_FLUSH_S
EVENT_TIMEOUT_S = 20.0


@dataclass
class EventLog:
    """Every event one stream delivers, read on a thread, with the wall time it arrived."""

    reader: SseReader
    events: list[tuple[float, SseEvent]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        try:
            while (event := self.reader.next_event()) is not None:
                with self.lock:
                    self.events.append((time.time(), event))
        except OSError:
            pass  # hung up by the test

    def since(self, wall: float, name: str | None = None) -> list[SseEvent]:
        with self.lock:
            return [e for t, e in self.events if t >= wall and (name is None or e.name == name)]

    def wait_for(self, wanted: Any, timeout: float = EVENT_TIMEOUT_S) -> tuple[float, SseEvent]:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            with self.lock:
                fresh = self.events[seen:]
                seen = len(self.events)
            for arrived, event in fresh:
                if wanted(event):
                    return arrived, event
            time.sleep(0.05)
        raise AssertionError(f"no matching event within {timeout} s")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[LiveService]:
    with running_service(tmp_path / "data") as live:
        yield live


@pytest.fixture
def event_log(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory: ``event_log(client)`` opens a stream and logs it until the test ends."""
    opened: list[tuple[EventLog, threading.Thread]] = []

    def open_log(client: ApiClient) -> EventLog:
        log = EventLog(SseReader(client))
        thread = threading.Thread(target=log.run, name="sse-log", daemon=True)
        thread.start()
        opened.append((log, thread))
        return log

    yield open_log
    for log, thread in opened:
        log.reader.hang_up()
        thread.join(5)
        log.reader.close()


def test_a_service_killed_mid_routine_comes_back_with_it_interrupted_and_its_samples_kept(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    first = start_service(data_dir)
    try:
        first.wait_for_band()
        run_id = first.client().start_routine("taster", pain_before=3)
        time.sleep(RUN_BEFORE_KILL_S)
        killed_at = first.kill()
    finally:
        first.stop()

    with running_service(data_dir) as second:
        client = second.client()
        sessions = client.get_json("/api/sessions")["sessions"]
        samples = client.get_json(f"/api/sessions/{run_id}/samples")["samples"]
        second.wait_for_band()
        restarted = client.post_json("/api/session", {"routine": "taster", "pain_before": 1})
        assert restarted.status == 201, restarted
        assert client.post_json("/api/session/stop").status == 200

    [row] = sessions
    assert (row["id"], row["outcome"], row["pain_before"]) == (run_id, "interrupted", 3)
    times = [s["t"] for s in samples]
    assert times == sorted(times)
    # The whole run is there, up to about a second before the kill and nothing after it.
    assert killed_at - MAY_LOSE_S <= times[-1] <= killed_at, (killed_at, times)
    assert len(samples) >= RUN_BEFORE_KILL_S - MAY_LOSE_S - 1
    assert times[-1] <= row["ended_at"] <= killed_at
    assert "marked 1 unfinished session(s) as interrupted" in second.stderr.text()


FSIZE = psutil.RLIMIT_FSIZE
OUTAGE_S = 8.0
# The recorder retries with doubling waits (0.5 s, 1 s, 2 s, ...); after an outage of
# OUTAGE_S the next try comes at most about OUTAGE_S later.
RECOVERY_TIMEOUT_S = 2 * OUTAGE_S + 10.0


def stored_samples(client: ApiClient, run_id: str) -> list[dict[str, Any]]:
    """The session's stored samples; none while the session itself is not written yet."""
    answer = client.request("GET", f"/api/sessions/{run_id}/samples")
    if answer.status == 404:
        return []
    assert answer.status == 200, answer
    return list(answer.json()["samples"])


def wait_for_samples(client: ApiClient, run_id: str, count: int) -> None:
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while len(stored_samples(client, run_id)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} samples stored"
        time.sleep(0.2)


def store_notice(event: SseEvent, level: str) -> bool:
    return (
        event.name == "notice"
        and event.data.get("topic") == "store"
        and event.data.get("level") == level
    )


def test_a_database_refusing_writes_mid_routine_is_shown_and_nothing_is_lost_once_it_is_back(
    service: LiveService, event_log: Any
) -> None:
    """The service's process gets a file-size limit of 0 from outside (prlimit, which is
    what ``psutil.Process.rlimit`` calls): from then on every write it makes to a regular
    file fails with EFBIG, as on a full disk, and SQLite reports a disk I/O error.
    chmod or a read-only bind mount would not stop a root process (CI runs as root) and
    mounting a tiny tmpfs needs privileges a container may not have; the limit works for
    any user on their own process and can be lifted again, so the recovery is tested too.
    Python ignores SIGXFSZ, so the failed write does not kill the service. Its log goes to
    a pipe, which the limit does not cover."""
    service.wait_for_band()
    client = service.client()
    events = event_log(client)
    run_id = client.start_routine("taster", pain_before=2)
    wait_for_samples(client, run_id, 2)
    process = psutil.Process(service.pid)
    soft, hard = process.rlimit(FSIZE)

    process.rlimit(FSIZE, (0, hard))
    try:
        full_at, notice = events.wait_for(lambda e: store_notice(e, "error"))
        snapshot = client.status()
        time.sleep(OUTAGE_S)
        cues_while_full = events.since(full_at, "cue")
        hr_while_full = events.since(full_at, "hr")
        log_while_full = service.stderr.text()
    finally:
        process.rlimit(FSIZE, (soft, hard))
    back_at, back = events.wait_for(lambda e: store_notice(e, "info"), RECOVERY_TIMEOUT_S)
    time.sleep(2 * SAMPLE_PERIOD_S)  # a sample or two written the ordinary way again
    assert client.post_json("/api/session/stop").status == 200
    events.wait_for(lambda e: e.name == "state" and e.data["state"] == "stopped")
    time.sleep(2 * RECORDER_FLUSH_S)
    samples = client.get_json(f"/api/sessions/{run_id}/samples")["samples"]
    detail = client.get_json(f"/api/sessions/{run_id}")

    assert "Sessions cannot be saved right now" in notice.data["message"], notice
    assert notice.data in snapshot["notices"]
    assert "Saving works again" in back.data["message"]
    # The person saw the problem and the routine went on: cues and heart rate kept coming.
    assert len(cues_while_full) >= 1 and len(hr_while_full) >= OUTAGE_S - 2
    assert "ERROR companion.service_notices: store: cannot write to the store" in log_while_full
    # The rows held in memory during the outage are reported in the log, and then written.
    assert "rows kept, retry in" in log_while_full
    times = [s["t"] for s in samples]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times[0] < full_at and times[-1] > back_at, (full_at, back_at, times)
    assert max(gaps) < 2 * SAMPLE_PERIOD_S, gaps
    assert detail["outcome"] == "stopped"
    assert service.process.poll() is None


# Starting and stopping the morning routine publishes about 3 kB of events (its session
# event carries the plan's steps); 3,000 cycles give about 9 MB, more than the stalled
# stream's buffers hold (the service's socket send buffer, 4 MB at most here; waitress's
# 1 MB output buffer; the feed queue), so the service must give some events up.
VOLUME_ROUTINE = "morning"
WARM_UP_CYCLES = 200
STALL_CYCLES = 3000
# The stalled tab's socket keeps a small fixed receive buffer, as a sleeping device's
# would fill; on loopback the kernel would otherwise autotune it to hold all the volume.
STALLED_RECEIVE_BUFFER_BYTES = 64 * 1024
# What a stalled stream may cost: its feed queue (the newest 500 events, plans included)
# and an output buffer of about a megabyte for each of the two streams; about 7 MB is
# measured with such buffers. Anything that grows with the 9 MB of volume exceeds it.
MAX_RSS_GROWTH_MB = 12
READ_CYCLES = 2700
MAX_RSS_GROWTH_READING_MB = 5


def cycle(client: ApiClient) -> None:
    client.start_routine(VOLUME_ROUTINE, pain_before=1)
    assert client.post_json("/api/session/stop").status == 200


def warm_up(service: LiveService) -> tuple[ApiClient, psutil.Process]:
    """The service after some routines with nobody watching: its caches and pools full, so
    what grows later grows because of the streams."""
    service.wait_for_band()
    client = service.client()
    for _ in range(WARM_UP_CYCLES):
        cycle(client)
    return client, psutil.Process(service.pid)


def rss_mb(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


def test_a_dashboard_that_stops_reading_neither_stalls_the_others_nor_grows_the_service(
    service: LiveService, event_log: Any
) -> None:
    """A tab left open for hours behind a sleeping screen stops reading its stream while
    the service keeps publishing. What matters is how much is published while it does not
    read, not how long that takes, so the hours are compressed into volume: a thousand
    routines started and stopped, about 33 MB of events, as much as days of heart rate.
    That is more than the kernel's socket buffers and the web server's output buffer can
    hold, so the service has to give up events for the stalled tab (its feed queue keeps
    the newest 500) rather than keep them all. Memory that grew with the
    volume would show as RSS growing by tens of megabytes; what may be kept is bounded by
    small per-stream buffers (MAX_RSS_GROWTH_MB), whatever the volume."""
    client, process = warm_up(service)
    reader = event_log(client)
    stalled = SseReader(client, receive_buffer_bytes=STALLED_RECEIVE_BUFFER_BYTES)
    try:
        first = stalled.next_event()
        assert first is not None and first.name == "status"
        before = rss_mb(process)
        for _ in range(STALL_CYCLES):
            cycle(client)
        after = rss_mb(process)
        last_run = client.start_routine(VOLUME_ROUTINE, pain_before=1)
        assert client.post_json("/api/session/stop").status == 200
        # The reading dashboard saw everything, up to the last routine's end.
        reader.wait_for(
            lambda e: (
                e.name == "state" and e.data["run_id"] == last_run and e.data["state"] == "stopped"
            )
        )
        sessions_seen = len(reader.since(0.0, "session"))
        # The stalled one catches up on what was kept for it, then gets live events again.
        resumed_at = time.time()
        caught_up = stalled.events_until(
            lambda e: e.name == "hr" and e.data["wall"] > resumed_at, EVENT_TIMEOUT_S
        )
        streams = client.status()["streams"]
    finally:
        stalled.close()

    # Both stayed live; the stalled one was given the newest events, not all of them.
    assert sessions_seen == STALL_CYCLES + 1
    caught_up_sessions = [e for e in caught_up if e.name == "session"]
    assert 0 < len(caught_up_sessions) < STALL_CYCLES + 1
    assert streams == 2
    assert after - before < MAX_RSS_GROWTH_MB, (before, after)


def test_an_open_stream_does_not_keep_in_memory_what_it_has_already_sent(
    service: LiveService, event_log: Any
) -> None:
    """A dashboard that reads everything costs the service nothing that grows: after about
    8 MB of events have gone out on one stream and been read, the service holds no more
    memory than before. (Waitress appends a streamed response to one in-memory buffer that
    it only discards after 16 MB, its ``outbuf_high_watermark``, have been written to it;
    with eight dashboards open that is up to 128 MB of bytes already sent.)"""
    client, process = warm_up(service)
    reader = event_log(client)
    reader.wait_for(lambda e: e.name == "status")
    before = rss_mb(process)
    for _ in range(READ_CYCLES):
        cycle(client)
    last_run = client.start_routine(VOLUME_ROUTINE, pain_before=1)
    assert client.post_json("/api/session/stop").status == 200
    reader.wait_for(lambda e: e.name == "state" and e.data["run_id"] == last_run)
    after = rss_mb(process)

    assert len(reader.since(0.0, "session")) == READ_CYCLES + 1
    assert after - before < MAX_RSS_GROWTH_READING_MB, (before, after)
