"""Front-end libraries served straight from node_modules (installed by ``npm ci``), by an
allow-list: no path from the URL ever reaches the file system."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_file

bp = Blueprint("vendor", __name__)

NODE_MODULES = Path(__file__).parent / "node_modules"
# URL name -> path inside node_modules.
FILES = {
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
}
CACHE_S = 24 * 3600


@bp.get("/static/vendor/<name>")
def file(name: str) -> Response:
    relative = FILES.get(name)
    if relative is None:
        abort(404)
    root = Path(current_app.config.get("VENDOR_DIR", NODE_MODULES))
    path = root / relative
    if not path.is_file():
        abort(404, f"{name} is not installed; run `make web-deps` (npm ci in web/)")
    return send_file(path, max_age=CACHE_S)
