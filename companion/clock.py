"""Wall-clock times for what is stored and shown, derived from the monotonic clock.

Inside the core every deadline is monotonic. Wall time is attached to events through one
``WallClock``: an anchor pairs a monotonic reading with a wall reading, and every event's
wall time is the anchor's wall plus the monotonic time since. While a routine runs the
anchor is held, so an NTP step or a manual clock change mid-routine cannot bend that
session's stored times; between routines the clock follows the system again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Differences below this are ordinary clock slewing, not a jump worth re-anchoring for.
REANCHOR_TOLERANCE_S = 1.0


class WallClock:
    def __init__(
        self,
        system_wall: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        # Looked up at each call, so a changed system clock is seen (and can be simulated).
        self._system_wall = system_wall or (lambda: time.time())
        self._monotonic = monotonic or (lambda: time.monotonic())
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
