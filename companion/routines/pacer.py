"""Breathing pattern arithmetic, pure: phase lengths, breaths per minute, holds in breaths.

A pattern repeats inhale, hold-in, exhale, hold-out from offset 0. Phases of zero length
are skipped, so the default pattern (4 s in, 6 s out) is two phases and six breaths a minute.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from companion.json_records import fields_json

SECONDS_PER_MINUTE = 60.0

# Bounds keep every pattern slow and comfortable; a rate outside 3-12 breaths a minute
# is either a struggle or no longer paced breathing.
INHALE_RANGE_S = (2.0, 8.0)
EXHALE_RANGE_S = (2.0, 12.0)
HOLD_RANGE_S = (0.0, 6.0)
RATE_RANGE_PER_MIN = (3.0, 12.0)


class BreathPhase(enum.StrEnum):
    INHALE = "inhale"
    HOLD_IN = "hold-in"
    EXHALE = "exhale"
    HOLD_OUT = "hold-out"

    @property
    def word(self) -> str:
        """How the phase reads in an instruction: "Breathe {word} as you ..."."""
        return "in" if self is BreathPhase.INHALE else "out"

    @property
    def opposite(self) -> BreathPhase:
        return BreathPhase.EXHALE if self is BreathPhase.INHALE else BreathPhase.INHALE


class PatternError(ValueError):
    """A pattern outside the sane bounds; ``field`` is None when the whole cycle is at fault."""

    def __init__(self, field: str | None, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


def format_span(low: float, high: float, unit: str = "") -> str:
    """A range as people write it: "20\N{EN DASH}30 s"."""
    return f"{low:g}\N{EN DASH}{high:g}{unit}"


@dataclass(frozen=True)
class BreathPattern:
    inhale_s: float = 4.0
    hold_in_s: float = 0.0
    exhale_s: float = 6.0
    hold_out_s: float = 0.0

    def __post_init__(self) -> None:
        bounds = {
            "inhale_s": INHALE_RANGE_S,
            "hold_in_s": HOLD_RANGE_S,
            "exhale_s": EXHALE_RANGE_S,
            "hold_out_s": HOLD_RANGE_S,
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not math.isfinite(value) or not low <= value <= high:
                raise PatternError(name, f"{value:g} s is outside {format_span(low, high, ' s')}")
        low_rate, high_rate = RATE_RANGE_PER_MIN
        if not low_rate <= self.breaths_per_minute <= high_rate:
            raise PatternError(
                None,
                f"a {self.cycle_s:g} s breath is {self.breaths_per_minute:.3g} breaths "
                f"a minute; allowed {format_span(low_rate, high_rate)}",
            )

    @property
    def cycle_s(self) -> float:
        return self.inhale_s + self.hold_in_s + self.exhale_s + self.hold_out_s

    @property
    def breaths_per_minute(self) -> float:
        return SECONDS_PER_MINUTE / self.cycle_s

    def phase_starts(self) -> tuple[tuple[float, BreathPhase], ...]:
        """Where each phase of non-zero length starts within one cycle."""
        starts: list[tuple[float, BreathPhase]] = []
        offset = 0.0
        for phase, length in (
            (BreathPhase.INHALE, self.inhale_s),
            (BreathPhase.HOLD_IN, self.hold_in_s),
            (BreathPhase.EXHALE, self.exhale_s),
            (BreathPhase.HOLD_OUT, self.hold_out_s),
        ):
            if length > 0:
                starts.append((offset, phase))
            offset += length
        return tuple(starts)

    def breaths_for(self, seconds: float) -> int:
        """Whole breaths closest to ``seconds`` (halves round up), never fewer than one."""
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"a hold must last a positive number of seconds, not {seconds!r}")
        return max(1, math.floor(seconds / self.cycle_s + 0.5))

    def phases_between(self, start_s: float, end_s: float) -> list[tuple[float, BreathPhase]]:
        """Every phase start at or after ``start_s`` and before ``end_s``, cycles from 0."""
        if end_s < start_s:
            raise ValueError(f"the window ends ({end_s!r}) before it starts ({start_s!r})")
        cycle = self.cycle_s
        within = self.phase_starts()
        found: list[tuple[float, BreathPhase]] = []
        # Offsets are computed as n * cycle + phase start rather than summed, so long
        # timelines do not drift.
        n = math.floor(start_s / cycle)
        while n * cycle < end_s:
            for offset, phase in within:
                at = n * cycle + offset
                if start_s <= at < end_s:
                    found.append((at, phase))
            n += 1
        return found

    def to_json(self) -> dict[str, float]:
        return fields_json(self)


DEFAULT_PATTERN = BreathPattern()
