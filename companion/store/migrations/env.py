"""Alembic environment: runs migrations over the engine handed in by ``upgrade_to_head``.

There is no alembic.ini: :func:`companion.store.database.alembic_config` builds the
configuration in code and passes the engine in ``config.attributes``.

A new migration is a file ``versions/r000N_what.py`` with ``revision = "000N"`` and
``down_revision`` naming the one before (see ``script.py.mako``); change the models in
``schema.py`` to match, and ``tests/store/test_database.py`` checks that the two agree.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from companion.store.schema import Base

# Tables other parts of the service keep in the same database (the scheduler's job
# store) are theirs; autogenerate must not offer to drop them.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("run migrations through companion.store.database.upgrade_to_head")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_name=include_name,
            # SQLite cannot ALTER most things; batch mode rebuilds tables when needed.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
