"""The person's preferences: one record in the store and its one parser (pure).

They live in the store under ``PREFERENCES_KEY`` ("preferences") as
``{"pattern": {...}, "hr_ceiling": int, "units": {...}}``. The dashboard checks an update
with the ``check_*`` functions before it saves it; the session host reads the record each
time a routine starts (``read_preferences``), and ``companion plan`` reads its pattern, so
all of them take the same values and refuse the same ones.

A missing ``pattern`` means each routine's own breathing pattern. Breathing patterns are
checked by ``companion.routines.pacer.BreathPattern``, so the dashboard and the planner agree.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from companion.routines.pacer import BreathPattern, PatternError
from companion.routines.watch import SafetySettings

_LOGGER = logging.getLogger(__name__)

PREFERENCES_KEY: Final = "preferences"


class EnergyUnit(enum.StrEnum):
    KJ = "kJ"
    KCAL = "kcal"


class ClockStyle(enum.StrEnum):
    H24 = "24h"
    H12 = "12h"


PATTERN: Final = "pattern"
HR_CEILING: Final = "hr_ceiling"
UNITS: Final = "units"
KEYS: Final = (PATTERN, HR_CEILING, UNITS)
PATTERN_FIELDS: Final = ("inhale_s", "hold_in_s", "exhale_s", "hold_out_s")

# A ceiling below 80 would stop most sessions for nothing; above 180 protects no one.
HR_CEILING_BPM: Final = (80, 180)

DEFAULTS: Final[dict[str, Any]] = {
    PATTERN: None,
    HR_CEILING: SafetySettings().ceiling_bpm,
    UNITS: {"energy": EnergyUnit.KJ.value, "clock": ClockStyle.H24.value},
}


class PrefsError(ValueError):
    """A preference that is not allowed: which one (``field``, a dotted path) and why."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class Preferences:
    pattern: BreathPattern | None  # None: each routine's own pattern, else the default
    hr_ceiling: int
    energy: EnergyUnit
    clock: ClockStyle

    @property
    def safety(self) -> SafetySettings:
        return SafetySettings(ceiling_bpm=self.hr_ceiling)


def _object(value: object, field: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PrefsError(field, "must be an object")
    for key in value:
        if key not in allowed:
            raise PrefsError(f"{field}.{key}", f"unknown; allowed: {', '.join(allowed)}")
    return value


def check_pattern(value: object) -> dict[str, float] | None:
    """A breathing pattern (fields left out take BreathPattern's defaults), or None for
    each routine's own."""
    if value is None:
        return None
    given = _object(value, PATTERN, PATTERN_FIELDS)
    for key, number in given.items():
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise PrefsError(f"{PATTERN}.{key}", "must be a number of seconds")
        if not math.isfinite(number):
            raise PrefsError(f"{PATTERN}.{key}", "must be a finite number of seconds")
    try:
        pattern = BreathPattern(**{k: float(v) for k, v in given.items()})
    except PatternError as error:
        field = f"{PATTERN}.{error.field}" if error.field else PATTERN
        raise PrefsError(field, error.problem) from None
    return pattern.to_json()


def check_hr_ceiling(value: object) -> int:
    """A whole number of beats a minute (9 or 9.0, as JSON Schema's "integer" allows)."""
    low, high = HR_CEILING_BPM
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not value.is_integer())
    ):
        raise PrefsError(HR_CEILING, f"must be a whole number from {low} to {high}")
    number = int(value)
    if not low <= number <= high:
        raise PrefsError(HR_CEILING, f"must be from {low} to {high}")
    return number


def check_units(value: object) -> dict[str, str]:
    given = _object(value, UNITS, ("energy", "clock"))
    merged = {**DEFAULTS[UNITS], **given}
    result: dict[str, str] = {}
    for key, kind in (("energy", EnergyUnit), ("clock", ClockStyle)):
        try:
            result[key] = kind(merged[key]).value
        except (ValueError, TypeError):
            allowed = ", ".join(member.value for member in kind)
            raise PrefsError(f"{UNITS}.{key}", f"must be one of {allowed}") from None
    return result


CHECKS: Final[Mapping[str, Callable[[object], Any]]] = {
    PATTERN: check_pattern,
    HR_CEILING: check_hr_ceiling,
    UNITS: check_units,
}


def with_defaults(stored: object) -> dict[str, Any]:
    """The stored record's values over the defaults, as JSON; a stored value that no longer
    validates (an older version's, or edited by hand) is logged and taken as the default,
    so neither a page nor a session breaks on it."""
    saved = stored if isinstance(stored, Mapping) else {}
    result: dict[str, Any] = {}
    for key in KEYS:
        try:
            result[key] = CHECKS[key](saved.get(key, DEFAULTS[key]))
        except PrefsError as error:
            _LOGGER.warning("ignored saved preference %s", error)
            result[key] = CHECKS[key](DEFAULTS[key])
    return result


def read_preferences(stored: object) -> Preferences:
    """The stored record (or None when nothing is saved) as typed preferences, a value
    that does not validate taken as its default (see ``with_defaults``)."""
    values = with_defaults(stored)
    pattern = values[PATTERN]
    return Preferences(
        pattern=BreathPattern(**pattern) if pattern is not None else None,
        hr_ceiling=values[HR_CEILING],
        energy=EnergyUnit(values[UNITS]["energy"]),
        clock=ClockStyle(values[UNITS]["clock"]),
    )
