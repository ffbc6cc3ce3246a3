"""The durable store: schema and migrations, the batching recorder, and read queries.

``queries`` is imported as a module (``from companion.store import queries``); the
rest is re-exported here.
"""

from companion.store import queries
from companion.store.database import (
    create_engine_for_url,
    current_revision,
    head_revision,
    normalise_url,
    sqlite_url,
    upgrade_to_head,
)
from companion.store.recorder import Recorder, StoreHealth, mark_interrupted_sessions
from companion.store.schema import Outcome

__all__ = [
    "Outcome",
    "Recorder",
    "StoreHealth",
    "create_engine_for_url",
    "current_revision",
    "head_revision",
    "mark_interrupted_sessions",
    "normalise_url",
    "queries",
    "sqlite_url",
    "upgrade_to_head",
]
