"""Stored times follow the system clock between routines and ignore its jumps during one."""

from __future__ import annotations

from dataclasses import dataclass

from companion.clock import WallClock


@dataclass
class Clocks:
    mono: float = 100.0
    wall: float = 1_800_000_000.0

    def tick(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def test_wall_times_follow_the_monotonic_clock_from_the_anchor() -> None:
    c = Clocks()
    clock = WallClock(lambda: c.wall, lambda: c.mono)
    c.tick(12.5)

    assert clock.now() == 1_800_000_012.5
    assert clock.wall_at(c.mono - 2.0) == 1_800_000_010.5


def test_a_clock_jump_during_a_routine_does_not_bend_its_times() -> None:
    c = Clocks()
    clock = WallClock(lambda: c.wall, lambda: c.mono)
    clock.hold()
    c.tick(10.0)
    c.wall += 3600.0  # NTP steps the clock an hour forward

    assert clock.now() == 1_800_000_010.0
    c.tick(5.0)
    assert clock.now() == 1_800_000_015.0


def test_after_the_routine_the_clock_follows_the_corrected_system_time() -> None:
    c = Clocks()
    clock = WallClock(lambda: c.wall, lambda: c.mono)
    clock.hold()
    c.wall -= 120.0
    clock.release()

    assert clock.now() == c.wall


def test_small_slewing_is_not_a_jump() -> None:
    c = Clocks()
    clock = WallClock(lambda: c.wall, lambda: c.mono)
    c.wall += 0.4

    assert clock.now() == 1_800_000_000.0
