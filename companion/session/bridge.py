"""The thread bridge: how the web threads and the scheduler reach the session host.

One calling convention, for every call: the work is handed to the host's asyncio loop and
awaited there with a timeout, and the answer or error comes back to the calling thread.
A loop that does not answer in time, or is no longer running, becomes a
``SessionError``; the companion's own errors (a ``SessionError`` for a command that does
not fit, an ``UnknownNameError``, a ``StoreUnavailableError``) come back as raised.

Work that blocks (a store write, the reminder scheduler's store reads) must not run on
the loop either, so the coroutine handed to the loop awaits it in a worker thread
(``asyncio.to_thread``): the loop stays free, and the caller still waits through the one
convention, timeout and all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Generic, Protocol, TypeVar

from companion.ble.found import FoundDevice
from companion.cues import CueName
from companion.errors import SessionError
from companion.events import Event
from companion.session.host import SessionHost
from companion.session.live_feed import FeedSubscriber
from companion.session.status import RoutineSummary, SessionStatus, Status

T = TypeVar("T")
CALL_TIMEOUT_S = 10.0


class ReminderJobs(Protocol):
    """The running reminders, as far as the dashboard drives them (blocking: store reads
    and scheduler writes)."""

    def resync(self) -> None: ...

    def snooze(self, reminder_id: int) -> dt.datetime: ...


class DeviceChoiceMemory(Protocol):
    """Where the band chosen on the dashboard is kept (blocking: a store write)."""

    def remember(self, address: str | None) -> None: ...


class LoopCalls:
    """The calling convention: run on ``loop``, wait with a timeout, translate the loop's
    silence into a ``SessionError``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_s: float = CALL_TIMEOUT_S):
        self._loop = loop
        self._timeout_s = timeout_s

    def run(self, fn: Callable[[], T], *, abandoned: Callable[[T], None] | None = None) -> T:
        """``fn()`` on the loop (it must not block). ``abandoned`` receives an answer that
        came after the caller gave up waiting (to give back what it holds)."""

        async def call() -> T:
            return fn()

        return self.wait(call, abandoned=abandoned)

    def off_loop(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a worker thread, awaited by the loop: for work that blocks."""

        async def call() -> T:
            return await asyncio.to_thread(fn)

        return self.wait(call)

    def wait(
        self,
        make: Callable[[], Awaitable[T]],
        extra_s: float = 0.0,
        *,
        abandoned: Callable[[T], None] | None = None,
    ) -> T:
        """Await ``make()`` on the loop, for at most the timeout plus ``extra_s``."""
        if self._on_loop_thread():
            # Waiting here would hold the very loop that has to answer.
            raise RuntimeError("the thread bridge was called on its own loop; call the host")

        answer = _Answer(abandoned)

        async def call() -> T:
            return answer.made(await make())

        coroutine = call()
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        except RuntimeError:  # the loop is closed
            coroutine.close()
            raise SessionError("the companion is stopping") from None
        try:
            return future.result(self._timeout_s + extra_s)
        except FutureTimeoutError:
            future.cancel()
            answer.give_up()
            raise SessionError("the companion's core did not answer in time") from None

    def _on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:  # no loop runs on this thread
            return False


class _Answer(Generic[T]):
    """An answer that may come after its caller stopped waiting: then nobody will use it,
    and ``abandoned`` gives back what it holds (in whichever thread is last)."""

    def __init__(self, abandoned: Callable[[T], None] | None) -> None:
        self._abandoned = abandoned
        self._lock = threading.Lock()
        self._given_up = False
        self._made: list[T] = []

    def made(self, value: T) -> T:
        if self._abandoned is not None:
            with self._lock:
                if not self._given_up:
                    self._made.append(value)
                    return value
            self._abandoned(value)
        return value

    def give_up(self) -> None:
        with self._lock:
            self._given_up = True
            made, self._made = self._made, []
        if self._abandoned is not None:
            for value in made:
                self._abandoned(value)


class HostReach:
    """What the scheduler's jobs may do in the running session: buzz the wrist, show text
    on the band, and put an event on the bus."""

    def __init__(self, host: SessionHost, loop: asyncio.AbstractEventLoop) -> None:
        self._host = host
        self._calls = LoopCalls(loop)

    def buzz(self, cue: CueName) -> bool:
        return self._calls.run(lambda: self._host.buzz(cue))

    def show_text(self, text: str) -> bool:
        link = self._host.link
        return self._calls.run(lambda: link.show_text(text)) if link is not None else False

    def publish(self, event: Event) -> None:
        self._calls.run(lambda: self._host.bus.publish(event))


class SessionBridge(HostReach):
    """The thread-safe face of the session host for the web threads (``SessionControl``).

    ``reminders`` and ``device_memory`` are given at construction, or absent (a process
    with no store or no scheduler): nothing is attached later.
    """

    def __init__(
        self,
        host: SessionHost,
        loop: asyncio.AbstractEventLoop,
        *,
        reminders: ReminderJobs | None = None,
        device_memory: DeviceChoiceMemory | None = None,
    ) -> None:
        super().__init__(host, loop)
        self._reminders = reminders
        self._device_memory = device_memory

    def status(self) -> Status:
        return self._calls.run(self._host.status)

    def routines(self) -> list[RoutineSummary]:
        return self._calls.run(self._host.routine_list)

    def start_session(self, routine: str, pain_before: int | None) -> str:
        return self._calls.wait(lambda: self._host.start_session(routine, pain_before))

    def command(self, name: str) -> SessionStatus:
        return self._calls.run(lambda: self._host.command(name))

    def rate_pain_after(self, pain: int) -> None:
        self._calls.run(lambda: self._host.rate_pain_after(pain))

    def subscribe_feed(self) -> FeedSubscriber:
        # A subscription made after its caller gave up would hold a stream's place forever.
        return self._calls.run(self._host.feed.subscribe, abandoned=FeedSubscriber.close)

    def scan(self, timeout: float) -> list[FoundDevice]:
        link = self._host.link
        if link is None:
            return []

        async def scan() -> list[FoundDevice]:
            return await link.async_scan(timeout)

        return self._calls.wait(scan, extra_s=timeout)

    def choose_device(self, address: str | None) -> None:
        link = self._host.link
        memory = self._device_memory

        async def choose() -> None:
            if link is not None:
                link.choose(address)
            if memory is not None:
                await asyncio.to_thread(memory.remember, address)  # a store write

        self._calls.wait(choose)

    def reminders_changed(self) -> None:
        reminders = self._reminders
        if reminders is not None:
            self._calls.off_loop(reminders.resync)

    def snooze_reminder(self, reminder_id: int) -> float:
        reminders = self._reminders
        if reminders is None:
            raise SessionError("reminders are not running in this process")
        return self._calls.off_loop(lambda: reminders.snooze(reminder_id)).timestamp()
