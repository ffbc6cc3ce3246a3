"""The virtual-time loop the whole-stack tests and the soak run on: the core's clocks follow
it, and a worker thread is never overtaken by a timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from bench.virtual_time import VirtualTimeLoop, run
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
