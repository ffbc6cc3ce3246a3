"""Who may call what: bearer tokens, page login with a cookie, CSRF, and the Host check."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.web.conftest import FakeCore, csrf_of
from web import WebSettings, create_app
from web.auth import UnsafeNextError, checked_next
from web.logins import current_logins

TOKEN = "a-long-shared-secret-for-tests"
START = {"routine": "bedtime", "pain_before": 2}


@pytest.fixture
def token_app(core: FakeCore, engine: Engine) -> Flask:
    settings = WebSettings(host="0.0.0.0", token=TOKEN)
    return create_app(core, store_engine=engine, settings=settings)


@pytest.fixture
def remote(token_app: Flask) -> FlaskClient:
    return token_app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login_form_csrf(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def log_in(client: FlaskClient, token: str = TOKEN, next_page: str = "/history") -> str:
    csrf = login_form_csrf(client)
    response = client.post("/login", data={"token": token, "csrf_token": csrf, "next": next_page})
    return response.headers.get("Location", str(response.status_code))


# --- with a token ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        (bearer("wrong"), 401),
        (bearer(TOKEN[:-1]), 401),
        ({"Authorization": f"Basic {TOKEN}"}, 401),
        (bearer(TOKEN), 200),
        ({"Authorization": f"bearer   {TOKEN}"}, 200),
    ],
)
def test_api_calls_need_the_bearer_token(
    remote: FlaskClient, headers: dict[str, str], status: int
) -> None:
    response = remote.get("/api/status", headers=headers)

    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="companion"'
        assert "error" in response.get_json()


def test_bearer_clients_change_state_without_csrf(remote: FlaskClient, core: FakeCore) -> None:
    response = remote.post("/api/session", json=START, headers=bearer(TOKEN))

    assert response.status_code == 201
    assert core.started == [("bedtime", 2)]


def test_a_page_without_login_redirects_to_the_login_form(remote: FlaskClient) -> None:
    response = remote.get("/history?page=2")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/history?page%3D2"


def test_login_with_the_token_sets_a_strict_httponly_cookie(remote: FlaskClient) -> None:
    csrf = login_form_csrf(remote)

    response = remote.post("/login", data={"token": TOKEN, "csrf_token": csrf, "next": "/history"})

    assert (response.status_code, response.headers["Location"]) == (302, "/history")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert remote.get("/history").status_code == 200
    assert remote.get("/api/status").status_code == 200


def test_login_with_a_wrong_token_is_refused(remote: FlaskClient) -> None:
    csrf = login_form_csrf(remote)

    response = remote.post("/login", data={"token": "guess", "csrf_token": csrf})

    assert response.status_code == 401
    assert "not right" in response.get_data(as_text=True)
    assert remote.get("/api/status").status_code == 401


def test_login_without_the_form_csrf_token_is_refused(remote: FlaskClient) -> None:
    remote.get("/login")

    response = remote.post("/login", data={"token": TOKEN})

    assert response.status_code == 403
    assert remote.get("/api/status").status_code == 401


OFF_SITE = [
    "//evil.example/x",
    "///evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "\\\\evil",
    "/\\evil.example",
    "/\t/evil.example",  # browsers drop the tab: "//evil.example"
    "/\n/evil.example",
    "/ /evil.example",
    "/\u00a0/evil.example",
    "/\u200b/evil.example",
    "history",
    "evil.example",
    "/x\r\nSet-Cookie: companion_session=forged",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_next_must_be_a_path_on_this_site(target: str) -> None:
    with pytest.raises(UnsafeNextError, match=r"^next: "):
        checked_next(target, "/")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/"),
        ("", "/"),
        ("/history", "/history"),
        ("/history?page=2", "/history?page=2"),
        ("/sessions/run0001#chart", "/sessions/run0001#chart"),
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),  # a path segment here, not a host
    ],
)
def test_a_path_on_this_site_is_where_login_goes(target: str | None, expected: str) -> None:
    assert checked_next(target, "/") == expected


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_refuses_an_off_site_next_with_a_400_page(remote: FlaskClient, target: str) -> None:
    csrf = login_form_csrf(remote)

    response = remote.post("/login", data={"token": TOKEN, "csrf_token": csrf, "next": target})

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    assert "next: " in response.get_data(as_text=True)
    assert remote.get("/api/status").status_code == 401  # and no login happened


@pytest.mark.parametrize(
    "query",
    ["next=/%09/evil.example", "next=//evil.example", "next=/x%0D%0ALocation:%20//evil.example"],
)
def test_on_loopback_the_login_page_never_redirects_off_site(
    client: FlaskClient, query: str
) -> None:
    response = client.get(f"/login?{query}")

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_login_without_next_goes_to_the_now_page(remote: FlaskClient) -> None:
    assert log_in(remote, next_page="") == "/"


def test_a_logged_in_browser_needs_csrf_to_change_state(remote: FlaskClient) -> None:
    log_in(remote)

    without = remote.post("/api/session", json=START)
    wrong = remote.post("/api/session", json=START, headers={"X-CSRF-Token": "forged"})
    right = remote.post("/api/session", json=START, headers={"X-CSRF-Token": csrf_of(remote)})

    assert (without.status_code, wrong.status_code, right.status_code) == (403, 403, 201)
    assert "X-CSRF-Token" in without.get_json()["error"]


def test_logout_ends_the_login(remote: FlaskClient) -> None:
    log_in(remote)

    remote.post("/logout", data={"csrf_token": csrf_of(remote)})

    assert remote.get("/api/status").status_code == 401


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("companion_session")
    assert cookie is not None
    return cookie.value


def test_a_copy_of_the_cookie_replayed_after_logout_is_refused(token_app: Flask) -> None:
    browser = token_app.test_client()
    log_in(browser)
    kept = session_cookie(browser)
    logout = browser.post("/logout", data={"csrf_token": csrf_of(browser)})
    assert logout.status_code == 302
    replay = token_app.test_client()
    replay.set_cookie("companion_session", kept)

    assert replay.get("/api/status").status_code == 401
    assert replay.get("/history").status_code == 302  # back to the login form
    assert replay.post("/api/session", json=START).status_code == 401


def test_logging_out_one_browser_leaves_the_others_logged_in(token_app: Flask) -> None:
    phone, tablet = token_app.test_client(), token_app.test_client()
    log_in(phone)
    log_in(tablet)

    phone.post("/logout", data={"csrf_token": csrf_of(phone)})

    assert (phone.get("/api/status").status_code, tablet.get("/api/status").status_code) == (
        401,
        200,
    )


def test_logging_in_again_ends_the_browsers_previous_login(token_app: Flask) -> None:
    browser = token_app.test_client()
    log_in(browser)
    before = session_cookie(browser)
    log_in(browser)
    replay = token_app.test_client()
    replay.set_cookie("companion_session", before)

    assert replay.get("/api/status").status_code == 401
    assert browser.get("/api/status").status_code == 200


def test_logins_and_logouts_outlast_a_restart(core: FakeCore, engine: Engine) -> None:
    settings = WebSettings(host="0.0.0.0", token=TOKEN)
    first = create_app(core, store_engine=engine, settings=settings)
    staying, leaving = first.test_client(), first.test_client()
    log_in(staying)
    log_in(leaving)
    left = session_cookie(leaving)
    leaving.post("/logout", data={"csrf_token": csrf_of(leaving)})

    restarted = create_app(core, store_engine=engine, settings=settings)
    still, gone = restarted.test_client(), restarted.test_client()
    still.set_cookie("companion_session", session_cookie(staying))
    gone.set_cookie("companion_session", left)

    assert (still.get("/api/status").status_code, gone.get("/api/status").status_code) == (
        200,
        401,
    )


def test_without_a_store_logout_still_ends_the_login(core: FakeCore) -> None:
    app = create_app(core, store_engine=None, settings=WebSettings(host="0.0.0.0", token=TOKEN))
    browser = app.test_client()
    log_in(browser)
    kept = session_cookie(browser)
    browser.post("/logout", data={"csrf_token": csrf_of(browser)})
    replay = app.test_client()
    replay.set_cookie("companion_session", kept)

    assert replay.get("/api/status").status_code == 401


@pytest.mark.parametrize(
    ("stored", "kept"),
    [
        (None, {}),
        ("not a mapping", {}),
        ({"a": 2_000.0, "b": 999.0, "c": "soon", "d": True, "e": 1_000.0}, {"a": 2_000.0}),
        ({f"k{n}": 1_000.0 + n for n in range(1, 6)}, {"k5": 1_005.0, "k4": 1_004.0}),
    ],
)
def test_stored_logins_that_ended_or_do_not_parse_are_dropped(
    stored: object, kept: dict[str, float]
) -> None:
    assert current_logins(stored, now=1_000.0, limit=2) == kept


def test_a_cookie_from_another_token_is_not_a_login(
    core: FakeCore, engine: Engine, remote: FlaskClient
) -> None:
    log_in(remote)
    cookie = remote.get_cookie("companion_session")
    assert cookie is not None
    changed = create_app(
        core, store_engine=engine, settings=WebSettings(host="0.0.0.0", token="another-token-xyz")
    ).test_client()
    changed.set_cookie("companion_session", cookie.value)

    assert changed.get("/api/status").status_code == 401


@pytest.mark.parametrize(
    "path", ["/static/app.css", "/api/openapi.json", "/login", "/static/vendor/uPlot.min.css"]
)
def test_static_files_the_login_form_and_the_api_description_are_public(
    remote: FlaskClient, path: str
) -> None:
    with remote.get(path) as response:
        assert response.status_code == 200


# --- loopback without a token ------------------------------------------------------------


def test_on_loopback_reads_need_no_token(client: FlaskClient) -> None:
    assert client.get("/api/status").status_code == 200
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 403), ({"X-CSRF-Token": "forged"}, 403), (None, 201)],
)
def test_on_loopback_state_changes_still_need_the_csrf_token(
    client: FlaskClient, core: FakeCore, headers: dict[str, str] | None, status: int
) -> None:
    sent = {"X-CSRF-Token": csrf_of(client)} if headers is None else headers

    response = client.post("/api/session", json=START, headers=sent)

    assert response.status_code == status
    assert len(core.started) == (1 if status == 201 else 0)


def test_a_csrf_token_from_another_browser_session_does_not_work(app: Flask) -> None:
    stolen = csrf_of(app.test_client())

    response = app.test_client().post("/api/session", json=START, headers={"X-CSRF-Token": stolen})

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost", 200),
        ("localhost:8765", 200),
        ("127.0.0.1:8765", 200),
        ("[::1]:8765", 200),
        ("evil.example", 403),
        ("evil.example:8765", 403),
        ("192.168.1.20:8765", 403),
    ],
)
def test_on_loopback_only_loopback_host_names_are_served(
    client: FlaskClient, host: str, status: int
) -> None:
    response = client.get("/api/status", headers={"Host": host})

    assert response.status_code == status


@pytest.mark.parametrize(
    ("method", "path", "status"), [("post", "/api/sessions", 405), ("get", "/api/x", 404)]
)
def test_unknown_routes_and_methods_answer_404_and_405_before_auth(
    remote: FlaskClient, method: str, path: str, status: int
) -> None:
    assert getattr(remote, method)(path).status_code == status


def test_with_a_token_any_host_name_is_served(remote: FlaskClient) -> None:
    response = remote.get("/api/status", headers={"Host": "bedside.lan:8765", **bearer(TOKEN)})

    assert response.status_code == 200


def test_login_page_on_loopback_without_a_token_goes_straight_in(client: FlaskClient) -> None:
    response = client.get("/login?next=/settings")

    assert (response.status_code, response.headers["Location"]) == (302, "/settings")
