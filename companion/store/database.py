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

from companion.errors import CompanionError

_LOGGER = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# How long a writer waits for another connection's lock before SQLite gives up.
SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024

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
        # After each checkpoint the WAL file is cut back to this size, so space it took
        # once (a burst, a full disk) goes back to the disk instead of staying reserved.
        cursor.execute(f"PRAGMA journal_size_limit = {SQLITE_WAL_SIZE_LIMIT_BYTES}")
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


# --- telling people what is wrong with a database ------------------------------------------

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
# How many problems PRAGMA quick_check reports at most; the first few say enough.
QUICK_CHECK_ROWS = 5


def check_url(url: str) -> URL:
    """Parse ``url`` and refuse what the companion cannot store to, in one line."""
    from sqlalchemy.exc import ArgumentError

    from companion.errors import SettingError

    advice = "give --db as sqlite:////path/to/file.db or postgresql://user@host/dbname"
    try:
        parsed = normalise_url(url)
    except (ArgumentError, ValueError):
        raise SettingError(f"{mask_password(url)!r} is not a database URL", advice) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise SettingError(
            f"the companion stores to SQLite or PostgreSQL, not {backend}", advice
        ) from None
    return parsed


def mask_password(url: str | URL) -> str:
    """``url`` as text with any password replaced by ``***`` (safe to print or log)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        # Not a URL we can parse: show no more than the scheme, which holds no secret.
        text = str(url)
        return text.split("://", 1)[0] + "://…" if "://" in text else text


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL (None for other backends and in-memory databases)."""
    try:
        parsed = make_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if parsed.database == ":memory:" else Path(parsed.database)


def checkpoint_wal(engine: Engine) -> bool:
    """Copy a SQLite database's write-ahead log into the file and cut the log to nothing
    (``PRAGMA wal_checkpoint(TRUNCATE)``), giving its space back to the disk. True when
    the whole log was written back; False for other backends or when readers held it."""
    if engine.dialect.name != "sqlite":
        return False
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()
    # (busy, frames in the log, frames written back): busy is 0 when nothing held it.
    return row is not None and row[0] == 0


def quick_check(engine: Engine) -> list[str]:
    """SQLite's ``PRAGMA quick_check``: [] for a sound file, else its first findings.

    Other backends check themselves; they always answer []. Raises what the driver raises
    when the file cannot be read at all (e.g. "file is not a database").
    """
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"PRAGMA quick_check({QUICK_CHECK_ROWS})").all()
    findings = [str(row[0]) for row in rows]
    return [] if findings == ["ok"] else findings


def store_problem(exc: BaseException, url: str | URL) -> CompanionError | None:
    """A one-line :class:`StoreUnavailableError` for a database failure, or None when
    ``exc`` is not one. Reads only the error, never the database."""
    from sqlalchemy.exc import SQLAlchemyError

    from companion.errors import StoreUnavailableError

    if not isinstance(exc, SQLAlchemyError | sqlite3.Error):
        return None
    orig = getattr(exc, "orig", None) or exc
    reason = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    path = sqlite_path(url)
    where = str(path) if path else mask_password(url)
    lowered = reason.lower()
    if "not a database" in lowered or "malformed" in lowered:
        aside = (
            f"move it aside: mv {path} {path}.broken, then start again and a new one is made"
            if path
            else "restore it from a backup"
        )
        return StoreUnavailableError(f"the database {where} is damaged: {reason}", aside)
    if "readonly" in lowered or "read-only" in lowered:
        return StoreUnavailableError(
            f"the database {where} is read-only",
            f"make it writable: chmod u+w {path}" if path else "give its user write access",
        )
    if "disk is full" in lowered or "disk i/o" in lowered:
        return StoreUnavailableError(f"the database {where} cannot be written: {reason}")
    if "unable to open" in lowered:
        return StoreUnavailableError(
            f"the database {where} cannot be opened",
            "check that its folder exists and is yours, or choose another --data-dir",
        )
    return StoreUnavailableError(
        f"the database {where} cannot be used: {reason}",
        "check the --db URL and that the database server is running; companion doctor checks it",
    )
