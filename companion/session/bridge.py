"""The thread bridge: how the web threads and the scheduler reach the session host.

The host lives on the asyncio loop; every call here is handed to that loop and awaited
with a timeout, so a slow or stuck loop becomes a ``SessionError``, never a hung request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any, TypeVar

from companion.errors import SessionError
from companion.events import Event
from companion.reminders.scheduler import ReminderHost
from companion.session.host import SessionHost
from companion.session.live_feed import FeedSubscriber
from companion.session.status import RoutineSummary, SessionStatus, Status

T = TypeVar("T")
CALL_TIMEOUT_S = 10.0


class SessionBridge:
    """The thread-safe face of the core for the web threads and the scheduler."""

    def __init__(
        self,
        core: SessionHost,
        loop: asyncio.AbstractEventLoop,
        remember_device: Callable[[str | None], None] | None = None,
    ) -> None:
        self._core = core
        self._loop = loop
        self._remember_device = remember_device
        self.reminders: ReminderHost | None = None

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_S) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except FutureTimeoutError:
            future.cancel()
            raise SessionError("the companion's core did not answer in time") from None

    def _run(self, fn: Callable[[], T]) -> T:
        async def call() -> T:
            return fn()

        return self._call(call())

    def status(self) -> Status:
        return self._run(self._core.status)

    def routines(self) -> list[RoutineSummary]:
        return self._run(self._routine_list)

    def _routine_list(self) -> list[RoutineSummary]:
        return self._core.routine_list()

    def start_session(self, routine: str, pain_before: int | None) -> str:
        return self._call(self._core.start_session(routine, pain_before))

    def command(self, name: str) -> SessionStatus:
        return self._run(lambda: self._core.command(name))

    def rate_pain_after(self, pain: int) -> None:
        self._run(lambda: self._core.rate_pain_after(pain))

    def subscribe_feed(self) -> FeedSubscriber:
        return self._core.feed.subscribe()

    def scan(self, timeout: float) -> list[dict[str, Any]]:
        link = self._core.link
        if link is None:
            return []

        async def scan() -> list[dict[str, Any]]:
            return [d.to_json() for d in await link.async_scan(timeout)]

        return self._call(scan(), timeout + CALL_TIMEOUT_S)

    def choose_device(self, address: str | None) -> None:
        link = self._core.link
        if link is not None:
            self._run(lambda: link.choose(address))
        if self._remember_device is not None:
            self._remember_device(address)  # on the caller's thread: a small store write

    def buzz(self, cue: str) -> bool:
        return self._run(lambda: self._core.buzz(cue))

    def show_text(self, text: str) -> bool:
        link = self._core.link
        return self._run(lambda: link.show_text(text)) if link is not None else False

    def reminders_changed(self) -> None:
        if self.reminders is not None:
            self.reminders.resync()

    def snooze_reminder(self, reminder_id: int) -> float:
        if self.reminders is None:
            raise SessionError("reminders are not running in this process")
        return self.reminders.snooze(reminder_id).timestamp()

    def publish(self, event: Event) -> None:
        """Put an event on the bus from another thread (the scheduler's reminders)."""
        self._loop.call_soon_threadsafe(self._core.bus.publish, event)
