"""The Flask app factory: everything per app, nothing module-global."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response
from sqlalchemy import Engine

from companion.clock import WallClock
from companion.session.control import SessionControl
from web import api, pages, reminders_api, resonance_api, summary_api, vendor
from web.auth import init_auth, secret_key_for
from web.problems import register_error_handlers
from web.settings import WebSettings, zone_for
from web.state import EXTENSION_KEY, WebState

LOGIN_LIFETIME = datetime.timedelta(days=30)
# Scripts and styles only from our own origin: no inline code, nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "application/json" or response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def create_app(
    core: SessionControl,
    *,
    store_engine: Engine | None,
    settings: WebSettings,
    test_config: Mapping[str, Any] | None = None,
    clock: Callable[[], float] | None = None,
) -> Flask:
    """The dashboard and API for ``core``; ``store_engine`` is read through the app's own
    connections (None: history and settings answer 503). ``clock`` gives the Unix time that
    decides which day is today: the companion's one ``WallClock`` (tests pass a fixed one;
    None: a wall clock of the app's own)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key_for(settings.token),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_body_bytes,
        SESSION_COOKIE_NAME="companion_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=LOGIN_LIFETIME,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if test_config:
        app.config.update(test_config)
    app.extensions[EXTENSION_KEY] = WebState(
        core=core,
        store_engine=store_engine,
        settings=settings,
        tz=zone_for(settings.timezone),
        clock=clock or WallClock().now,
    )
    app.url_map.converters["sid"] = api.SessionIdConverter
    app.url_map.converters["addr"] = api.AddressConverter
    app.url_map.converters["rid"] = reminders_api.ReminderIdConverter
    register_error_handlers(app)
    init_auth(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(reminders_api.bp)
    app.register_blueprint(resonance_api.bp)
    app.register_blueprint(summary_api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(vendor.bp)
    pages.register_template_helpers(app.jinja_env)
    app.after_request(_security_headers)
    return app
