"""What the session host reads from the store before each routine, off the loop: the
saved preferences (breathing pattern, heart-rate ceiling) and the progression level."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine

from companion.preferences import PREFERENCES_KEY, read_preferences
from companion.routines.progression import ProgressionLevel, ProgressionPolicy, progression_level
from companion.session.host import CoreSettings
from companion.store.progress import level_from
from companion.store.queries import get_setting


def core_settings(engine: Engine | None) -> CoreSettings:
    """The person's saved breathing pattern and heart-rate ceiling (``read_preferences``:
    a saved value that does not validate is taken as its default)."""
    saved = get_setting(engine, PREFERENCES_KEY) if engine is not None else None
    preferences = read_preferences(saved)
    return CoreSettings(pattern=preferences.pattern, safety=preferences.safety)


def preferences_loader(engine: Engine) -> Callable[[], Awaitable[CoreSettings]]:
    """The saved preferences, read in a worker thread (a database read)."""

    async def load() -> CoreSettings:
        return await asyncio.to_thread(core_settings, engine)

    return load


def progression_loader(engine: Engine) -> Callable[[str], Awaitable[ProgressionLevel]]:
    """Recent outcomes read in a worker thread (a database read), the pure policy applied."""

    async def load(_routine: str) -> ProgressionLevel:
        return await asyncio.to_thread(level_from, engine)

    return load


async def first_level(_routine: str) -> ProgressionLevel:
    """With no store there is no history: every routine starts at the first level."""
    return progression_level([], ProgressionPolicy())
