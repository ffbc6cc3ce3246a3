"""Virtual time for whole-stack runs: the in-process companion (virtual band on Bumble's
virtual radio, link, engine, recorder, web app) on an asyncio loop whose clock jumps to its
next timer whenever the loop has nothing else to do, so a seven-minute routine takes
seconds and eight hours of nights take minutes.

The loop is looptime's (``looptime.LoopTimeEventLoop``, a well-kept fake-time loop) on
asyncio's selector loop. What keeps it faithful here:

- Every stamp, deadline and timer of the core reads the loop's clock
  (``companion.clock.monotonic``, ``LoopTimer``, ``call_at``), and the wall clock of the
  loop's world is ``wall_time()``: the real wall time when the loop was made plus the
  loop time since (``companion.clock.system_wall``). Stored times and cue timings are the
  figures a real-time run gives; only the waiting is gone.
- While a worker thread started by the loop is busy (``asyncio.to_thread``: a store read,
  the web server starting), time moves with the real clock, never past it, so a timeout
  around a thread cannot fire because the thread had not been scheduled yet (looptime
  tracks the executor's futures).
- Input from other threads (the recorder, HTTP requests, ``call_soon_threadsafe``) is
  taken before time moves on; the loop never waits for a thread it did not start, as a
  real loop does not either.

Off the loop nothing changes: the recorder thread, the web server's threads and the
scheduler keep the system's clocks, as they do in the product.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import selectors
import time
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import looptime

P = ParamSpec("P")
T = TypeVar("T")

# The loop counts time in steps of the system clock's resolution, as asyncio takes a timer
# due within one step of now to be due now: with coarser steps, a deadline a fraction of a
# step ahead would be neither due nor reachable, and the loop would spin in place.
RESOLUTION_S = time.get_clock_info("monotonic").resolution
# Zero-time loop turns before each jump, so every task that is ready gets to set its own
# timers first (looptime's default is 42; the core chains fewer awaits than that).
NOOP_CYCLES = 42


class VirtualTimeLoop(looptime.LoopTimeEventLoop, asyncio.SelectorEventLoop):
    """A selector event loop on virtual time that starts at the system's monotonic now."""

    def __init__(self) -> None:
        started_mono = time.monotonic()
        self._started_wall = time.time()
        self._started_mono = started_mono
        super().__init__(
            selectors.DefaultSelector(),
            start=started_mono,
            resolution=RESOLUTION_S,
            noop_cycles=NOOP_CYCLES,
        )

    def wall_time(self) -> float:
        """The wall clock of this loop's world (see ``companion.clock.system_wall``)."""
        return self._started_wall + (self.time() - self._started_mono)

    def elapsed(self) -> float:
        """Virtual seconds since the loop was made."""
        return self.time() - self._started_mono


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main)


def on_virtual_time(test: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Run an async test on a virtual-time loop of its own (its fixtures stay synchronous):
    the test reads as before, only its waiting takes no real time."""
    if not inspect.iscoroutinefunction(test):
        raise TypeError(f"{test.__name__} is not a coroutine function")

    @functools.wraps(test)
    def run_test(*args: P.args, **kwargs: P.kwargs) -> T:
        return run(test(*args, **kwargs))

    return run_test
