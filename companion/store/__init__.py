"""The durable store: schema and migrations, the batching recorder, and read queries.

``queries`` is imported as a module (``from companion.store import queries``); the
rest is re-exported here. Nothing is imported until it is asked for, so a module of this
package that needs no SQLAlchemy (``progress`` for ``companion plan``) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "create_engine_for_url": "companion.store.database",
    "current_revision": "companion.store.database",
    "head_revision": "companion.store.database",
    "normalise_url": "companion.store.database",
    "sqlite_url": "companion.store.database",
    "upgrade_to_head": "companion.store.database",
    "Recorder": "companion.store.recorder",
    "StoreHealth": "companion.store.recorder",
    "mark_interrupted_sessions": "companion.store.recorder",
    "Outcome": "companion.store.schema",
}

__all__ = ["queries", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name == "queries":
        return importlib.import_module("companion.store.queries")
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'companion.store' has no attribute {name!r}")
