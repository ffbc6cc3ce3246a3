"""Writing the ``settings`` table: one JSON value per key (reading is
``companion.store.queries.get_setting``)."""

from __future__ import annotations

import json
from typing import Any

from companion.store.queries import Bind, writing
from companion.store.schema import Setting, table_of
from companion.store.writes import upsert


def put_setting(bind: Bind, key: str, value: Any) -> None:
    """Store ``value`` (anything ``json.dumps`` takes) under ``key``."""
    encoded = json.dumps(value, sort_keys=True)
    with writing(bind) as connection:
        upsert(connection, table_of(Setting), {"key": key, "value": encoded}, {"value": encoded})
