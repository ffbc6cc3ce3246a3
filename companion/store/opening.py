"""Opening the store for a running companion: migrate, replay what the last run kept on
disk, mark the sessions it left unfinished, and start the recorder (the single writer).

A store that cannot be used is one :class:`~companion.errors.StoreUnavailableError`
saying what to do.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine

from companion.clock import WallClock
from companion.config import Settings
from companion.store.database import (
    check_url,
    create_engine_for_url,
    store_problem,
    upgrade_to_head,
)
from companion.store.recorder import (
    HealthCallback,
    Recorder,
    mark_interrupted_sessions,
    replay_spilled,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Store:
    """The store's two faces: an engine for reads and the recorder, the single writer."""

    engine: Engine
    recorder: Recorder

    def close(self) -> None:
        self.recorder.stop()
        self.engine.dispose()


def prepare_store(settings: Settings, clock: WallClock | None = None) -> Engine:
    """Migrate and open the store, and close what an earlier run left running."""
    check_url(settings.db_url)
    settings.ensure_data_dir()
    engine: Engine | None = None
    try:
        upgrade_to_head(settings.db_url)
        engine = create_engine_for_url(settings.db_url)
        replay_spilled(engine, settings.unsaved_dirs)
        interrupted = mark_interrupted_sessions(engine, (clock or WallClock()).now())
    except Exception as exc:
        if engine is not None:
            engine.dispose()
        problem = store_problem(exc, settings.db_url)
        if problem is None:
            raise
        raise problem from None
    if interrupted:
        _LOGGER.warning("marked %d unfinished session(s) as interrupted", len(interrupted))
    return engine


def start_store(
    settings: Settings,
    *,
    on_health_change: HealthCallback | None = None,
    clock: WallClock | None = None,
) -> Store:
    """The prepared store with its recorder running; the caller closes it (``Store.close``).
    Blocking (migrations, a thread start): call it off the event loop."""
    engine = prepare_store(settings, clock)
    recorder = Recorder(
        settings.db_url, on_health_change=on_health_change, spill_dirs=settings.unsaved_dirs
    )
    recorder.start()
    return Store(engine=engine, recorder=recorder)


@contextlib.contextmanager
def open_store(
    settings: Settings, on_health_change: HealthCallback | None = None
) -> Iterator[Store]:
    """:func:`start_store` for a ``with`` block: closed (recorder drained) at its end."""
    store = start_store(settings, on_health_change=on_health_change)
    try:
        yield store
    finally:
        store.close()
