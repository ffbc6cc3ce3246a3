"""Start slow: which level of effort the next session uses, from past sessions, pure.

Level 1 uses the low end of every exercise's range (20 s holds, 10 reps); the top level
uses the high end. A run of completed sessions without a pain stop steps up one level; a
pain stop steps back one. Stopped and interrupted sessions neither count nor reset the run.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from companion.events import SessionState


@dataclass(frozen=True)
class SessionOutcome:
    routine: str
    outcome: SessionState  # one of the final states: completed, stopped, pain, interrupted
    ended_at: float  # Unix time; only its order matters here

    def __post_init__(self) -> None:
        if not self.outcome.is_final:
            raise ValueError(f"a finished session cannot be {self.outcome.value!r}")


@dataclass(frozen=True)
class ProgressionPolicy:
    sessions_per_level: int = 3
    levels: int = 4
    # A one-minute demo is no evidence of readiness, nor is the breathing-only resonance
    # assessment; their pain stops still count.
    not_counted: frozenset[str] = frozenset({"taster", "resonance"})

    def __post_init__(self) -> None:
        if self.sessions_per_level < 1 or self.levels < 1:
            raise ValueError("sessions_per_level and levels must be at least 1")


@dataclass(frozen=True)
class ProgressionLevel:
    level: int
    levels: int
    reason: str

    @property
    def fraction(self) -> float:
        """How far up each exercise's range to go: 0 at level 1, 1 at the top level."""
        return 0.0 if self.levels == 1 else (self.level - 1) / (self.levels - 1)


class _Cause(enum.Enum):
    START = "starting gently"
    UP = "up"
    BACK = "stepped back after a pain stop"
    HELD = "kept at the start after a pain stop"


def progression_level(
    history: Sequence[SessionOutcome], policy: ProgressionPolicy
) -> ProgressionLevel:
    level, run, cause = 1, 0, _Cause.START
    for session in sorted(history, key=lambda s: s.ended_at):
        if session.outcome is SessionState.PAIN:
            cause = _Cause.BACK if level > 1 else _Cause.HELD
            level, run = max(1, level - 1), 0
        elif session.outcome is SessionState.COMPLETED:
            if session.routine in policy.not_counted:
                continue
            run += 1
            if run >= policy.sessions_per_level and level < policy.levels:
                level, run, cause = level + 1, 0, _Cause.UP
    return ProgressionLevel(level, policy.levels, _reason(level, run, cause, policy))


def _sessions(count: int) -> str:
    return f"{count} completed session{'' if count == 1 else 's'}"


def _reason(level: int, run: int, cause: _Cause, policy: ProgressionPolicy) -> str:
    if cause is _Cause.UP:
        why = f"up after {_sessions(policy.sessions_per_level)} without a pain stop"
    else:
        why = cause.value
    if level == policy.levels:
        progress = "the top level" if policy.levels > 1 else "the only level"
    else:
        progress = f"{run} of {_sessions(policy.sessions_per_level)} towards level {level + 1}"
    return f"level {level} of {policy.levels}: {why}; {progress}"
