"""The band chosen on the dashboard, remembered in the store and used until another is
chosen (the setting ``device``; None forgets it)."""

from __future__ import annotations

from sqlalchemy import Engine

from companion.store.database import store_problem
from companion.store.queries import get_setting
from companion.store.setting_writes import put_setting

DEVICE_KEY = "device"


class DeviceMemory:
    """Reads and writes the store: call it off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def recall(self) -> str | None:
        remembered = get_setting(self._engine, DEVICE_KEY)
        return remembered if isinstance(remembered, str) else None

    def remember(self, address: str | None) -> None:
        """Keep ``address``; a store that cannot take it is a ``StoreUnavailableError``."""
        try:
            put_setting(self._engine, DEVICE_KEY, address)
        except Exception as exc:
            problem = store_problem(exc, self._engine.url)
            if problem is None:
                raise
            raise problem from None
