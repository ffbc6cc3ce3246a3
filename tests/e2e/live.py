"""The real service as a child process, and plain-HTTP clients for its API and event stream.

``start_service`` runs ``companion run --simulate`` (``python -m companion`` from this
checkout, or any other command, e.g. an installed console script) on a port the kernel
picks (``--port 0``: no race with other tests for a "free" port), reads the address it
announces, and waits until the dashboard answers. Its stdout and stderr are read on
threads into memory, never into files, so a drill that limits the service's file sizes
cannot break its own log.
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
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 45.0
STOP_TIMEOUT_S = 20.0
HTTP_TIMEOUT_S = 30.0
CONNECTED_TIMEOUT_S = 30.0
STORE_TIMEOUT_S = 5.0
COOKIE_NAME = "companion_session"
CSRF_HEADER = "X-CSRF-Token"
_ANNOUNCED = re.compile(r"Dashboard: (http://\S+)")
# Variables that would point the child at another data dir or database than the test's.
_ISOLATE = ("COMPANION_DATA_DIR", "COMPANION_DB")


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


@dataclass
class ApiClient:
    """One browser-like client: keeps the session cookie and sends the CSRF token it got
    from ``GET /api/csrf`` on every state-changing request."""

    base_url: str
    bearer: str | None = None
    cookie: str | None = None
    _csrf: str | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.base_url).port or 80

    def connection(self, timeout: float = HTTP_TIMEOUT_S) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def csrf_token(self) -> str:
        if self._csrf is None:
            answer = self.request("GET", "/api/csrf", csrf=False)
            assert answer.status == 200, answer
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
        timeout: float = HTTP_TIMEOUT_S,
    ) -> Answer:
        """``body`` goes as JSON; ``raw`` as given (set the content type in ``headers``).
        ``csrf`` defaults to "for methods that change something". ``path`` is sent as is."""
        if csrf is None:
            csrf = method not in ("GET", "HEAD", "OPTIONS")
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

    def start_routine(self, routine: str, pain_before: int | None = None) -> str:
        answer = self.post_json("/api/session", {"routine": routine, "pain_before": pain_before})
        assert answer.status == 201, answer
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

    def client(self, **options: Any) -> ApiClient:
        return ApiClient(self.url, **options)

    def wait_for_band(self, timeout: float = CONNECTED_TIMEOUT_S) -> None:
        """Until the virtual band is connected and a heart rate has arrived."""
        self.client().wait_until(
            lambda s: (
                s["link"]["state"] in ("connected", "reconnected") and s["heart_rate"] is not None
            ),
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
    """This checkout's companion, run by the interpreter running the tests."""
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
    extra_args: Sequence[str] = (),
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    inherit_env: bool = True,
) -> LiveService:
    """``<command> run --simulate --host H --port 0 --data-dir D``, up and answering."""
    args = [
        *(command or service_command()),
        "run",
        "--simulate",
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
    announced = stdout.wait_for(_ANNOUNCED, START_TIMEOUT_S)
    if announced is None:
        process.kill()
        process.wait(STOP_TIMEOUT_S)
        stdout.join(STOP_TIMEOUT_S)
        stderr.join(STOP_TIMEOUT_S)
        raise AssertionError(
            f"the service did not announce its dashboard within {START_TIMEOUT_S} s "
            f"(exit {process.returncode}):\n{stdout.text()}\n{stderr.text()}"
        )
    # On 0.0.0.0 it announces that address; we still only ever connect over loopback.
    url = announced.group(1).replace("0.0.0.0", "127.0.0.1")
    service = LiveService(process, url, data_dir, stdout, stderr)
    try:
        # Public whether or not the service wants a token: the app is up and answering.
        answer = service.client().request("GET", "/api/openapi.json")
        assert answer.status == 200, answer
    except BaseException:
        service.stop()
        raise
    return service


@contextlib.contextmanager
def running_service(data_dir: Path, **options: Any) -> Iterator[LiveService]:
    service = start_service(data_dir, **options)
    try:
        yield service
    finally:
        service.stop()


@dataclass(frozen=True)
class SseEvent:
    name: str
    data: Any


class SseReader:
    """One ``GET /api/stream`` over a plain socket, read line by line like a browser would;
    a reader that stops calling ``next_event`` stops reading the socket."""

    def __init__(self, client: ApiClient, receive_buffer_bytes: int | None = None) -> None:
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
        self.connection.request("GET", "/api/stream", headers=client.headers(csrf=False))
        self.response = self.connection.getresponse()
        assert self.response.status == 200, self.response.status

    def next_event(self) -> SseEvent | None:
        """The next named event, skipping comments; None when the stream ended."""
        name = "message"
        data: list[str] = []
        while True:
            raw = self.response.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    return SseEvent(name, json.loads("\n".join(data)))
                name = "message"
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)

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
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.hang_up()
        self.response.close()
        self.connection.close()
        self.sock.close()
