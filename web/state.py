"""Per-app state kept in ``app.extensions["companion"]``: nothing here is module-global."""

from __future__ import annotations

import dataclasses
import datetime
import threading
from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy import Engine

from companion.session.control import SessionControl
from web.settings import WebSettings

EXTENSION_KEY = "companion"


@dataclasses.dataclass(kw_only=True)
class WebState:
    core: SessionControl
    store_engine: Engine | None
    settings: WebSettings
    # The zone whose local days the morning summary counts, and the clock saying which is today.
    tz: datetime.tzinfo
    clock: Callable[[], float]
    # Set once when the app is shutting down; every open stream checks it and ends.
    shutdown: threading.Event = dataclasses.field(default_factory=threading.Event)


def web_state(app: Flask | None = None) -> WebState:
    state = (app or current_app).extensions[EXTENSION_KEY]
    assert isinstance(state, WebState)
    return state


def shutdown(app: Flask) -> None:
    """Ask every open event stream to finish; safe to call more than once."""
    web_state(app).shutdown.set()
