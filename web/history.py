"""The one place the web layer touches the store: reads through the web's own connections,
results turned into plain JSON-ready values."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from companion.store import queries


def plain(value: Any) -> Any:
    """Rows, mappings and dataclasses as dicts and lists the JSON encoder takes."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "_mapping"):
        return {str(k): plain(v) for k, v in value._mapping.items()}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def list_sessions(engine: Engine, limit: int, offset: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return list(plain(queries.list_sessions(conn, limit, offset)))


def get_session(engine: Engine, session_id: str) -> dict[str, Any] | None:
    """The session's summary fields side by side with its detail (steps, cues, events)."""
    with engine.connect() as conn:
        found = queries.get_session(conn, session_id)
    if found is None:
        return None
    detail = dict(plain(found))
    summary = detail.pop("summary", {})
    return {**summary, **detail}


def session_samples(engine: Engine, session_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return list(plain(queries.session_samples(conn, session_id)))


def session_csv(engine: Engine, session_id: str) -> str:
    with engine.connect() as conn:
        return str(queries.session_csv(conn, session_id))


def load_setting(engine: Engine, key: str) -> Any:
    with engine.connect() as conn:
        return queries.get_setting(conn, key)


def save_setting(engine: Engine, key: str, value: Any) -> None:
    with engine.begin() as conn:
        queries.put_setting(conn, key, value)


def list_devices(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return list(plain(queries.list_devices(conn)))


def forget_device(engine: Engine, address: str) -> bool:
    with engine.begin() as conn:
        return bool(queries.forget_device(conn, address))
