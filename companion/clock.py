"""Wall-clock times for what is stored and shown, derived from the monotonic clock.

Inside the core every deadline is monotonic. Wall time is attached to events through one
``WallClock``: an anchor pairs a monotonic reading with a wall reading, and every event's
wall time is the anchor's wall plus the monotonic time since. While a routine runs the
anchor is held, so an NTP step or a manual clock change mid-routine cannot bend that
session's stored times; between routines the clock follows the system again.

The monotonic clock of everything on the core loop is the loop's own (``loop.time()``,
which the engine's timers already use): on an ordinary loop that is ``time.monotonic()``,
and on a loop that keeps virtual time (whole-stack tests and the night-long soak, see
``bench/virtual_time.py``) it is that loop's time, so stamps, deadlines and timers agree.
Such a loop also says what the system's wall clock reads in its world (``wall_time()``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# Differences below this are ordinary clock slewing, not a jump worth re-anchoring for.
REANCHOR_TOLERANCE_S = 1.0


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a thread with no loop running: the system's clocks
        return None


def monotonic() -> float:
    """Seconds on the monotonic clock of the loop running on this thread (its timers'
    clock), or ``time.monotonic()`` off any loop."""
    loop = _running_loop()
    return loop.time() if loop is not None else time.monotonic()


def system_wall() -> float:
    """The system's wall clock as the running loop sees it (``time.time()`` unless the
    loop keeps virtual time)."""
    # A loop whose time is not the system's keeps the wall clock of its world too.
    wall_time: Callable[[], float] | None = getattr(_running_loop(), "wall_time", None)
    return wall_time() if wall_time is not None else time.time()


_MONOTONIC, _SYSTEM_WALL = monotonic, system_wall


class WallClock:
    def __init__(
        self,
        system_wall: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        # Looked up at each call, so a changed system clock is seen (and can be simulated).
        self._system_wall = system_wall or _SYSTEM_WALL
        self._monotonic = monotonic or _MONOTONIC
        self._anchor_mono = self._monotonic()
        self._anchor_wall = self._system_wall()
        self._holds = 0

    def wall_at(self, mono: float) -> float:
        return self._anchor_wall + (mono - self._anchor_mono)

    def now(self) -> float:
        """The wall time now (re-anchored first when no routine holds the anchor)."""
        mono = self._monotonic()
        if self._holds == 0:
            system = self._system_wall()
            if abs(system - self.wall_at(mono)) > REANCHOR_TOLERANCE_S:
                self._anchor_mono, self._anchor_wall = mono, system
        return self.wall_at(mono)

    def hold(self) -> None:
        """Keep the anchor (a routine started)."""
        self.now()
        self._holds += 1

    def release(self) -> None:
        self._holds = max(0, self._holds - 1)
