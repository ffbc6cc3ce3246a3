"""Backup and restore: a copy made while writes go on, the database destroyed, the copy
restored, and every row compared; bad files are refused and nothing is lost."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import Engine, insert, inspect, select

from companion.cli import main
from companion.events import SessionState
from companion.store.backup import (
    DEFAULT_BACKUPS_KEPT,
    BackupError,
    backup_database,
    backups_kept,
    check_backup,
    last_backup_time,
    nightly_backup,
    nightly_backup_due,
    nightly_backups,
    prune_backups,
    restore_database,
    sqlite_path,
)
from companion.store.database import (
    alembic_config,
    create_engine_for_url,
    current_revision,
    head_revision,
    sqlite_url,
    upgrade_to_head,
)
from companion.store.schema import Base, Sample, table_of
from companion.store.setting_writes import put_setting
from tests.store.conftest import BAND, T0, cue, ended, record, sample, started, step

NOW = dt.datetime(2026, 12, 1, 3, 30)


def history(engine: Engine) -> None:
    record(
        engine,
        [
            sample(T0 - 10, 61, rr_ms=(980.0, 990.0)),
            started("run-1", T0),
            step("run-1", 0, T0),
            sample(T0 + 1, 72, rr_ms=(830.0,)),
            cue("run-1", 0, T0 + 30, 30.0, 30.01),
            ended("run-1", T0 + 60, SessionState.COMPLETED),
        ],
    )
    put_setting(engine, "wake_time", "06:45")


def everything(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the models describe, in primary-key order."""
    engine = create_engine_for_url(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def destroy(url: str) -> None:
    path = sqlite_path(url)
    assert path is not None
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    path.write_bytes(b"this is not a database any more")


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "data" / "companion.db")
    Path(tmp_path / "data").mkdir()
    upgrade_to_head(url)
    return url


def test_back_up_destroy_restore_gives_back_every_row(url: str, tmp_path: Path) -> None:
    engine = create_engine_for_url(url)
    history(engine)
    engine.dispose()
    before = everything(url)
    assert before["samples"] and before["cues"] and before["sessions"]

    check = backup_database(url, tmp_path / "copy.db")
    assert check.revision == head_revision()
    destroy(url)
    restore_database(url, tmp_path / "copy.db", now=NOW)

    assert everything(url) == before


def test_a_backup_taken_while_the_recorder_writes_is_one_consistent_moment(
    url: str, tmp_path: Path
) -> None:
    engine = create_engine_for_url(url)
    history(engine)
    stop = threading.Event()
    written = [0]

    def keep_writing() -> None:
        while not stop.is_set():
            with engine.begin() as connection:
                rows = [
                    {"device": BAND, "t": T0 + 100 + written[0] + i, "hr": 60} for i in range(50)
                ]
                connection.execute(insert(table_of(Sample)), rows)
            written[0] += 50

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while written[0] < 500:
            threading.Event().wait(0.01)
        backup_database(url, tmp_path / "busy.db")
    finally:
        stop.set()
        writer.join()
        engine.dispose()
    with sqlite3.connect(tmp_path / "busy.db") as copy:
        (count,) = copy.execute("SELECT count(*) FROM samples WHERE t >= ?", (T0 + 100,)).fetchone()
    # Whole transactions only: a multiple of the 50 rows each one writes.
    assert count >= 500 and count % 50 == 0
    assert check_backup(tmp_path / "busy.db").revision == head_revision()


def test_restore_keeps_the_database_it_replaces(url: str, tmp_path: Path) -> None:
    backup_database(url, tmp_path / "empty.db")
    engine = create_engine_for_url(url)
    history(engine)
    engine.dispose()
    with_history = everything(url)

    kept = restore_database(url, tmp_path / "empty.db", now=NOW)

    assert kept is not None and kept.name == "companion.before-restore-20261201-033000.db"
    assert everything(url)["sessions"] == []
    assert everything(sqlite_url(kept)) == with_history


def test_a_file_that_is_not_a_database_is_refused_and_nothing_changes(
    url: str, tmp_path: Path
) -> None:
    engine = create_engine_for_url(url)
    history(engine)
    engine.dispose()
    before = everything(url)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4096)
    with pytest.raises(BackupError, match=r"junk\.db"):
        restore_database(url, junk, now=NOW)
    assert everything(url) == before


def test_a_truncated_backup_is_refused(url: str, tmp_path: Path) -> None:
    engine = create_engine_for_url(url)
    history(engine)
    engine.dispose()
    backup_database(url, tmp_path / "whole.db")
    data = (tmp_path / "whole.db").read_bytes()
    (tmp_path / "cut.db").write_bytes(data[: len(data) // 2])
    with pytest.raises(BackupError):
        check_backup(tmp_path / "cut.db")


def test_a_database_of_another_application_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(BackupError, match="not a companion database"):
        check_backup(other)


def test_a_backup_from_a_newer_version_is_refused(url: str, tmp_path: Path) -> None:
    backup_database(url, tmp_path / "future.db")
    with sqlite3.connect(tmp_path / "future.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(BackupError, match="'9999'"):
        check_backup(tmp_path / "future.db")


def test_a_backup_from_an_older_version_is_restored_and_upgraded(url: str, tmp_path: Path) -> None:
    old_url = sqlite_url(tmp_path / "old.db")
    old = create_engine_for_url(old_url)
    command.upgrade(alembic_config(old), "0003")
    old.dispose()
    backup_database(old_url, tmp_path / "old-backup.db")
    assert check_backup(tmp_path / "old-backup.db").revision == "0003"

    restore_database(url, tmp_path / "old-backup.db", now=NOW)

    engine = create_engine_for_url(url)
    assert current_revision(engine) == head_revision()
    assert "heart_minutes" in inspect(engine).get_table_names()
    engine.dispose()


def test_a_backup_never_overwrites_a_file(url: str, tmp_path: Path) -> None:
    (tmp_path / "taken.db").write_text("precious")
    with pytest.raises(BackupError, match="already exists"):
        backup_database(url, tmp_path / "taken.db")
    assert (tmp_path / "taken.db").read_text() == "precious"


def test_nightly_backups_keep_the_newest_and_leave_manual_ones(url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    backup_database(url, data_dir / "backups" / "companion-20260101-120000.db")
    for night in range(5):
        nightly_backup(url, data_dir, NOW + dt.timedelta(days=night), keep=3)
    names = sorted(p.name for p in (data_dir / "backups").iterdir())
    assert names == [
        "companion-20260101-120000.db",
        "nightly-20261203-033000.db",
        "nightly-20261204-033000.db",
        "nightly-20261205-033000.db",
    ]
    assert last_backup_time(data_dir / "backups") == NOW + dt.timedelta(days=4)


def test_pruning_needs_at_least_one_backup_kept(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        prune_backups(tmp_path, 0)
    assert nightly_backups(tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("last", "now", "due"),
    [
        (None, dt.datetime(2026, 12, 1, 14, 0), True),
        (dt.datetime(2026, 12, 1, 3, 0), dt.datetime(2026, 12, 1, 23, 0), False),
        (dt.datetime(2026, 12, 1, 3, 0), dt.datetime(2026, 12, 2, 2, 59), False),
        (dt.datetime(2026, 12, 1, 3, 0), dt.datetime(2026, 12, 2, 3, 0), True),
        # Switched off all night: the backup is made when it is back.
        (dt.datetime(2026, 11, 28, 3, 0), dt.datetime(2026, 12, 1, 9, 0), True),
    ],
)
def test_the_nightly_backup_is_due_once_a_night_from_three(
    last: dt.datetime | None, now: dt.datetime, due: bool
) -> None:
    assert nightly_backup_due(last, now) is due


def test_how_many_backups_are_kept_comes_from_the_settings(url: str) -> None:
    assert backups_kept(url) == DEFAULT_BACKUPS_KEPT
    engine = create_engine_for_url(url)
    put_setting(engine, "backups_kept", 14)
    assert backups_kept(url) == 14
    put_setting(engine, "backups_kept", 0)
    engine.dispose()
    assert backups_kept(url) == DEFAULT_BACKUPS_KEPT


def test_the_commands_back_up_and_restore(url: str, tmp_path: Path) -> None:
    engine = create_engine_for_url(url)
    history(engine)
    engine.dispose()
    before = everything(url)
    runner = CliRunner()
    target = tmp_path / "by-hand.db"

    made = runner.invoke(main, ["backup", str(target), "--db", url])
    assert made.exit_code == 0, made.output
    assert "Backed up to" in made.output
    destroy(url)
    restored = runner.invoke(main, ["restore", str(target), "--yes", "--db", url])
    assert restored.exit_code == 0, restored.output

    assert everything(url) == before


def test_the_restore_command_refuses_a_bad_file_with_a_clear_error(
    url: str, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("hello")
    result = CliRunner().invoke(main, ["restore", str(junk), "--yes", "--db", url])
    assert result.exit_code != 0
    assert "junk.db" in result.output


def test_backup_without_a_path_goes_to_the_data_dir(url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(main, ["backup", "--db", url, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    (made,) = (data_dir / "backups").iterdir()
    assert made.name.startswith("companion-") and check_backup(made).revision == head_revision()


def test_a_damaged_database_being_replaced_is_kept_byte_for_byte(url: str, tmp_path: Path) -> None:
    backup_database(url, tmp_path / "good.db")
    destroy(url)

    kept = restore_database(url, tmp_path / "good.db", now=NOW)

    assert kept is not None and kept.read_bytes() == b"this is not a database any more"
    assert everything(url)["sessions"] == []


@pytest.mark.postgres
def test_postgres_back_up_destroy_restore_gives_back_every_row(
    postgres_url: str, tmp_path: Path
) -> None:
    upgrade_to_head(postgres_url)
    engine = create_engine_for_url(postgres_url)
    history(engine)
    engine.dispose()
    before = everything(postgres_url)

    backup_database(postgres_url, tmp_path / "copy.dump")
    engine = create_engine_for_url(postgres_url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()
    assert everything(postgres_url)["sessions"] == []
    restore_database(postgres_url, tmp_path / "copy.dump", now=NOW)

    assert everything(postgres_url) == before
