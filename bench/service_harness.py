"""The real service as a child process, and plain-HTTP clients for its API and event stream:
the one harness the end-to-end tests (tests/e2e, tests/drills) and the service benchmarks
(bench.service_latency, bench.soak, bench.footprint, bench.history) share.

``start_service`` runs ``companion run --simulate`` (``python -m companion`` from this
checkout, or any other command, e.g. an installed console script) on a port the kernel
picks (``--port 0``: no race for a "free" port), reads the address it announces, and waits
until the dashboard answers. Its stdout and stderr are read on threads into memory, never
into files, so a drill that limits the service's file sizes cannot break its own log.
``ApiClient`` calls the API as a browser does (session cookie, CSRF token); ``SseReader``
reads ``GET /api/stream`` line by line, stamping each event as it arrives; ``StreamThread``
keeps one open on a thread of its own, and ``RoutineCycler`` starts routines back to back
from what that stream says.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from companion.events import SessionState

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 45.0
STOP_TIMEOUT_S = 20.0
HTTP_TIMEOUT_S = 30.0
CONNECTED_TIMEOUT_S = 30.0
STORE_TIMEOUT_S = 5.0
COOKIE_NAME = "companion_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANNOUNCED = re.compile(r"Dashboard: (http://\S+)")
IDLE = "idle"
LINKED_STATES = ("connected", "reconnected")
# Variables that would point the child at another data dir or database than ours.
_ISOLATE = ("COMPANION_DATA_DIR", "COMPANION_DB")


class ServiceError(RuntimeError):
    """The service did not behave as the caller needs (an answer it refused, a stream that
    did not open); benchmarks report it as a failed run, never as a measurement."""


class OutputLines:
    """Lines of a child's pipe, collected on a daemon thread as they come."""

    def __init__(self, pipe: Any, name: str) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._read, args=(pipe,), name=name, daemon=True)
        self._thread.start()

    def _read(self, pipe: Any) -> None:
        with contextlib.closing(pipe):
            for line in pipe:
                with self._changed:
                    self._lines.append(line.rstrip("\n"))
                    self._changed.notify_all()

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def text(self) -> str:
        return "\n".join(self.lines())

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str] | None:
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self._lines[seen:]:
                    if found := pattern.search(line):
                        return found
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return None
                self._changed.wait(min(left, 0.2))

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A response header by name, in any case (servers differ in how they spell them)."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


def is_final_state(state: str) -> bool:
    """True when no routine is running (none started yet, or the last one has ended)."""
    if state == IDLE:
        return True
    try:
        return SessionState(state).is_final
    except ValueError:
        return False


@dataclass
class ApiClient:
    """One browser-like client: keeps the session cookie and sends the CSRF token it got
    from ``GET /api/csrf`` on every state-changing request."""

    base_url: str
    bearer: str | None = None
    cookie: str | None = None
    timeout_s: float = HTTP_TIMEOUT_S
    _csrf: str | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.base_url).port or 80

    def connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout_s)

    def csrf_token(self) -> str:
        if self._csrf is None:
            answer = self.request("GET", "/api/csrf", csrf=False)
            if answer.status != http.HTTPStatus.OK:
                raise ServiceError(f"GET /api/csrf answered {answer.status}: {answer.body!r}")
            self._csrf = str(answer.json()["csrf_token"])
        return self._csrf

    def headers(self, *, csrf: bool) -> dict[str, str]:
        token = self.csrf_token() if csrf else None  # first: it may set the cookie
        sent: dict[str, str] = {}
        if self.cookie is not None:
            sent["Cookie"] = f"{COOKIE_NAME}={self.cookie}"
        if token is not None:
            sent[CSRF_HEADER] = token
        if self.bearer is not None:
            sent["Authorization"] = f"Bearer {self.bearer}"
        return sent

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        csrf: bool | None = None,
        timeout: float | None = None,
    ) -> Answer:
        """``body`` goes as JSON; ``raw`` as given (set the content type in ``headers``).
        ``csrf`` defaults to "for methods that change something". ``path`` is sent as is."""
        if csrf is None:
            csrf = method not in SAFE_METHODS
        sent = self.headers(csrf=csrf)
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            data = response.read()
            self._keep_cookie(response.getheader("Set-Cookie"))
            return Answer(response.status, dict(response.getheaders()), data)
        finally:
            conn.close()

    def _keep_cookie(self, header: str | None) -> None:
        if header and header.startswith(COOKIE_NAME + "="):
            self.cookie = header.split(";", 1)[0].split("=", 1)[1]

    # --- JSON calls that must succeed --------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer; a refusal (4xx/5xx) is a ``ServiceError`` naming it."""
        answer = self.request(method, path, body, headers={"Accept": "application/json"})
        if answer.status >= http.HTTPStatus.BAD_REQUEST:
            raise ServiceError(f"{method} {path} answered {answer.status}: {answer.body[:300]!r}")
        return answer.json() if answer.body else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, body)

    def get_json(self, path: str) -> Any:
        answer = self.request("GET", path)
        assert answer.status == 200, (path, answer)
        return answer.json()

    def post_json(self, path: str, body: Any = None) -> Answer:
        return self.request("POST", path, body)

    def status(self) -> dict[str, Any]:
        found = self.get_json("/api/status")
        assert isinstance(found, dict)
        return found

    def session_state(self) -> str:
        return str(self.get("/api/status")["session"]["state"])

    def start_routine(self, routine: str, pain_before: int | None = None) -> str:
        """Start ``routine``; the new session's id."""
        answer = self.post_json("/api/session", {"routine": routine, "pain_before": pain_before})
        if answer.status != http.HTTPStatus.CREATED:
            raise ServiceError(f"starting {routine} answered {answer.status}: {answer.body!r}")
        return str(answer.json()["id"])

    def wait_for_session(
        self, run_id: str, outcome: str, timeout: float = STORE_TIMEOUT_S
    ) -> dict[str, Any]:
        """The stored session once it has ``outcome``: the recorder commits within about half
        a second, so a page or export asked for at once may not show it yet."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.request("GET", f"/api/sessions/{run_id}")
            if answer.status == 200 and answer.json()["outcome"] == outcome:
                found: dict[str, Any] = answer.json()
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"session {run_id} not stored as {outcome}: {answer}")
            time.sleep(0.1)

    def wait_until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        """Poll ``/api/status`` until ``predicate`` holds; the matching snapshot."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.status()
            if predicate(snapshot):
                return snapshot
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}: {snapshot}")
            time.sleep(0.1)

    def wait_connected(self, timeout: float = CONNECTED_TIMEOUT_S) -> None:
        """Until the band link is connected."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get("/api/status")["link"]["state"] in LINKED_STATES:
                return
            time.sleep(0.2)
        raise ServiceError(f"the service's band link did not connect within {timeout:g} s")


@dataclass
class LiveService:
    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    stdout: OutputLines
    stderr: OutputLines

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def db_path(self) -> Path:
        return self.data_dir / "companion.db"

    def client(self, **options: Any) -> ApiClient:
        return ApiClient(self.url, **options)

    def api(self) -> ApiClient:
        return self.client()

    def wait_for_band(self, timeout: float = CONNECTED_TIMEOUT_S) -> None:
        """Until the virtual band is connected and a heart rate has arrived."""
        self.client().wait_until(
            lambda s: s["link"]["state"] in LINKED_STATES and s["heart_rate"] is not None,
            timeout,
            "the virtual band and a first heart rate",
        )

    def stop(self) -> int:
        """SIGTERM, as a service manager would; SIGKILL if it does not end in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        self._drain()
        return self.process.returncode

    def kill(self) -> float:
        """SIGKILL now; the wall time it was sent."""
        killed_at = time.time()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT_S)
        self._drain()
        return killed_at

    def _drain(self) -> None:
        self.stdout.join(STOP_TIMEOUT_S)
        self.stderr.join(STOP_TIMEOUT_S)

    def log(self) -> str:
        return f"--- stdout ---\n{self.stdout.text()}\n--- stderr ---\n{self.stderr.text()}"


def service_command() -> list[str]:
    """This checkout's companion, run by the interpreter running the caller."""
    return [sys.executable, "-m", "companion"]


def child_env(extra: Mapping[str, str] | None = None, *, inherit: bool = True) -> dict[str, str]:
    """Our environment (less what would move the data) or, with ``inherit=False``, only
    ``extra``; either way unbuffered, so the announced address reaches us at once."""
    env = {k: v for k, v in os.environ.items() if inherit and k not in _ISOLATE}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def start_service(
    data_dir: Path,
    *,
    command: Sequence[str] | None = None,
    host: str = "127.0.0.1",
    link_args: Sequence[str] = ("--simulate",),
    extra_args: Sequence[str] = (),
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    inherit_env: bool = True,
) -> LiveService:
    """``<command> run <link_args> --host H --port 0 --data-dir D``, up and answering
    (``link_args`` replace ``--simulate``, e.g. ``--hci tcp-client:...`` for a band elsewhere)."""
    args = [
        *(command or service_command()),
        "run",
        *link_args,
        "--host",
        host,
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *extra_args,
    ]
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=child_env(env, inherit=inherit_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout = OutputLines(process.stdout, "service-stdout")
    stderr = OutputLines(process.stderr, "service-stderr")
    announced = stdout.wait_for(ANNOUNCED, START_TIMEOUT_S)
    if announced is None:
        process.kill()
        process.wait(STOP_TIMEOUT_S)
        stdout.join(STOP_TIMEOUT_S)
        stderr.join(STOP_TIMEOUT_S)
        raise ServiceError(
            f"the service did not announce its dashboard within {START_TIMEOUT_S} s "
            f"(exit {process.returncode}):\n{stdout.text()}\n{stderr.text()}"
        )
    # On 0.0.0.0 it announces that address; we still only ever connect over loopback.
    url = announced.group(1).replace("0.0.0.0", "127.0.0.1")
    service = LiveService(process, url, data_dir, stdout, stderr)
    try:
        # Public whether or not the service wants a token: the app is up and answering.
        answer = service.client().request("GET", "/api/openapi.json")
        if answer.status != http.HTTPStatus.OK:
            raise ServiceError(f"GET /api/openapi.json answered {answer.status}")
    except BaseException:
        service.stop()
        raise
    return service


@contextlib.contextmanager
def running_service(data_dir: Path | None = None, **options: Any) -> Iterator[LiveService]:
    """``start_service`` until the block ends, then ``stop``; without ``data_dir``, on a
    temporary one removed afterwards."""
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="svc-")))
        service = start_service(data_dir, **options)
        try:
            yield service
        finally:
            service.stop()


# --- the event stream ------------------------------------------------------------------------


@dataclass(frozen=True)
class SseEvent:
    name: str
    data: Any
    # When the first line of its block was read off the socket.
    received_wall: float = 0.0
    received_mono: float = 0.0


class SseReader:
    """One ``GET /api/stream`` over a plain socket, read line by line like a browser would;
    a reader that stops calling ``next_event`` stops reading the socket. ``hang_up`` from any
    thread ends a read in progress. ``read_timeout_s=None`` waits for events however far
    apart they come."""

    def __init__(
        self,
        client: ApiClient,
        receive_buffer_bytes: int | None = None,
        read_timeout_s: float | None = HTTP_TIMEOUT_S,
    ) -> None:
        self.connection = client.connection()
        # Our own socket, so a thread blocked reading it can be woken by hang_up().
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer_bytes is not None:
            # Set before connecting: a fixed buffer turns off the kernel's autotuning,
            # which on loopback would otherwise hold tens of MB for a reader that stalls.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
        self.sock.settimeout(HTTP_TIMEOUT_S)
        self.sock.connect((client.host, client.port))
        self.connection.sock = self.sock
        headers = {**client.headers(csrf=False), "Accept": "text/event-stream"}
        self.connection.request("GET", "/api/stream", headers=headers)
        self.response = self.connection.getresponse()
        if self.response.status != http.HTTPStatus.OK:
            status = self.response.status
            self.close()
            raise ServiceError(f"GET /api/stream answered {status}")
        self.sock.settimeout(read_timeout_s)
        self._hung_up = False

    def next_event(self) -> SseEvent | None:
        """The next named event, skipping comments; None when the stream ended."""
        name = "message"
        data: list[str] = []
        stamp: tuple[float, float] | None = None
        while True:
            try:
                raw = self.response.readline()
            except (OSError, ValueError, http.client.HTTPException):
                if self._hung_up:
                    return None  # hung up by us, from another thread
                raise
            if not raw:
                return None
            if stamp is None:
                stamp = (time.time(), time.monotonic())
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    return SseEvent(name, json.loads("\n".join(data)), *stamp)
                name, stamp = "message", None
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)

    def __iter__(self) -> Iterator[SseEvent]:
        while (event := self.next_event()) is not None:
            yield event

    def events_until(self, predicate: Callable[[SseEvent], bool], timeout: float) -> list[SseEvent]:
        """Events read until one satisfies ``predicate`` (included); fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        seen: list[SseEvent] = []
        while time.monotonic() < deadline:
            event = self.next_event()
            if event is None:
                raise AssertionError(f"the stream ended after {[e.name for e in seen]}")
            seen.append(event)
            if predicate(event):
                return seen
        raise AssertionError(f"no matching event within {timeout} s: {[e.name for e in seen]}")

    def hang_up(self) -> None:
        """End the connection under a thread that may be reading it: its read sees the end."""
        self._hung_up = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.hang_up()
        self.response.close()
        self.connection.close()
        self.sock.close()


class StreamThread:
    """A dashboard left open: reads ``GET /api/stream`` on a thread of its own and hands each
    event to ``on_event``; counts events by name."""

    def __init__(self, url: str, on_event: Callable[[SseEvent], None]) -> None:
        self._client = ApiClient(url)
        self._on_event = on_event
        self._reader: SseReader | None = None
        self._opened = threading.Event()
        self._closing = threading.Event()
        self.counts: dict[str, int] = {}
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="dashboard-stream", daemon=True)

    def _run(self) -> None:
        try:
            self._reader = SseReader(self._client, read_timeout_s=None)
            self._opened.set()
            for event in self._reader:
                self.counts[event.name] = self.counts.get(event.name, 0) + 1
                self._on_event(event)
            if not self._closing.is_set():
                raise ServiceError("the service ended the dashboard stream")
        except BaseException as error:  # reported by the owner, on its thread
            self.error = error
        finally:
            self._opened.set()

    def __enter__(self) -> StreamThread:
        self._thread.start()
        if not self._opened.wait(HTTP_TIMEOUT_S) or self.error is not None:
            raise ServiceError(f"the dashboard stream did not open: {self.error!r}")
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._closing.set()
        if self._reader is not None:
            self._reader.hang_up()
        self._thread.join(HTTP_TIMEOUT_S)
        if self._reader is not None:
            self._reader.close()


class RoutineCycler:
    """Starts the given routines in turn, each as soon as the one before has ended (at most
    ``limit`` of them), driven by the ``state`` events of a stream; starts run on threads of
    their own so the stream's reader never waits on a request."""

    def __init__(self, api: ApiClient, routines: Sequence[str], limit: int | None = None) -> None:
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
        except (ServiceError, OSError) as error:
            self.failures.append(f"{routine}: {error}")
        with self._lock:
            self._starting = False
            if session_id is not None:
                self.started.append((routine, session_id))
                self.running_id = session_id
        if session_id is None:
            self.all_ended.set()  # nothing more will happen on its own

    def on_event(self, event: SseEvent) -> None:
        if event.name != "state" or not is_final_state(str(event.data.get("state"))):
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
