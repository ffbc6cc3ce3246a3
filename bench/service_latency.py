"""Heart rate from the band to the dashboard: a notification at the band to its SSE event at a
client of ``GET /api/stream``, measured two ways.

a. service: ``companion run --simulate`` as a subprocess (free port, temporary data dir),
   read by a plain HTTP client in this process. The band's send time is not visible from
   outside, so each event's ``wall`` field stands in for it: BandLink stamps it when the
   notification arrives, a fraction of a millisecond after the band sends it in the same
   process (see bench.ble_latency). Latency = the client's ``time.time()`` at receipt minus
   ``wall``. Events come at the band's own pace, once a second.
b. in-process: the same parts ``run_service`` builds (``open_store``, ``running_core``,
   ``web.create_app``, ``web.server.serve``) in this process, with the virtual band's
   ``notify_subscribers`` wrapped so that every heart-rate notification carries a tag (in its
   energy-expended field) and is timestamped right before it is sent; latency = the SSE
   client's receipt (a thread of this process) minus that stamp. The band's notification
   interval is shortened (``--rate``, 20 a second by default) so a few hundred events take
   seconds, not minutes.

Both run a routine meanwhile (bedtime by default, started again whenever it ends), so the
engine, the recorder and cue events share the loop as they do at the bedside; ``--idle``
leaves it out. Target: p99 under 50 ms.

This module also holds the harness the other service benchmarks share: ``running_service``
(the subprocess), ``Api`` (JSON calls with the CSRF token) and ``EventStream`` (an SSE reader).

    .venv/bin/python -m bench.service_latency [--events 300] [--in-process-events 1000]
        [--rate 20] [--variant both|service|in-process] [--routine bedtime] [--idle]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from bumble.profiles.heart_rate_service import HeartRateService

import companion.ble.virtual_band as virtual_band_module
from bench.common import (
    LOOP_PROBE_INTERVAL_S,
    MS_PER_S,
    GcPauses,
    LoopLagProbe,
    Summary,
    Verdict,
    conditions,
    exit_status,
    judge,
    judge_true,
    ms,
    quiet_logging,
    reproduce,
    table,
)
from companion.ble import uuids
from companion.ble.virtual_band import VirtualBand
from companion.clock import WallClock
from companion.config import Settings
from companion.events import SessionState
from companion.service import Catalogues, Store, open_store, running_core
from companion.session.bridge import SessionBridge
from web import create_app
from web.auth import CSRF_HEADER
from web.server import serve
from web.settings import WebSettings

MODULE = "bench.service_latency"
# What `python -m bench --quick` passes: a check, not figures.
QUICK_ARGS = ("--events", "20", "--in-process-events", "100")
DEFAULT_EVENTS = 300
DEFAULT_IN_PROCESS_EVENTS = 1000
DEFAULT_RATE_HZ = 20.0
DEFAULT_WARMUP = 5
DEFAULT_ROUTINE = "bedtime"
TARGET_P99_MS = 50.0

SERVICE_START_TIMEOUT_S = 60.0
SERVICE_STOP_TIMEOUT_S = 20.0
CONNECT_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 15.0
# How long to wait past the last expected event before giving up on a run.
EVENT_SLACK_S = 60.0
DASHBOARD_PREFIX = "Dashboard: "
SAFE_METHODS = frozenset({"GET", "HEAD"})
IDLE = "idle"

# Tags go in the energy-expended field (uint16); the band's own count stays far below.
TAG_BASE = 10_000
TAG_LIMIT = 0xFFFF
SAMPLE_HR_BPM = 62
SAMPLE_RR_S = 0.968


# --- the harness shared by the service benchmarks ----------------------------------------------


class BenchError(RuntimeError):
    """The service under test did not behave as a benchmark needs (it is not a measurement)."""


def service_command(data_dir: Path, link_args: Sequence[str] = ("--simulate",)) -> list[str]:
    """``companion run --simulate`` on a free loopback port, keeping its data in ``data_dir``
    (``link_args`` replace ``--simulate``, e.g. ``--hci tcp-client:...`` for a band elsewhere)."""
    return [
        sys.executable,
        "-m",
        "companion",
        "run",
        *link_args,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
    ]


class _LineReader:
    """Drains a pipe on a thread of its own (so the child never blocks on a full pipe)."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)

    def wait_for(self, prefix: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise BenchError("the service ended before it announced its dashboard")
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        raise BenchError(f"no {prefix.strip()!r} line from the service within {timeout_s:g} s")


@dataclass(frozen=True)
class ServiceProcess:
    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def db_path(self) -> Path:
        return self.data_dir / "companion.db"

    def api(self) -> Api:
        return Api(self.url)


def _stop_and_close(process: subprocess.Popen[str], reader: _LineReader) -> None:
    """Stop the service, let the reader see the end of its output, then close the pipe."""
    _stop(process)
    reader.join(SERVICE_STOP_TIMEOUT_S)
    if process.stdout is not None:
        process.stdout.close()


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # what Ctrl-C does: the service's own clean stop
    try:
        process.wait(SERVICE_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"the service did not stop within {SERVICE_STOP_TIMEOUT_S:g} s; killed", flush=True)
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_service(
    data_dir: Path | None = None, link_args: Sequence[str] = ("--simulate",)
) -> Iterator[ServiceProcess]:
    """``companion run --simulate`` in a child process until the block ends (then SIGINT).

    Without ``data_dir`` the service keeps its data in a temporary directory, removed after.
    Its log (warnings and errors) goes to ``service.log`` beside the data.
    """
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-svc-")))
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path = data_dir / "service.log"
        log = stack.enter_context(log_path.open("w"))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # announce lines arrive as printed
        process = subprocess.Popen(
            service_command(data_dir, link_args),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
        reader = _LineReader(process.stdout)
        stack.callback(_stop_and_close, process, reader)
        try:
            url = reader.wait_for(DASHBOARD_PREFIX, SERVICE_START_TIMEOUT_S)
        except BenchError:
            _stop(process)
            log.flush()
            print(log_path.read_text()[-4000:], file=sys.stderr)
            raise
        yield ServiceProcess(process=process, url=url, data_dir=data_dir, log_path=log_path)


class Api:
    """JSON calls to the dashboard API as a script on this machine makes them: the session
    cookie kept, and the CSRF token from ``GET /api/csrf`` sent with state-changing calls."""

    def __init__(self, base_url: str, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        parts = urlsplit(base_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"not a dashboard URL: {base_url}")
        self.host: str = parts.hostname
        self.port: int = parts.port
        self._timeout_s = timeout_s
        self._cookie: str | None = None
        self._csrf: str | None = None

    def request(self, method: str, path: str, body: object | None = None) -> tuple[int, bytes]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method not in SAFE_METHODS:
            headers[CSRF_HEADER] = self._csrf_token()
        if self._cookie:
            headers["Cookie"] = self._cookie
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self._timeout_s)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            cookie = response.getheader("Set-Cookie")
            if cookie:
                self._cookie = cookie.split(";", 1)[0]
            return response.status, raw
        finally:
            connection.close()

    def call(self, method: str, path: str, body: object | None = None) -> Any:
        status, raw = self.request(method, path, body)
        if status >= http.HTTPStatus.BAD_REQUEST:
            raise BenchError(f"{method} {path} answered {status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: object | None = None) -> Any:
        return self.call("POST", path, body)

    def _csrf_token(self) -> str:
        if self._csrf is None:
            self._csrf = str(self.call("GET", "/api/csrf")["csrf_token"])
        return self._csrf

    def start_routine(self, routine: str) -> str:
        """Start ``routine``; the new session's id."""
        return str(self.post("/api/session", {"routine": routine, "pain_before": None})["id"])

    def session_state(self) -> str:
        return str(self.get("/api/status")["session"]["state"])

    def wait_connected(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.get("/api/status")["link"]["state"] in ("connected", "reconnected"):
                return
            time.sleep(0.2)
        raise BenchError(f"the service's band link did not connect within {timeout_s:g} s")


def is_final_state(state: str) -> bool:
    """True when no routine is running (none started yet, or the last one has ended)."""
    if state == IDLE:
        return True
    try:
        return SessionState(state).is_final
    except ValueError:
        return False


@dataclass(frozen=True)
class SseEvent:
    kind: str
    data: dict[str, Any]
    received_wall: float
    received_mono: float


class EventStream:
    """``GET /api/stream`` read on the calling thread; ``close()`` from any thread ends it.

    Each event is stamped when the first line of its block is read off the socket."""

    def __init__(self, base_url: str, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        parts = urlsplit(base_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"not a dashboard URL: {base_url}")
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=None)
        self._connect_timeout_s = timeout_s
        self._response: http.client.HTTPResponse | None = None
        self._closed = threading.Event()

    def __enter__(self) -> EventStream:
        self._connection.timeout = self._connect_timeout_s
        self._connection.request("GET", "/api/stream", headers={"Accept": "text/event-stream"})
        response = self._connection.getresponse()
        if response.status != http.HTTPStatus.OK:
            raise BenchError(f"GET /api/stream answered {response.status}")
        if self._connection.sock is not None:
            self._connection.sock.settimeout(None)  # events may be far apart
        self._response = response
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in recv
        self._connection.close()

    def __iter__(self) -> Iterator[SseEvent]:
        if self._response is None:
            raise BenchError("the stream is not open")
        kind = ""
        data: list[str] = []
        stamp: tuple[float, float] | None = None
        while not self._closed.is_set():
            try:
                raw = self._response.readline()
            except (OSError, ValueError, http.client.HTTPException):
                return
            if not raw:
                return
            if stamp is None:
                stamp = (time.time(), time.monotonic())
            line = raw.decode().rstrip("\r\n")
            if line:
                name, _, value = line.partition(":")
                if name == "event":
                    kind = value.strip()
                elif name == "data":
                    data.append(value.removeprefix(" "))
                continue
            if data:
                yield SseEvent(kind or "message", json.loads("\n".join(data)), *stamp)
            kind, data, stamp = "", [], None


class RoutineCycler:
    """Starts the given routines in turn, each as soon as the one before has ended (at most
    ``limit`` of them), driven by the ``state`` events of a stream; starts run on threads of
    their own so the stream's reader never waits on a request."""

    def __init__(self, api: Api, routines: Sequence[str], limit: int | None = None) -> None:
        self._api = api
        self._routines = tuple(routines)
        self._limit = limit
        self._lock = threading.Lock()
        self._starting = False
        self.started: list[tuple[str, str]] = []  # (routine, session id)
        self.ended = 0
        self.all_ended = threading.Event()
        self.failures: list[str] = []
        self.stopped = False
        self.running_id: str | None = None

    @property
    def session_ids(self) -> list[str]:
        with self._lock:
            return [session_id for _, session_id in self.started]

    def start_next(self) -> None:
        with self._lock:
            attempts = len(self.started) + len(self.failures)
            if self.stopped or self._starting or not self._routines:
                return
            if self._limit is not None and attempts >= self._limit:
                return
            self._starting = True
            routine = self._routines[attempts % len(self._routines)]
        threading.Thread(target=self._start, args=(routine,), daemon=True).start()

    def _start(self, routine: str) -> None:
        session_id = None
        try:
            session_id = self._api.start_routine(routine)
        except (BenchError, OSError) as error:
            self.failures.append(f"{routine}: {error}")
        with self._lock:
            self._starting = False
            if session_id is not None:
                self.started.append((routine, session_id))
                self.running_id = session_id
        if session_id is None:
            self.all_ended.set()  # nothing more will happen on its own

    def on_event(self, event: SseEvent) -> None:
        if event.kind != "state" or not is_final_state(str(event.data.get("state"))):
            return
        with self._lock:
            if event.data.get("run_id") != self.running_id:
                return
            self.running_id = None
            self.ended += 1
            done = self._limit is not None and self.ended >= self._limit
        if done:
            self.all_ended.set()
        else:
            self.start_next()

    def stop(self) -> None:
        """Start nothing more."""
        with self._lock:
            self.stopped = True


class StreamThread:
    """A dashboard left open: reads ``GET /api/stream`` on a thread of its own and hands each
    event to ``on_event``; counts events by kind."""

    def __init__(self, url: str, on_event: Callable[[SseEvent], None]) -> None:
        self._url = url
        self._on_event = on_event
        self._stream = EventStream(url)
        self._opened = threading.Event()
        self.counts: dict[str, int] = {}
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bench-dashboard", daemon=True)

    def _run(self) -> None:
        try:
            with self._stream as stream:
                self._opened.set()
                for event in stream:
                    self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
                    self._on_event(event)
        except BaseException as error:  # reported by the owner, on its thread
            self.error = error
        finally:
            self._opened.set()

    def __enter__(self) -> StreamThread:
        self._thread.start()
        if not self._opened.wait(HTTP_TIMEOUT_S) or self.error is not None:
            raise BenchError(f"the dashboard stream did not open: {self.error!r}")
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._stream.close()
        self._thread.join(HTTP_TIMEOUT_S)


# --- a. the service as a subprocess ------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRun:
    latencies_s: list[float]
    wall_minus_mono_drift_s: float
    sessions: int


def measure_service(events: int, warmup: int, routine: str | None) -> ServiceRun:
    latencies: list[float] = []
    offset_before = time.time() - time.monotonic()
    with running_service() as service:
        api = service.api()
        api.wait_connected()
        cycler = RoutineCycler(api, [routine] if routine else [])
        deadline = time.monotonic() + (events + warmup) * 1.0 + EVENT_SLACK_S
        with EventStream(service.url) as stream:
            # If no event comes at all, the watchdog closes the stream rather than hang.
            watchdog = threading.Timer(max(1.0, deadline - time.monotonic()), stream.close)
            watchdog.daemon = True
            watchdog.start()
            cycler.start_next()
            seen = 0
            try:
                for event in stream:
                    cycler.on_event(event)
                    if event.kind != "hr":
                        continue
                    seen += 1
                    if seen > warmup:
                        latencies.append(event.received_wall - float(event.data["wall"]))
                    if len(latencies) >= events:
                        break
            finally:
                watchdog.cancel()
                cycler.stop()
        if cycler.failures:
            raise BenchError(f"routines did not start: {cycler.failures}")
    if len(latencies) < events:
        raise BenchError(f"only {len(latencies)} of {events} heart-rate events arrived")
    drift = (time.time() - time.monotonic()) - offset_before
    return ServiceRun(latencies, drift, len(cycler.session_ids))


# --- b. in one process, stamped at the band ----------------------------------------------------


def _tagged_measurement(tag: int) -> bytes:
    # Encoded with Bumble's codec, as the virtual band encodes its own packets.
    return bytes(
        HeartRateService.HeartRateMeasurement(
            heart_rate=SAMPLE_HR_BPM,
            sensor_contact_detected=True,
            energy_expended=tag,
            rr_intervals=[SAMPLE_RR_S],
        )
    )


@dataclass
class NotifyStamps:
    """The monotonic time each tagged notification was handed to Bumble, by tag."""

    sent_mono: dict[int, float] = field(default_factory=dict)
    _count: int = 0

    def next_tag(self) -> int:
        tag = TAG_BASE + self._count % (TAG_LIMIT - TAG_BASE)
        self._count += 1
        return tag


def stamp_notifications(band: VirtualBand, stamps: NotifyStamps) -> Callable[[], None]:
    """Wrap the band's ``notify_subscribers`` (bench only): each heart-rate notification is
    sent as a tagged packet and timestamped right before it goes. Returns the undo."""
    device = band._device  # the band keeps its Bumble device private; the bench reaches in
    original = device.notify_subscribers

    async def stamped(attribute: Any, value: Any = None, force: bool = False) -> None:
        if getattr(attribute, "uuid", None) != uuids.HEART_RATE_MEASUREMENT:
            await original(attribute, value, force)
            return
        tag = stamps.next_tag()
        packet = _tagged_measurement(tag)
        stamps.sent_mono[tag] = time.monotonic()
        await original(attribute, packet, force)

    device.notify_subscribers = stamped  # type: ignore[method-assign]

    def undo() -> None:
        device.notify_subscribers = original  # type: ignore[method-assign]

    return undo


@dataclass
class _TaggedReader:
    """The SSE client: a thread that keeps each tagged heart-rate event's receipt time."""

    url: str
    wanted: int
    # tag -> (monotonic receipt, the event's wall field)
    received: dict[int, tuple[float, float]] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _stream: EventStream | None = None

    def run(self) -> None:
        try:
            with EventStream(self.url) as stream:
                self._stream = stream
                for event in stream:
                    if event.kind != "hr":
                        continue
                    tag = event.data.get("energy_kj")
                    if isinstance(tag, int) and tag >= TAG_BASE:
                        wall = float(event.data["wall"])
                        self.received[tag] = (event.received_mono, wall)
                        if len(self.received) >= self.wanted:
                            break
        except BaseException as error:  # reported by the caller, on its thread
            self.error = error
        finally:
            self.done.set()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.close()


@dataclass(frozen=True)
class InProcessRun:
    band_to_sse_s: list[float]
    band_to_link_s: list[float]
    lost: int
    rate_hz: float
    loop_lags_s: list[float]
    gc: str = ""


async def _in_process(
    settings: Settings, store: Store, events: int, warmup: int, routine: str | None, rate: float
) -> InProcessRun:
    catalogues = Catalogues.load(settings)
    stamps = NotifyStamps()
    async with running_core(settings, catalogues, store) as (core, stack):
        if stack.band is None:
            raise BenchError("the simulated link came without its virtual band")
        if not await stack.link.async_wait_connected(CONNECT_TIMEOUT_S):
            raise BenchError("the link never reached the virtual band")
        undo = stamp_notifications(stack.band, stamps)
        app = create_app(
            SessionBridge(core, asyncio.get_running_loop()),
            store_engine=store.engine,
            settings=WebSettings(),
        )
        server = await asyncio.to_thread(serve, app, "127.0.0.1", 0)
        reader = _TaggedReader(server.url, events + warmup)
        thread = threading.Thread(target=reader.run, name="bench-sse-client", daemon=True)
        probe = LoopLagProbe()
        try:
            probe.start()
            thread.start()
            if routine:
                await core.start_session(routine, pain_before=None)
            timeout = (events + warmup) / rate + EVENT_SLACK_S
            if not await asyncio.to_thread(reader.done.wait, timeout):
                raise BenchError(f"the SSE client had {len(reader.received)} events")
            if reader.error is not None:
                raise BenchError(f"the SSE client failed: {reader.error!r}")
        finally:
            await probe.stop()
            reader.stop()
            await asyncio.to_thread(thread.join, HTTP_TIMEOUT_S)
            await asyncio.to_thread(server.close)
            undo()
        clock: WallClock = core.clock
    # In the order the band sent them: tags the client read, past the warm-up.
    sent = sorted(stamps.sent_mono.items(), key=lambda item: item[1])
    read = [(i, tag, at) for i, (tag, at) in enumerate(sent) if tag in reader.received]
    measured = read[warmup : warmup + events]
    if not measured:
        raise BenchError("no tagged heart-rate event reached the SSE client")
    # Sent between the first and last measured event but never read: dropped on the way.
    lost = measured[-1][0] - measured[0][0] + 1 - len(measured)
    to_sse = [reader.received[tag][0] - at for _, tag, at in measured]
    # The event's wall field is the link's stamp on the core's clock: the same scale here.
    to_link = [reader.received[tag][1] - clock.wall_at(at) for _, tag, at in measured]
    return InProcessRun(to_sse, to_link, lost, rate, probe.lags_s)


def measure_in_process(
    events: int, warmup: int, routine: str | None, rate_hz: float
) -> InProcessRun:
    interval = virtual_band_module.NOTIFY_INTERVAL_S
    virtual_band_module.NOTIFY_INTERVAL_S = 1.0 / rate_hz  # bench only: a faster band
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sse-") as data_dir:
            settings = Settings.build(data_dir=Path(data_dir), simulate=True)
            with open_store(settings) as store, GcPauses().watching() as pauses:
                run = asyncio.run(_in_process(settings, store, events, warmup, routine, rate_hz))
            return dataclasses.replace(run, gc=pauses.describe())
    finally:
        virtual_band_module.NOTIFY_INTERVAL_S = interval


# --- reporting ---------------------------------------------------------------------------------


def _row(name: str, seconds: Sequence[float], note: str) -> list[str]:
    s = Summary.of([x * MS_PER_S for x in seconds])
    return [name, str(s.count), ms(s.p50), ms(s.p99), ms(s.max), ms(s.mean), note]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--events", type=int, default=DEFAULT_EVENTS, help="events measured from the service"
    )
    parser.add_argument(
        "--in-process-events",
        type=int,
        default=DEFAULT_IN_PROCESS_EVENTS,
        help="events measured in one process",
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE_HZ, help="in-process notifications a second"
    )
    parser.add_argument(
        "--warmup", type=int, default=DEFAULT_WARMUP, help="first events not counted"
    )
    parser.add_argument(
        "--variant", choices=("both", "service", "in-process"), default="both", help="which runs"
    )
    parser.add_argument(
        "--routine", default=DEFAULT_ROUTINE, help="the routine run meanwhile, again and again"
    )
    parser.add_argument("--idle", action="store_true", help="run no routine meanwhile")
    args = parser.parse_args(argv)
    if args.events < 1 or args.in_process_events < 1 or args.warmup < 0:
        parser.error("event counts must be at least 1 and --warmup at least 0")
    if not 0 < args.rate <= 100:
        parser.error("--rate must be within (0, 100]")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    routine = None if args.idle else args.routine
    rows: list[list[str]] = []
    notes: list[str] = []
    p99s: list[tuple[str, float]] = []
    delivered: list[Verdict] = []
    if args.variant in ("both", "service"):
        run = measure_service(args.events, args.warmup, routine)
        rows.append(
            _row(
                "service subprocess: BandLink stamp (wall) -> SSE client",
                run.latencies_s,
                "1 event/s",
            )
        )
        p99s.append(("service", Summary.of(run.latencies_s).p99 * MS_PER_S))
        notes.append(
            f"Wall clock against the monotonic clock moved {run.wall_minus_mono_drift_s * 1e3:+.3f}"
            " ms over the service run (the error the wall-time method could carry)"
        )
    if args.variant in ("both", "in-process"):
        inproc = measure_in_process(args.in_process_events, args.warmup, routine, args.rate)
        rows.append(
            _row(
                "in-process: band notify -> SSE client",
                inproc.band_to_sse_s,
                f"{inproc.rate_hz:g} events/s, {inproc.lost} lost",
            )
        )
        rows.append(
            _row("in-process: band notify -> BandLink stamp", inproc.band_to_link_s, "one leg")
        )
        delivered.append(
            judge_true(
                MODULE,
                "no heart-rate event lost on the way",
                inproc.lost == 0,
                f"{inproc.lost} lost",
            )
        )
        p99s.append(("in-process, from the band", Summary.of(inproc.band_to_sse_s).p99 * MS_PER_S))
        lag = Summary.of([x * MS_PER_S for x in inproc.loop_lags_s])
        notes.append(
            f"In-process core loop wake-up lag (a probe sleeping to deadlines "
            f"{LOOP_PROBE_INTERVAL_S:g} s apart, {lag.count} wake-ups): p50 {ms(lag.p50)} ms, "
            f"p99 {ms(lag.p99)} ms, max {ms(lag.max)} ms"
        )
        notes.append(f"In-process garbage collector: {inproc.gc}")
    command = [
        "--events", str(args.events), "--in-process-events", str(args.in_process_events),
        "--rate", f"{args.rate:g}", "--warmup", str(args.warmup), "--variant", args.variant,
    ]  # fmt: skip
    command += ["--idle"] if args.idle else ["--routine", args.routine]
    during = "idle (no routine)" if args.idle else f"while {args.routine} runs back to back"
    print(f"Heart rate, band -> dashboard stream (GET /api/stream), {during}")
    print(table(["path", "events", "p50 ms", "p99 ms", "max ms", "mean ms", "note"], rows))
    for note in notes:
        print(note)
    print(f"Conditions: {conditions(False)}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    verdicts = [
        judge(MODULE, f"heart rate to the dashboard p99 ({path})", p99, TARGET_P99_MS, "ms")
        for path, p99 in p99s
    ]
    return exit_status(verdicts + delivered)


if __name__ == "__main__":
    raise SystemExit(main())
