"""The person's settings the dashboard may change, and their validation (pure, in one place).

They live in the store under one key (``companion.service.SETTINGS_KEY``, "preferences"),
``{"pattern": {...}, "hr_ceiling": int, "units": {...}}``; the core reads them each time a
routine starts, so a change applies from the next routine on.
A missing ``pattern`` means each routine's own breathing pattern. Breathing patterns are
checked by ``companion.routines.pacer.BreathPattern``, so the web and the planner agree.

The wake time ("HH:MM", when the morning summary is made) has a key of its own,
``companion.reminders.scheduler.WAKE_TIME_SETTING``, because the running reminder service
reads it there whenever the reminders change; the API shows it beside the others.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any, Final

from companion.reminders.scheduler import DEFAULT_WAKE_TIME, WAKE_TIME_SETTING
from companion.routines.pacer import BreathPattern, PatternError
from companion.routines.watch import SafetySettings
from web.body import whole_number
from web.timeofday import hh_mm, parse_hh_mm

STORE_KEY: Final = "preferences"


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
WAKE_TIME: Final = WAKE_TIME_SETTING
# Everything GET /api/settings shows and PUT accepts: the preferences and the wake time.
SETTING_KEYS: Final = (*KEYS, WAKE_TIME)
PATTERN_FIELDS: Final = ("inhale_s", "hold_in_s", "exhale_s", "hold_out_s")

# A ceiling below 80 would stop most sessions for nothing; above 180 protects no one.
HR_CEILING_BPM: Final = (80, 180)

DEFAULTS: Final[dict[str, Any]] = {
    PATTERN: None,
    HR_CEILING: SafetySettings().ceiling_bpm,
    UNITS: {"energy": EnergyUnit.KJ.value, "clock": ClockStyle.H24.value},
}


class PrefsError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


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
    low, high = HR_CEILING_BPM
    number = whole_number(value)
    if number is None:
        raise PrefsError(HR_CEILING, f"must be a whole number from {low} to {high}")
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


def check_wake_time(value: object) -> str:
    try:
        return hh_mm(parse_hh_mm(value))
    except ValueError as error:
        raise PrefsError(WAKE_TIME, str(error)) from None


def wake_time_or_default(stored: object) -> str:
    """The stored wake time, or the service's default when there is none or it is unreadable."""
    try:
        return check_wake_time(stored)
    except PrefsError:
        return hh_mm(DEFAULT_WAKE_TIME)


_CHECKS = {
    PATTERN: check_pattern,
    HR_CEILING: check_hr_ceiling,
    UNITS: check_units,
    WAKE_TIME: check_wake_time,
}


def check_update(update: Mapping[str, Any]) -> dict[str, Any]:
    """The validated values of a (partial) settings update; raises PrefsError on the first
    problem so nothing is half-applied."""
    checked: dict[str, Any] = {}
    for key, value in update.items():
        check = _CHECKS.get(key)
        if check is None:
            raise PrefsError(key, f"unknown setting; known: {', '.join(SETTING_KEYS)}")
        checked[key] = check(value)
    return checked


def with_defaults(stored: object) -> dict[str, Any]:
    """Stored values over the defaults; a stored value that no longer validates (an older
    version's, or edited by hand) shows as the default rather than breaking the page."""
    saved = stored if isinstance(stored, Mapping) else {}
    result: dict[str, Any] = {}
    for key in KEYS:
        try:
            result[key] = _CHECKS[key](saved.get(key, DEFAULTS[key]))
        except PrefsError:
            result[key] = _CHECKS[key](DEFAULTS[key])
    return result


def merged(stored: object, update: Mapping[str, Any]) -> dict[str, Any]:
    """What to store after a checked update: the stored record with the update's keys
    replaced, and a None pattern left out (the service reads absence as "the routine's own")."""
    record = dict(stored) if isinstance(stored, Mapping) else {}
    record.update(update)
    if record.get(PATTERN) is None:
        record.pop(PATTERN, None)
    return record
