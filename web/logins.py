"""The page logins this server has handed out, held on the server so that logging out ends
one for good.

A browser's signed cookie carries a random login id; the server keeps only each id's
SHA-256 digest and when it ends, in memory and in the store's settings (key
``web_logins``), so logins survive a restart and a logged-out cookie, replayed, is refused.
At most ``MAX_LOGINS`` are kept; past that the one ending soonest goes.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from companion.errors import CompanionError
from web import store_reads

_LOGGER = logging.getLogger(__name__)

STORE_KEY: Final = "web_logins"
MAX_LOGINS: Final = 32
_ID_BYTES: Final = 32


def digest_of(login_id: str) -> str:
    return hashlib.sha256(login_id.encode()).hexdigest()


def current_logins(stored: object, now: float, limit: int = MAX_LOGINS) -> dict[str, float]:
    """The logins in ``stored`` (digest -> Unix time it ends) that have not ended by ``now``,
    at most ``limit`` of them (those ending last); anything malformed is left out."""
    if not isinstance(stored, Mapping):
        return {}
    valid = {
        digest: float(ends)
        for digest, ends in stored.items()
        if isinstance(digest, str)
        and isinstance(ends, int | float)
        and not isinstance(ends, bool)
        and ends > now
    }
    latest = sorted(valid.items(), key=lambda item: item[1], reverse=True)[:limit]
    return dict(latest)


class Logins:
    """Thread-safe; reads the store once, on first use, and writes it on each change.

    When the store cannot be read or written the logins still work for this run (and the
    log says so); a logout that could not be stored ends the login until the next restart.
    """

    def __init__(
        self, engine: Engine | None, lifetime_s: float, clock: Callable[[], float]
    ) -> None:
        self._engine = engine
        self._lifetime_s = lifetime_s
        self._clock = clock
        self._lock = threading.Lock()
        self._ends: dict[str, float] | None = None

    def _loaded(self) -> dict[str, float]:
        if self._ends is None:
            stored: Any = None
            if self._engine is not None:
                try:
                    stored = store_reads.load_setting(self._engine, STORE_KEY)
                except (SQLAlchemyError, CompanionError, OSError) as error:
                    _LOGGER.warning("could not read the logins (everyone logs in again): %s", error)
            self._ends = current_logins(stored, self._clock())
        return self._ends

    def _save(self, ends: dict[str, float]) -> None:
        if self._engine is None:
            return
        try:
            store_reads.save_setting(self._engine, STORE_KEY, ends)
        except (SQLAlchemyError, CompanionError, OSError) as error:
            _LOGGER.warning("could not store the logins (they hold until a restart): %s", error)

    def begin(self) -> str:
        """A new login's id, for the browser's cookie."""
        login_id = secrets.token_urlsafe(_ID_BYTES)
        with self._lock:
            now = self._clock()
            ends = {**self._loaded(), digest_of(login_id): now + self._lifetime_s}
            self._ends = current_logins(ends, now)
            self._save(self._ends)
        return login_id

    def is_current(self, login_id: object) -> bool:
        if not isinstance(login_id, str):
            return False
        with self._lock:
            ends = self._loaded().get(digest_of(login_id))
            return ends is not None and ends > self._clock()

    def end(self, login_id: object) -> None:
        """Log out: this id is never accepted again. Unknown ids are ignored."""
        if not isinstance(login_id, str):
            return
        with self._lock:
            ends = self._loaded()
            if ends.pop(digest_of(login_id), None) is not None:
                self._save(ends)
