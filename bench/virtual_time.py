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
- A timer fires at a loop time no earlier than the one it was set for. asyncio takes a
  timer due within one clock step of now to be due now, and ``when - now`` below one step
  moves looptime's integer clock by nothing, so a coroutine waiting for the clock to pass
  a float deadline (``while loop.time() < end: await asyncio.sleep(end - loop.time())``)
  could wake a hair early and sleep the same hair forever, depending only on where the
  machine's monotonic clock stood when the loop was made. So every timer is set on the
  clock's own grid, rounded up.
- Input from other threads (the recorder, HTTP requests, ``call_soon_threadsafe``) is
  taken before time moves on; the loop never waits for a thread it did not start, as a
  real loop does not either.

Off the loop nothing changes: the recorder thread, the web server's threads and the
scheduler keep the system's clocks, as they do in the product.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import math
import selectors
import time
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, TypeVarTuple

import looptime

P = ParamSpec("P")
T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# The loop counts time in steps of the system clock's resolution, as asyncio takes a timer
# due within one step of now to be due now: with coarser steps, a deadline a fraction of a
# step ahead would be neither due nor reachable, and the loop would spin in place.
RESOLUTION_S = time.get_clock_info("monotonic").resolution
# Zero-time loop turns before each jump, so every task that is ready gets to set its own
# timers first (looptime's default is 42; the core chains fewer awaits than that).
NOOP_CYCLES = 42


# looptime counts whole steps and reads them as ``steps / STEPS_PER_S``; so does the grid.
STEPS_PER_S = round(1 / RESOLUTION_S)


class VirtualTimeLoop(looptime.LoopTimeEventLoop, asyncio.SelectorEventLoop):
    """A selector event loop on virtual time that starts at the system's monotonic now
    (or at ``start``, for a test that needs a particular one)."""

    def __init__(self, start: float | None = None) -> None:
        started_mono = time.monotonic() if start is None else start
        self._started_wall = time.time()
        self._started_mono = started_mono
        super().__init__(
            selectors.DefaultSelector(),
            start=started_mono,
            resolution=RESOLUTION_S,
            noop_cycles=NOOP_CYCLES,
        )

    def call_at(
        self,
        when: float,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        return super().call_at(on_clock_grid(when), callback, *args, context=context)

    def wall_time(self) -> float:
        """The wall clock of this loop's world (see ``companion.clock.system_wall``)."""
        return self._started_wall + (self.time() - self._started_mono)

    def elapsed(self) -> float:
        """Virtual seconds since the loop was made."""
        return self.time() - self._started_mono


def on_clock_grid(when: float) -> float:
    """The first time the loop's clock can show that is not before ``when``."""
    steps = math.ceil(when * STEPS_PER_S)
    while steps / STEPS_PER_S < when:  # the product above may have rounded down
        steps += 1
    return steps / STEPS_PER_S


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
