"""The virtual-time loop the whole-stack tests and the soak run on: the core's clocks follow
it, and a worker thread is never overtaken by a timeout."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.virtual_time import STEPS_PER_S, VirtualTimeLoop, run
from companion.clock import WallClock, monotonic, system_wall

pytestmark = pytest.mark.virtual_time


async def test_the_core_clocks_are_the_loops_and_an_hour_passes_at_once() -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop)
    clock = WallClock()
    mono_before, wall_before, stamped_before = monotonic(), system_wall(), clock.now()

    await asyncio.sleep(3600.0)

    assert monotonic() - mono_before == pytest.approx(3600.0)
    assert system_wall() - wall_before == pytest.approx(3600.0)
    # Stored times follow the loop's world, not the few real moments that passed.
    assert clock.now() - stamped_before == pytest.approx(3600.0)
    assert monotonic() == loop.time()


async def test_a_timeout_around_a_worker_thread_waits_for_the_thread() -> None:
    ticks: list[float] = []

    async def ticking() -> None:
        while True:  # timers that would let a careless loop jump past the thread
            await asyncio.sleep(0.05)
            ticks.append(monotonic())

    ticker = asyncio.create_task(ticking())
    try:
        started = monotonic()
        await asyncio.wait_for(asyncio.to_thread(time.sleep, 0.3), timeout=1.0)
        # While the thread ran, loop time moved no faster than the real clock.
        assert monotonic() - started < 1.0
    finally:
        ticker.cancel()


def test_off_the_loop_the_clocks_are_the_systems() -> None:
    assert abs(monotonic() - time.monotonic()) < 1.0
    assert abs(system_wall() - time.time()) < 1.0


def test_run_gives_back_what_the_coroutine_returns() -> None:
    async def main() -> float:
        before = monotonic()
        await asyncio.sleep(8 * 3600.0)
        return monotonic() - before

    assert run(main()) == pytest.approx(8 * 3600.0)


def _falls_short(start: float, span_s: float) -> bool:
    """Whether the clock's reading nearest ``start + span_s`` is below that float sum: the
    deadline lies a fraction of a clock step past the step before it."""
    steps = round(start * STEPS_PER_S) + round(span_s * STEPS_PER_S)
    return steps / STEPS_PER_S < start + span_s


def _turns_to_reach(start: float, span_s: float, most_turns: int = 1000) -> int:
    """Sleep towards ``start + span_s`` as a deadline loop does, on a loop that starts at
    ``start``; how many sleeps it took. Fails (rather than hangs) when the loop keeps waking
    short of the deadline."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        end = loop.time() + span_s
        turns = 0
        while loop.time() < end:
            turns += 1
            assert turns <= most_turns, f"woke {end - loop.time()!r} s short of the deadline"
            await asyncio.sleep(min(600.0, end - loop.time()))
        return turns

    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start=start)) as runner:
        return runner.run(main())


def test_a_deadline_a_fraction_of_a_clock_step_away_is_reached_not_slept_towards_forever() -> None:
    # The short night's ninety minutes hung CI this way: its last sleeps woke 3.6e-12 s
    # short of the end, again and again, on a machine whose clock happened to start here.
    start = 10984.000068118
    assert _falls_short(start, 5400.0)

    assert _turns_to_reach(start, 5400.0) == 9


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(min_value=1.0, max_value=1e7),
    span_s=st.floats(min_value=1e-6, max_value=9 * 3600.0),
)
def test_a_sleep_never_wakes_before_the_time_it_was_set_for(start: float, span_s: float) -> None:
    # One sleep per ten minutes, and one more where the float sum of the start and the span
    # lands a step past a whole ten minutes.
    assert _turns_to_reach(start, span_s) <= math.ceil(span_s / 600.0) + 1
