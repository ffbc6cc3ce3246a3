"""Engines for a database URL, and bringing a database's schema up to date.

SQLite is the default (one file in the data directory); PostgreSQL is used when the URL
says so. Every thread that touches the database makes its own connections from an engine
built here; nothing in this module is global.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry

_LOGGER = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# How long a writer waits for another connection's lock before SQLite gives up.
SQLITE_BUSY_TIMEOUT_MS = 5000

# PostgreSQL URLs people write by hand; all are served by psycopg 3.
_POSTGRES_ALIASES = ("postgres", "postgresql", "postgresql+psycopg")
POSTGRES_DRIVER = "postgresql+psycopg"


def sqlite_url(path: Path | str) -> str:
    """The URL of a SQLite database file."""
    return f"sqlite:///{Path(path)}"


def normalise_url(url: str | URL) -> URL:
    """Parse ``url``, sending every PostgreSQL spelling to the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed


def create_engine_for_url(url: str | URL, **engine_kwargs: Any) -> Engine:
    """An engine for ``url``, with the connection settings the companion relies on.

    SQLite connections get write-ahead logging (readers never block the recorder),
    enforced foreign keys and a busy timeout. ``engine_kwargs`` go to
    :func:`sqlalchemy.create_engine` unchanged (e.g. ``poolclass``, ``creator``).
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine_kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(parsed, **engine_kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _set_sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode")
        (mode,) = cursor.fetchone()
        if str(mode).lower() != "wal":
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                # A read-only connection cannot switch modes; it still reads fine.
                _LOGGER.debug("cannot switch SQLite to WAL: %s", exc)
        # With WAL, NORMAL loses no committed transaction when the process dies; only a
        # power cut can roll back the last few, which a bedside log can afford.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration built in code: no alembic.ini is needed or read."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Handed over as an object, not a string, so passwords and '%' in URLs survive.
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(url_or_engine: str | URL | Engine) -> None:
    """Create or upgrade the database's tables to the newest migration."""
    engine = (
        url_or_engine if isinstance(url_or_engine, Engine) else create_engine_for_url(url_or_engine)
    )
    try:
        _LOGGER.info("upgrading %s to revision %s", engine.url.render_as_string(), head_revision())
        command.upgrade(alembic_config(engine), "head")
    finally:
        if engine is not url_or_engine:
            engine.dispose()
