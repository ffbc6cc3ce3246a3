"""Hostile input against the real service: generated requests from its own OpenAPI
description (schemathesis), then a table of hand-made nasty ones."""

from __future__ import annotations

import contextlib
import re
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from companion.routines.catalog import built_in_routines, load_catalog
from tests.e2e.live import CSRF_HEADER, LiveService, running_service
from web.openapi import openapi_document

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Small enough that every operation together finishes in about two minutes.
MAX_EXAMPLES = 30
SCAN_PATH = "/api/devices/scan"
SHORTEST_SCAN_S = 1
LONGEST_SCAN_S = 20


@pytest.fixture(scope="module")
def hostile_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """One service for the whole module: what the generated requests change (settings,
    chosen band) stays within it."""
    with running_service(tmp_path_factory.mktemp("hostile") / "data") as live:
        live.wait_for_band()
        yield live


@pytest.fixture(scope="module")
def browser_session(hostile_service: LiveService) -> Iterator[requests.Session]:
    """What a dashboard page holds: the session cookie and its CSRF token on every request."""
    with requests.Session() as session:
        answer = session.get(hostile_service.url + "/api/csrf", timeout=10)
        answer.raise_for_status()
        session.headers[CSRF_HEADER] = answer.json()["csrf_token"]
        yield session


# The description as the service serves it to the dashboard, built here so pytest can make
# one test per operation before any server runs: a fresh data dir has the built-in routines
# only, so those are the names a generated start or reminder may use. The first test checks
# the live service serves exactly this.
BUILT_IN_NAMES = sorted(built_in_routines(load_catalog()))
DESCRIPTION = openapi_document(routine_names=BUILT_IN_NAMES)
PATTERN_SCHEMA = DESCRIPTION["components"]["schemas"]["Pattern"]
# The stream never ends, by design; everything else is fair game.
schema = schemathesis.openapi.from_dict(DESCRIPTION).exclude(path="/api/stream")


def test_the_service_serves_the_description_the_generated_requests_come_from(
    hostile_service: LiveService,
) -> None:
    client = hostile_service.client()
    names = sorted(r["name"] for r in client.get_json("/api/routines"))

    assert names == BUILT_IN_NAMES
    assert client.get_json("/api/openapi.json") == DESCRIPTION
    assert DESCRIPTION["components"]["schemas"]["RoutineName"]["enum"] == names


def keep_scans_short(case: Any) -> None:
    """A valid scan listens for up to 20 s; the shortest valid one tests the same code.
    Values outside the range are left alone: they must be refused, and are, at once."""
    body = case.body
    if case.path != SCAN_PATH or not isinstance(body, dict):
        return
    timeout = body.get("timeout_s")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        return
    if SHORTEST_SCAN_S < timeout <= LONGEST_SCAN_S:
        body["timeout_s"] = SHORTEST_SCAN_S


# Trimmed first when a generated breath is too long: holds, then the breath out, then in.
TRIM_ORDER = ("hold_out_s", "hold_in_s", "exhale_s", "inhale_s")
# Aim this far inside the allowed breath length, clear of rounding at the edge.
RATE_MARGIN_S = 0.5


def keep_breaths_in_rate(case: Any, pattern_schema: dict[str, Any]) -> None:
    """The one rule JSON Schema cannot state (the description gives it as
    x-breaths-per-minute): the phases of a breath together make so many breaths a minute.
    A generated pattern whose every phase is in range but whose breath is too short or long
    is brought within the rule by moving its phases inside their own ranges. Anything else
    is left as generated: if it breaks the schema, the server must refuse it anyway."""
    body = case.body
    if case.path != "/api/settings" or not isinstance(body, dict):
        return
    pattern = body.get("pattern")
    fields = pattern_schema["properties"]
    if not isinstance(pattern, dict) or not set(pattern) <= set(fields):
        return
    for name, value in pattern.items():
        number = not isinstance(value, bool) and isinstance(value, int | float)
        if not number or not fields[name]["minimum"] <= value <= fields[name]["maximum"]:
            return
    rule = pattern_schema["x-breaths-per-minute"]
    shortest, longest = 60 / rule["maximum"], 60 / rule["minimum"]
    phases = {name: float(pattern.get(name, field["default"])) for name, field in fields.items()}
    breath = sum(phases.values())
    if breath < shortest:
        pattern["exhale_s"] = phases["exhale_s"] + shortest - breath + RATE_MARGIN_S
    elif breath > longest:
        excess = breath - longest + RATE_MARGIN_S
        for name in TRIM_ORDER:
            cut = min(excess, phases[name] - fields[name]["minimum"])
            pattern[name] = phases[name] - cut
            excess -= cut


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_generated_requests_get_described_answers_and_never_a_server_error(
    case: Any, hostile_service: LiveService, browser_session: requests.Session
) -> None:
    """Every check on, for every operation: schema-valid requests are accepted (no ST202),
    schema-invalid ones refused, and nothing answers with a server error."""
    keep_scans_short(case)
    keep_breaths_in_rate(case, PATTERN_SCHEMA)
    response = case.call_and_validate(base_url=hostile_service.url, session=browser_session)
    if case.path == "/api/session" and response.status_code == 201:
        # A generated name matched a routine: end it rather than leave it running.
        stop = browser_session.post(hostile_service.url + "/api/session/stop", timeout=10)
        assert stop.status_code == 200, stop.text


# --- hand-made requests ---------------------------------------------------------------------

BODY_LIMIT = 16 * 1024
TOO_DEEP = 5_000  # nested arrays: past Python's recursion limit, inside the size limit
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Nasty:
    """One request and the refusal it must get: a JSON body with an "error" message."""

    name: str
    method: str
    path: str
    status: int
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    csrf: bool | None = None


NASTY = [
    Nasty("oversized body", "POST", "/api/session", 413,
          raw=b'{"routine": "' + b"x" * BODY_LIMIT + b'"}', headers=JSON),
    Nasty("malformed JSON", "POST", "/api/session", 400, raw=b'{"routine": ', headers=JSON),
    Nasty("JSON that is not an object", "POST", "/api/session", 400, raw=b'["taster"]',
          headers=JSON),
    Nasty("JSON nested past the recursion limit", "PUT", "/api/settings", 400,
          raw=b"[" * TOO_DEEP + b"]" * TOO_DEEP, headers=JSON),
    Nasty("a name that is a lone surrogate", "POST", "/api/session", 422,
          raw=b'{"routine": "\\ud800"}', headers=JSON),
    Nasty("a form instead of JSON", "POST", "/api/session", 415, raw=b"routine=taster",
          headers={"Content-Type": "application/x-www-form-urlencoded"}),
    Nasty("plain text instead of JSON", "POST", "/api/session/rating", 415,
          raw=b'{"pain_after": 1}', headers={"Content-Type": "text/plain"}),
    Nasty("no content type", "POST", "/api/session", 415, raw=b'{"routine": "taster"}'),
    Nasty("a body with no CSRF token", "POST", "/api/session/stop", 403, csrf=False),
    Nasty("a wrong CSRF token", "POST", "/api/session/stop", 403, csrf=False,
          headers={"X-CSRF-Token": "not-the-token"}),
    Nasty("a Host that is not this machine", "GET", "/api/status", 403,
          headers={"Host": "evil.example:80"}),
    Nasty("encoded ../ in an export name", "GET",
          "/api/sessions/..%2f..%2fetc%2fpasswd.csv", 404),
    Nasty("double-encoded ../ in an export name", "GET",
          "/api/sessions/..%252f..%252fetc%252fpasswd.csv", 404),
    Nasty("encoded dots and slashes", "GET", "/api/sessions/%2e%2e%2f%2e%2e%2fetc%2fpasswd.csv",
          404),
    Nasty("a backslash path", "GET", "/api/sessions/..%5c..%5cwindows%5cwin.ini.csv", 404),
    Nasty("a NUL in an id", "GET", "/api/sessions/abc%00def.csv", 404),
    Nasty("an id of 65 characters", "GET", "/api/sessions/" + "a" * 65 + ".csv", 404),
    Nasty("an id of 8000 characters", "GET", "/api/sessions/" + "a" * 8000 + "/samples", 404),
    Nasty("a session that does not exist", "GET", "/api/sessions/nope.csv", 404),
    Nasty("../ in a device address", "DELETE", "/api/devices/..%2f..%2fetc%2fpasswd", 404),
    Nasty("a vendor file off the allow-list", "GET", "/api/../static/vendor/..%2fpackage.json",
          404),
    Nasty("a limit that is not a number", "GET", "/api/sessions?limit=ten", 400),
    Nasty("a limit with an underscore", "GET", "/api/sessions?limit=1_0", 400),
    Nasty("a limit of zero", "GET", "/api/sessions?limit=0", 400),
    Nasty("a negative offset", "GET", "/api/sessions?offset=-1", 400),
    Nasty("an unknown API route", "GET", "/api/etc/passwd", 404),
    Nasty("a method the route does not take", "DELETE", "/api/status", 405),
]  # fmt: skip


@pytest.mark.parametrize("nasty", NASTY, ids=[n.name for n in NASTY])
def test_a_nasty_request_is_refused_with_a_json_error(
    nasty: Nasty, hostile_service: LiveService
) -> None:
    answer = hostile_service.client().request(
        nasty.method, nasty.path, raw=nasty.raw, headers=nasty.headers, csrf=nasty.csrf
    )

    assert answer.header("Content-Type") == "application/json", answer
    assert (answer.status, sorted(answer.json())[:1]) == (nasty.status, ["error"]), answer


# --- sockets held open do not lock out the owner --------------------------------------------

HELD_SOCKETS = 300
HALF_A_HEAD = b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@contextlib.contextmanager
def held_sockets(service: LiveService, count: int) -> Iterator[list[socket.socket]]:
    """``count`` loopback sockets: every other one sends half a request head and stops, the
    rest send nothing. All are closed at the end, whatever happens."""
    client = service.client()
    held: list[socket.socket] = []
    try:
        for index in range(count):
            held.append(socket.create_connection((client.host, client.port), timeout=5))
            if index % 2:
                held[-1].sendall(HALF_A_HEAD)
        yield held
    finally:
        for sock in held:
            sock.close()


def test_the_pain_button_answers_while_300_sockets_are_held_open(
    hostile_service: LiveService,
) -> None:
    owner = hostile_service.client()
    routine = "taster" if "taster" in BUILT_IN_NAMES else BUILT_IN_NAMES[0]
    started = owner.post_json("/api/session", {"routine": routine})
    assert started.status in (201, 409), started  # 409: one already runs

    with held_sockets(hostile_service, HELD_SOCKETS):
        pain = owner.post_json("/api/session/pain")  # answers within the client's 30 s

    assert pain.status == 200, pain


# --- a service that listens beyond this machine needs its token -----------------------------

TOKEN_LINE = re.compile(r"Dashboard token \(shown once, kept in (\S+)\): (\S+)$", re.MULTILINE)
# Reached over 127.0.0.1 only; 0.0.0.0 is what makes the service ask for a token.
ANY_ADDRESS = "0.0.0.0"


@pytest.fixture(scope="module")
def token_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveService, str]]:
    data_dir = tmp_path_factory.mktemp("token") / "data"
    with running_service(data_dir, host=ANY_ADDRESS) as live:
        found = TOKEN_LINE.search(live.stdout.text())
        assert found is not None, live.log()
        yield live, found.group(2)


@dataclass(frozen=True)
class Knock:
    """A request to the token-guarded service; ``auth`` may name the token as {token}."""

    name: str
    method: str
    path: str
    status: int
    auth: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


KNOCKS = [
    Knock("no token", "GET", "/api/status", 401),
    Knock("a wrong token", "GET", "/api/status", 401, auth="Bearer not-the-token"),
    Knock("the token with a letter more", "GET", "/api/status", 401, auth="Bearer {token}x"),
    Knock("the token as Basic auth", "GET", "/api/status", 401, auth="Basic {token}"),
    Knock("an empty bearer", "GET", "/api/status", 401, auth="Bearer "),
    Knock("no token, asking for a CSRF token", "GET", "/api/csrf", 401),
    Knock("no token, a CSRF header instead", "POST", "/api/session/stop", 401,
          headers={"X-CSRF-Token": "anything"}),
    Knock("no token, the event stream", "GET", "/api/stream", 401),
    # The right token needs no CSRF token (browsers never send it by themselves): the
    # command is judged on its merits, and with nothing running it does not fit.
    Knock("the token, a command with nothing running", "POST", "/api/session/stop", 409,
          auth="Bearer {token}"),
]  # fmt: skip


@pytest.mark.parametrize("knock", KNOCKS, ids=[k.name for k in KNOCKS])
def test_without_the_right_token_a_remote_service_refuses(
    knock: Knock, token_service: tuple[LiveService, str]
) -> None:
    service, token = token_service
    headers = dict(knock.headers)
    if knock.auth is not None:
        headers["Authorization"] = knock.auth.format(token=token)

    answer = service.client().request(knock.method, knock.path, headers=headers, csrf=False)

    assert answer.header("Content-Type") == "application/json", answer
    assert (answer.status, sorted(answer.json())[:1]) == (knock.status, ["error"]), answer
    if knock.status == 401:
        assert answer.header("WWW-Authenticate") == 'Bearer realm="companion"'


def test_with_the_token_a_remote_service_answers_and_describes_itself_to_anyone(
    token_service: tuple[LiveService, str],
) -> None:
    service, token = token_service
    client = service.client(bearer=token)
    anyone = service.client()

    assert client.status()["session"] == {"state": "idle"}
    assert anyone.get_json("/api/openapi.json")["openapi"] == "3.1.0"


def test_the_token_is_announced_once_and_kept_owner_only_in_the_data_dir(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with running_service(data_dir, host=ANY_ADDRESS) as first:
        announced = TOKEN_LINE.search(first.stdout.text())
    with running_service(data_dir, host=ANY_ADDRESS) as second:
        again = TOKEN_LINE.search(second.stdout.text())
        second.client(bearer=announced.group(2) if announced else "").status()

    assert announced is not None and again is None
    kept = Path(announced.group(1))
    assert (kept, kept.read_text().strip()) == (data_dir / "token", announced.group(2))
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
