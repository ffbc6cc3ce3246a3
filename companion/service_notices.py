"""What the companion tells the person about itself, on the dashboard and in the log:
the store stopping or starting to accept writes, Bluetooth missing, and data files that
were skipped. Each is an event on the bus, like everything else the dashboard shows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from companion.bus import EventBus
from companion.clock import WallClock
from companion.errors import DataFileError
from companion.events import Event, LinkChanged, LinkState, Notice
from companion.user_files import problem_notice

_LOGGER = logging.getLogger(__name__)


class StoreHealthNotices:
    """The recorder's health callback (called on the recorder's thread): says so in the
    log and puts a notice on the bus, on the loop's thread."""

    def __init__(self, bus: EventBus, loop: asyncio.AbstractEventLoop, clock: WallClock) -> None:
        self._bus = bus
        self._loop = loop
        self._clock = clock

    def __call__(self, ok: bool, message: str) -> None:
        (_LOGGER.info if ok else _LOGGER.error)("store: %s", message)
        text = (
            "Saving works again; nothing was lost."
            if ok
            else f"Sessions cannot be saved right now ({message}). Keep going: everything is "
            "kept in memory and written once the disk is back."
        )
        notice = Notice(
            mono=time.monotonic(),
            wall=self._clock.now(),
            level="info" if ok else "error",
            topic="store",
            message=text,
        )
        # A loop that has closed gets nothing: the log line above is all there is.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._bus.publish, notice)


def problem_notices(problems: tuple[DataFileError, ...], clock: WallClock) -> list[Notice]:
    """One notice per skipped data file, naming the file and the field."""
    return [
        problem_notice(problem, mono=time.monotonic(), wall=clock.now()) for problem in problems
    ]


def bluetooth_notice(
    publish: Callable[[Event], None], clock: WallClock, announce: Callable[[str], None]
) -> Callable[[Event], None]:
    """A bus listener: when the link finds the computer's Bluetooth missing, say so once on
    the terminal, in the log and as a dashboard notice (the band line says it too)."""
    said: set[str] = set()

    def on_event(event: Event) -> None:
        if not isinstance(event, LinkChanged) or event.state is not LinkState.UNAVAILABLE:
            return
        if event.detail in said:
            return
        said.add(event.detail)
        _LOGGER.error("Bluetooth unavailable: %s", event.detail)
        announce(f"warning: Bluetooth unavailable: {event.detail}")
        publish(
            Notice(
                mono=time.monotonic(),
                wall=clock.now(),
                level="error",
                topic="bluetooth",
                message=f"No band can connect: {event.detail}. Or restart with --simulate to "
                "use the virtual band; companion doctor checks everything.",
            )
        )

    return on_event
