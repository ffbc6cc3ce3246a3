"""The bedside dashboard and JSON API: ``create_app(core, store_engine=..., settings=...)``."""

from web.app import create_app
from web.auth import TokenRequiredError
from web.server import RunningServer, serve
from web.settings import WebSettings
from web.state import shutdown

__all__ = ["RunningServer", "TokenRequiredError", "WebSettings", "create_app", "serve", "shutdown"]
