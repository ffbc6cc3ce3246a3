"""Who may call what.

- Loopback without a token: anyone on this machine may read; the Host header must name the
  loopback interface (so a DNS-rebinding page cannot pose as us) and every state-changing
  request carries the session-bound CSRF token in ``X-CSRF-Token``.
- With a token: API clients send ``Authorization: Bearer <token>`` (no CSRF needed: browsers
  never attach that header on their own); browsers log in once at /login, which sets an
  HttpOnly SameSite=Strict cookie, and send the CSRF token with state-changing requests.
  The cookie names a login the server keeps (``web.logins``); logging out forgets it, so a
  copy of the cookie is refused from then on.
All secret comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import http
import secrets
import unicodedata
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as BaseResponse

from companion.errors import CompanionError
from web.logins import Logins
from web.problems import error_response, wants_json
from web.settings import WebSettings, is_loopback
from web.state import web_state

CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints anyone may reach: the login form, static files, and the API description.
PUBLIC_ENDPOINTS = frozenset({"static", "vendor.file", "auth.login", "api.openapi"})
_SESSION_AUTH = "auth"
_SESSION_LOGIN = "login"
_SESSION_CSRF = "csrf"
LOGINS_KEY = "companion.logins"

bp = Blueprint("auth", __name__)


class TokenRequiredError(CompanionError, ValueError):
    """Listening beyond this machine without a token would let anyone on the network drive it."""

    advice = "set a token, or listen on 127.0.0.1"

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(f"refusing to serve on {host!r} without a token")


def secret_key_for(token: str | None) -> str:
    """The cookie-signing key: derived from the token so logins survive a restart and end
    when the token changes; random per process when there is no token to derive from."""
    if token is None:
        return secrets.token_hex(32)
    return hmac.new(token.encode(), b"companion-web-cookie", hashlib.sha256).hexdigest()


def _fingerprint(token: str) -> str:
    return hashlib.sha256(b"companion-login:" + token.encode()).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def csrf_token() -> str:
    """This browser session's CSRF token (created on first use)."""
    token = session.get(_SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_SESSION_CSRF] = token
    return token


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def logins(app: Flask | None = None) -> Logins:
    """The app's server-held logins (set up by ``init_auth``)."""
    found = (app or current_app).extensions[LOGINS_KEY]
    assert isinstance(found, Logins)
    return found


def _logged_in(settings: WebSettings) -> bool:
    if settings.token is None:
        return True
    value = session.get(_SESSION_AUTH)
    if not (isinstance(value, str) and _same(value, _fingerprint(settings.token))):
        return False
    return logins().is_current(session.get(_SESSION_LOGIN))


def may_read() -> bool:
    """Whether this request may see the companion's own data, such as routine names: what
    the guard asks of every non-public endpoint (it has already refused a wrong Host)."""
    settings = web_state().settings
    if settings.token is None:
        return True
    bearer = _bearer()
    if bearer is not None:
        return _same(bearer, settings.token)
    return _logged_in(settings)


def _csrf_ok() -> bool:
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FORM_FIELD, "")
    expected = session.get(_SESSION_CSRF)
    return bool(sent) and isinstance(expected, str) and _same(sent, expected)


def _host_ok(settings: WebSettings) -> bool:
    if not settings.loopback_only:
        return True
    host = urlsplit(f"//{request.host}").hostname or ""
    return is_loopback(host)


def _deny(status: int, message: str) -> Response:
    response = error_response(status, message)
    if status == http.HTTPStatus.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = 'Bearer realm="companion"'
    return response


def guard() -> Response | BaseResponse | None:
    """Runs before every request; returns an answer to refuse it."""
    settings = web_state().settings
    if not _host_ok(settings):
        return _deny(http.HTTPStatus.FORBIDDEN, "unexpected Host header for a loopback server")
    # No view runs for an unknown route or method, so let it answer its honest 404/405.
    if request.endpoint in PUBLIC_ENDPOINTS or request.routing_exception is not None:
        return None
    bearer = _bearer()
    if settings.token is not None and bearer is not None:
        if _same(bearer, settings.token):
            return None  # bearer clients are not browsers: no CSRF needed
        return _deny(http.HTTPStatus.UNAUTHORIZED, "wrong token")
    if not _logged_in(settings):
        if wants_json() or request.method not in SAFE_METHODS:
            return _deny(http.HTTPStatus.UNAUTHORIZED, "send Authorization: Bearer <token>")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if request.method not in SAFE_METHODS and not _csrf_ok():
        return _deny(
            http.HTTPStatus.FORBIDDEN,
            f"missing or wrong {CSRF_HEADER}; reload the page (scripts: GET /api/csrf first)",
        )
    return None


class UnsafeNextError(ValueError):
    """A ``next`` that is not a path on this site."""


def _unsafe_character(text: str) -> str | None:
    # Browsers drop tabs and newlines from URLs and read "\\" as "/", so "/\t/evil" or
    # "/\\evil" would land on another site; control, format and separator characters (spaces
    # of every kind) have no place in one of our paths.
    for character in text:
        if character == "\\" or unicodedata.category(character)[0] in "CZ":
            return character
    return None


def checked_next(target: str | None, default: str) -> str:
    """Where to go after logging in: ``target`` when it is a path on this site ("/history",
    "/history?page=2"), ``default`` when there is none. Raises UnsafeNextError for anything
    else (a scheme, a host, "//host", a relative path, control characters, whitespace,
    backslashes); nothing is stripped or repaired."""
    if target is None or target == "":
        return default
    bad = _unsafe_character(target)
    if bad is not None:
        raise UnsafeNextError(f"next: {unicodedata.name(bad, repr(bad))} is not allowed")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        raise UnsafeNextError("next: must be a path on this site, such as /history")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | BaseResponse | tuple[str, int]:
    settings = web_state().settings
    try:
        target = checked_next(request.values.get("next"), url_for("pages.now"))
    except UnsafeNextError as error:
        raise BadRequest(str(error)) from None
    if settings.token is None:
        return redirect(target)
    if request.method == "GET":
        return render_template("login.html", next=target, problem=None)
    if not _csrf_ok():
        return render_template("login.html", next=target, problem="Please try again."), 403
    typed = request.form.get("token", "")
    if not _same(typed, settings.token):
        return render_template("login.html", next=target, problem="That token is not right."), 401
    logins().end(session.get(_SESSION_LOGIN))  # a browser logging in again drops its old one
    session.clear()
    session.permanent = True
    session[_SESSION_AUTH] = _fingerprint(settings.token)
    session[_SESSION_LOGIN] = logins().begin()
    csrf_token()
    return redirect(target)


@bp.post("/logout")
def logout() -> BaseResponse:
    # Clearing the cookie is not enough: a copy of it would still work. The server forgets
    # the login, so that copy is refused too.
    logins().end(session.get(_SESSION_LOGIN))
    session.clear()
    return redirect(url_for("auth.login"))


def init_auth(app: Flask) -> None:
    state = web_state(app)
    lifetime_s = app.permanent_session_lifetime.total_seconds()
    app.extensions[LOGINS_KEY] = Logins(state.store_engine, lifetime_s, state.clock)
    app.before_request(guard)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_blueprint(bp)
