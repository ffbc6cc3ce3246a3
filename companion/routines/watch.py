"""Watching heart rate during a routine: the safety rules and adaptive pacing, pure.

Both are fed ``(t, hr)`` readings with ``t`` in seconds of routine time and answer with a
decision; neither reads a clock or touches the band.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class SafetySettings:
    # Conservative defaults for gentle exercise lying down; the person can change them.
    ceiling_bpm: int = 120
    rise_above_baseline_bpm: int = 30
    sustained_s: float = 10.0
    baseline_window_s: float = 30.0


@dataclass(frozen=True)
class PacingSettings:
    above_baseline_bpm: int = 8
    settled_within_bpm: int = 3
    sustained_s: float = 30.0
    exhale_step_s: float = 1.0
    max_extra_exhale_s: float = 3.0


@dataclass(frozen=True)
class SafetyAlarm:
    reason: str
    hr: int


class Baseline:
    """The session's own resting level: the median of the first readings."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._first_t: float | None = None
        self._readings: list[int] = []
        self.value: float | None = None

    def add(self, t: float, hr: int) -> None:
        if self.value is not None:
            return
        if self._first_t is None:
            self._first_t = t
        self._readings.append(hr)
        if t - self._first_t >= self._window_s:
            self.value = statistics.median(self._readings)


class _Sustained:
    """True once a condition has held for ``span_s`` without a break."""

    def __init__(self, span_s: float) -> None:
        self._span_s = span_s
        self._since: float | None = None

    def update(self, t: float, condition: bool) -> bool:
        if not condition:
            self._since = None
            return False
        if self._since is None:
            self._since = t
        return t - self._since >= self._span_s

    def reset(self) -> None:
        self._since = None


class SafetyWatch:
    def __init__(self, settings: SafetySettings) -> None:
        self.settings = settings
        self.baseline = Baseline(settings.baseline_window_s)
        self._over_ceiling = _Sustained(settings.sustained_s)
        self._rise = _Sustained(settings.sustained_s)

    def add(self, t: float, hr: int) -> SafetyAlarm | None:
        self.baseline.add(t, hr)
        s = self.settings
        if self._over_ceiling.update(t, hr > s.ceiling_bpm):
            self._over_ceiling.reset()
            return SafetyAlarm(f"heart rate above {s.ceiling_bpm} bpm", hr)
        base = self.baseline.value
        rose = base is not None and hr > base + s.rise_above_baseline_bpm
        if self._rise.update(t, rose):
            self._rise.reset()
            return SafetyAlarm(f"heart rate {hr} bpm, well above this session's {base:.0f} bpm", hr)
        return None


class PacingWatch:
    """Lengthens the exhale while heart rate stays up, and steps back once it settles."""

    def __init__(self, settings: PacingSettings, baseline: Baseline) -> None:
        self.settings = settings
        self._baseline = baseline
        self.extra_exhale_s = 0.0
        self._high = _Sustained(settings.sustained_s)
        self._settled = _Sustained(settings.sustained_s)

    def add(self, t: float, hr: int) -> tuple[float, str] | None:
        """A new extra exhale length and why, when it changes."""
        base = self._baseline.value
        if base is None:
            return None
        s = self.settings
        if self._high.update(t, hr > base + s.above_baseline_bpm):
            self._high.reset()
            if self.extra_exhale_s < s.max_extra_exhale_s:
                self.extra_exhale_s = min(
                    s.max_extra_exhale_s, self.extra_exhale_s + s.exhale_step_s
                )
                return self.extra_exhale_s, f"heart rate stayed above {base:.0f} bpm"
        if self._settled.update(t, hr <= base + s.settled_within_bpm):
            self._settled.reset()
            if self.extra_exhale_s > 0:
                self.extra_exhale_s = max(0.0, self.extra_exhale_s - s.exhale_step_s)
                return self.extra_exhale_s, "heart rate settled"
        return None
