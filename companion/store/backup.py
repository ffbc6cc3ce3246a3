"""Consistent copies of the store while the service runs, and bringing one back.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database page by
page under its own read locks, so the recorder keeps writing while a copy is made and the
copy is one moment of the database, write-ahead log included. The copy is written beside
its destination and renamed into place only after an integrity check, so a half-written
file never carries a backup's name.

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot) and ``pg_restore --clean``.

Nightly backups go to ``<data dir>/backups`` as ``nightly-YYYYmmdd-HHMMSS.db`` (``.dump``
for PostgreSQL); the newest ``backups_kept`` (7 unless the setting says otherwise) are
kept. Backups made by hand are never pruned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from companion.errors import CompanionError
from companion.store.database import (
    MIGRATIONS_DIR,
    create_engine_for_url,
    normalise_url,
    upgrade_to_head,
)
from companion.store.queries import get_setting

_LOGGER = logging.getLogger(__name__)

BACKUPS_DIR_NAME = "backups"
NIGHTLY_PREFIX = "nightly-"
MANUAL_PREFIX = "companion-"
STAMP_FORMAT = "%Y%m%d-%H%M%S"
SQLITE_SUFFIX = ".db"
DUMP_SUFFIX = ".dump"
BACKUPS_KEPT_SETTING = "backups_kept"
DEFAULT_BACKUPS_KEPT = 7
# Pages copied per step: small steps let the recorder's writes in between.
BACKUP_PAGES_PER_STEP = 256
# The night's backup is taken in the first upkeep run from this hour (local time) on.
NIGHTLY_FROM_HOUR = 3
PARTIAL_SUFFIX = ".partial"
DUMP_TIMEOUT_S = 3600


class BackupError(CompanionError):
    """A backup could not be made, checked or restored; the message says which and why."""

    def __init__(self, message: str, advice: str = "") -> None:
        self.advice = advice
        super().__init__(message)


@dataclass(frozen=True)
class BackupCheck:
    path: Path
    revision: str | None
    size_bytes: int


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL, or None for any other database."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up or restored")
    return Path(parsed.database)


@functools.cache
def known_revisions() -> frozenset[str]:
    """The schema revisions this version ships (read once: loading the migration scripts
    makes a module of each, which a nightly job should not do again every night)."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return frozenset(revision.revision for revision in script.walk_revisions())


# --- SQLite ----------------------------------------------------------------------------


def _sqlite_copy(source: sqlite3.Connection, destination: Path) -> None:
    partial = destination.with_name(destination.name + PARTIAL_SUFFIX)
    partial.unlink(missing_ok=True)
    target = sqlite3.connect(partial)
    try:
        source.backup(target, pages=BACKUP_PAGES_PER_STEP)
        # A copy is one file, readable without its -wal beside it.
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()
    try:
        check_sqlite_backup(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, destination)


def check_sqlite_backup(path: Path) -> BackupCheck:
    """Open ``path`` read-only; it must be a whole SQLite file of a revision we know."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {exc}") from None
    try:
        (result,) = connection.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise BackupError(f"{path} failed SQLite's integrity check: {result}")
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            raise BackupError(f"{path} is not a companion database (no schema revision)") from None
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from None
    finally:
        connection.close()
    revision = row[0] if row else None
    if revision not in known_revisions():
        raise BackupError(
            f"{path} is at schema revision {revision!r}, which this version does not know",
            "restore it with the companion version that made it, or upgrade the companion",
        )
    return BackupCheck(path=path, revision=revision, size_bytes=path.stat().st_size)


# --- PostgreSQL ------------------------------------------------------------------------


def _libpq(url: str | URL) -> tuple[str, dict[str, str], list[str]]:
    """A libpq connection string, environment and the schema option for pg_dump/pg_restore."""
    parsed = normalise_url(url).set(drivername="postgresql")
    query = dict(parsed.query)
    env = dict(os.environ)
    schema_args: list[str] = []
    options = query.pop("options", None)
    if isinstance(options, str):
        env["PGOPTIONS"] = options
        prefix = "-csearch_path="
        if options.startswith(prefix):
            schema_args = [f"--schema={options[len(prefix) :]}"]
    dsn = parsed.set(query=query).render_as_string(hide_password=False)
    return dsn, env, schema_args


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(
            f"{tool} is needed to {what} a PostgreSQL database",
            "install the PostgreSQL client tools (Debian: postgresql-client)",
        )
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=DUMP_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-2000:]}")


def _pg_dump(url: str | URL, destination: Path) -> None:
    dsn, env, schema_args = _libpq(url)
    partial = destination.with_name(destination.name + PARTIAL_SUFFIX)
    _run(
        ["pg_dump", "--format=custom", "--no-owner", *schema_args, f"--file={partial}", dsn],
        env,
        "back up",
    )
    os.replace(partial, destination)


def check_dump(path: Path) -> BackupCheck:
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    _run(["pg_restore", "--list", str(path)], dict(os.environ), "check")
    return BackupCheck(path=path, revision=None, size_bytes=path.stat().st_size)


# --- the operations --------------------------------------------------------------------


def backup_database(url: str | URL, destination: Path) -> BackupCheck:
    """A consistent copy of the database at ``url`` in ``destination`` (never overwritten)."""
    destination = destination.expanduser()
    if destination.exists():
        raise BackupError(f"{destination} already exists", "name a new file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    path = sqlite_path(url)
    if path is None:
        _pg_dump(url, destination)
        return check_dump(destination)
    if not path.exists():
        raise BackupError(f"there is no database at {path} yet: nothing to back up")
    # A plain connection (not mode=ro): a read-only one cannot open a WAL database
    # whose shared-memory file is missing. The backup only reads from it.
    source = sqlite3.connect(path)
    try:
        _sqlite_copy(source, destination)
    finally:
        source.close()
    check = check_sqlite_backup(destination)
    _LOGGER.info("backed up %s to %s (%d bytes)", path, destination, check.size_bytes)
    return check


def check_backup(path: Path) -> BackupCheck:
    """Whether ``path`` can be restored: a whole file of a schema revision this version knows."""
    return check_dump(path) if path.suffix == DUMP_SUFFIX else check_sqlite_backup(path)


def restore_database(url: str | URL, source: Path, *, now: dt.datetime) -> Path | None:
    """Replace the database at ``url`` with the checked backup ``source``.

    The current SQLite database is first copied to ``<name>.before-restore-<stamp>.db``
    beside it (returned), so a restore of the wrong file loses nothing. The restored
    database is then brought up to this version's schema.
    """
    source = source.expanduser()
    check_backup(source)
    path = sqlite_path(url)
    if path is None:
        if source.suffix != DUMP_SUFFIX:
            raise BackupError("a PostgreSQL database is restored from a pg_dump file (.dump)")
        dsn, env, schema_args = _libpq(url)
        _run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", *schema_args,
             f"--dbname={dsn}", str(source)],
            env,
            "restore",
        )  # fmt: skip
        upgrade_to_head(url)
        return None
    if source.suffix == DUMP_SUFFIX:
        raise BackupError("a SQLite database is restored from a SQLite backup, not a pg_dump")
    kept: Path | None = None
    if path.exists():
        kept = path.with_name(f"{path.stem}.before-restore-{now.strftime(STAMP_FORMAT)}.db")
        try:
            backup_database(url, kept)
        except (BackupError, sqlite3.DatabaseError) as exc:
            # Not a database any more (the reason for the restore, often): keep its bytes
            # as they are, and start the restored database from a clean file.
            _LOGGER.warning("the database being replaced is damaged (%s); kept as is", exc)
            kept.with_name(kept.name + PARTIAL_SUFFIX).unlink(missing_ok=True)
            for part in (path, _sidecar(path, "-wal"), _sidecar(path, "-shm")):
                if part.exists():
                    os.replace(part, _sidecar(kept, part.name[len(path.name) :]))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Copy through the backup API into the live file: other connections see the restored
    # pages at once and the -wal beside it stays consistent.
    readonly = f"{source.resolve().as_uri()}?mode=ro"
    with (
        contextlib.closing(sqlite3.connect(readonly, uri=True)) as backup,
        contextlib.closing(sqlite3.connect(path)) as target,
    ):
        backup.backup(target, pages=BACKUP_PAGES_PER_STEP)
    engine = create_engine_for_url(url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    _LOGGER.info("restored %s from %s (previous copy: %s)", path, source, kept)
    return kept


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


# --- nightly ---------------------------------------------------------------------------


def backups_dir(data_dir: Path) -> Path:
    return data_dir / BACKUPS_DIR_NAME


def backup_name(url: str | URL, prefix: str, now: dt.datetime) -> str:
    suffix = SQLITE_SUFFIX if sqlite_path(url) is not None else DUMP_SUFFIX
    return f"{prefix}{now.strftime(STAMP_FORMAT)}{suffix}"


def nightly_backups(directory: Path) -> list[Path]:
    """The automatic backups in ``directory``, oldest first (the stamp sorts by time)."""
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.name.startswith(NIGHTLY_PREFIX) and p.suffix in (SQLITE_SUFFIX, DUMP_SUFFIX)
    )


def prune_backups(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` automatic backups; the ones deleted."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    old = nightly_backups(directory)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def last_backup_time(directory: Path) -> dt.datetime | None:
    backups = nightly_backups(directory)
    if not backups:
        return None
    stamp = backups[-1].stem[len(NIGHTLY_PREFIX) :]
    try:
        return dt.datetime.strptime(stamp, STAMP_FORMAT)
    except ValueError:
        return None


def nightly_backup_due(last: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether tonight's backup is still to be made: from ``NIGHTLY_FROM_HOUR`` (local,
    naive times), once a night; a machine that was off at that hour backs up when it wakes."""
    tonight = now.replace(hour=NIGHTLY_FROM_HOUR, minute=0, second=0, microsecond=0)
    if now < tonight:
        tonight -= dt.timedelta(days=1)
    return last is None or last < tonight


def backups_kept(url: str | URL) -> int:
    engine = create_engine_for_url(url)
    try:
        saved = get_setting(engine, BACKUPS_KEPT_SETTING)
    finally:
        engine.dispose()
    if isinstance(saved, int) and not isinstance(saved, bool) and saved >= 1:
        return saved
    if saved is not None:
        _LOGGER.warning(
            "ignored %s=%r in settings (a whole number, 1 or more)", BACKUPS_KEPT_SETTING, saved
        )
    return DEFAULT_BACKUPS_KEPT


def nightly_backup(url: str | URL, data_dir: Path, now: dt.datetime, keep: int) -> BackupCheck:
    """Tonight's backup into ``<data dir>/backups``, then only the newest ``keep`` remain."""
    directory = backups_dir(data_dir)
    check = backup_database(url, directory / backup_name(url, NIGHTLY_PREFIX, now))
    removed = prune_backups(directory, keep)
    if removed:
        _LOGGER.info(
            "removed %d old backup(s): %s", len(removed), ", ".join(p.name for p in removed)
        )
    return check
