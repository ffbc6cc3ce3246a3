"""Fixtures for the store tests: a migrated database on each backend.

SQLite runs everywhere. PostgreSQL runs when COMPANION_TEST_POSTGRES_URL is set
(``make test`` sources scripts/postgres-for-tests.sh, which starts a throwaway server);
each test gets a schema of its own in that database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from companion.events import (
    CueFired,
    Event,
    HeartRateSample,
    SessionStarted,
    SessionState,
    SessionStateChanged,
    StepStarted,
)
from companion.store.database import (
    create_engine_for_url,
    normalise_url,
    sqlite_url,
    upgrade_to_head,
)
from tests.support import bedtime_plan, session_started, step_started
from tests.support import record as record  # the store tests' import of it

POSTGRES_URL_ENV = "COMPANION_TEST_POSTGRES_URL"
POSTGRES_UNAVAILABLE_ENV = "COMPANION_TEST_POSTGRES_UNAVAILABLE"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_base_url() -> str:
    """The test server's URL; skips the test, saying why, when there is none."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        why = os.environ.get(
            POSTGRES_UNAVAILABLE_ENV,
            "not set; `make test` sources scripts/postgres-for-tests.sh to start one",
        )
        pytest.skip(f"no PostgreSQL for the store tests ({POSTGRES_URL_ENV}): {why}")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections work in a fresh, private schema."""
    base = postgres_base_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for_url(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = normalise_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "companion.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head."""
    upgrade_to_head(db_url)
    engine = create_engine_for_url(db_url)
    yield engine
    engine.dispose()


# --- building histories -----------------------------------------------------------------

T0 = 1_750_000_000.0  # 2025-06-15T15:06:40Z
BAND = "F0:F1:F2:F3:F4:F5"

PLAN = bedtime_plan(level=2, level_reason="first week: start slow")


def started(run_id: str, wall: float, *, pain_before: int | None = 4) -> SessionStarted:
    return session_started(run_id, wall, PLAN, pain_before=pain_before)


def step(run_id: str, idx: int, wall: float) -> StepStarted:
    return step_started(run_id, PLAN.steps[idx], wall)


def sample(
    wall: float,
    hr: int,
    *,
    contact: bool | None = True,
    rr_ms: tuple[float, ...] = (),
    energy_kj: int | None = None,
) -> HeartRateSample:
    return HeartRateSample(
        mono=0.0, wall=wall, device=BAND, hr=hr, contact=contact, energy_kj=energy_kj, rr_ms=rr_ms
    )


def cue(run_id: str, idx: int, wall: float, planned_s: float, actual_s: float) -> CueFired:
    return CueFired(
        mono=0.0,
        wall=wall,
        run_id=run_id,
        step=idx,
        cue="hold-end",
        planned_s=planned_s,
        actual_s=actual_s,
        on_wrist=True,
        duration_s=0.4,
    )


def ended(run_id: str, wall: float, state: SessionState, step_idx: int | None = 1) -> Event:
    return SessionStateChanged(mono=0.0, wall=wall, run_id=run_id, state=state, step=step_idx)
