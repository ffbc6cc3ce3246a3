from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from companion.store.database import (
    alembic_config,
    create_engine_for_url,
    current_revision,
    head_revision,
    normalise_url,
    sqlite_url,
    upgrade_to_head,
)
from companion.store.schema import Base

STORE_TABLES = {
    "devices",
    "sessions",
    "steps",
    "cues",
    "samples",
    "link_events",
    "pacing_events",
    "settings",
    "reminders",
    "heart_minutes",
    "resonance_assessments",
    "day_facts",
}


def test_upgrade_to_head_creates_every_table_in_an_empty_database(db_url: str) -> None:
    upgrade_to_head(db_url)

    engine = create_engine_for_url(db_url)
    try:
        assert set(inspect(engine).get_table_names()) == STORE_TABLES | {"alembic_version"}
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrading_a_database_already_at_head_changes_nothing(engine: Engine) -> None:
    upgrade_to_head(engine)

    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) == STORE_TABLES | {"alembic_version"}


def test_migrated_tables_match_the_models_exactly(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_downgrade_to_base_removes_every_store_table(engine: Engine) -> None:
    command.downgrade(alembic_config(engine), "base")

    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(engine) is None


def test_history_and_session_indexes_exist(engine: Engine) -> None:
    inspector = inspect(engine)
    indexed = {
        (table, tuple(index["column_names"]))
        for table in ("sessions", "samples")
        for index in inspector.get_indexes(table)
    }

    assert {
        ("sessions", ("started_at",)),
        ("samples", ("session_id", "t")),
        ("samples", ("t",)),
    } <= indexed


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine_for_url(sqlite_url(f"{tmp_path}/pragmas.db"))
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        engine.dispose()

    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://me@db/companion", "postgresql+psycopg://me@db/companion"),
        ("postgresql://me@db/companion", "postgresql+psycopg://me@db/companion"),
        ("postgresql+psycopg://me@db/companion", "postgresql+psycopg://me@db/companion"),
        ("sqlite:////var/lib/companion.db", "sqlite:////var/lib/companion.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalise_url_sends_every_postgres_spelling_to_psycopg(url: str, expected: str) -> None:
    assert normalise_url(url).render_as_string() == expected


def test_sqlite_url_points_at_the_file(tmp_path: Path) -> None:
    assert sqlite_url(f"{tmp_path}/a b.db") == f"sqlite:///{tmp_path}/a b.db"
