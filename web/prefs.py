"""The settings the dashboard may change: the person's preferences and the wake time.

The preferences (their store key, values, defaults and checks) are
``companion.preferences``, shared with the session host, so both read one record the
same way; a change applies from the next routine on.

The wake time ("HH:MM", when the morning summary is made) has a key of its own,
``companion.reminders.model.WAKE_TIME_SETTING``, because the running reminder service
reads it there whenever the reminders change; the API shows it beside the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from companion.preferences import (
    CHECKS,
    DEFAULTS,
    HR_CEILING_BPM,
    KEYS,
    PATTERN,
    PREFERENCES_KEY,
    ClockStyle,
    EnergyUnit,
    PrefsError,
    with_defaults,
)
from companion.reminders.model import DEFAULT_WAKE_TIME, WAKE_TIME_SETTING
from web.timeofday import hh_mm, parse_hh_mm

# The names the dashboard's modules use, from the one place that defines them.
__all__ = [
    "DEFAULTS",
    "HR_CEILING_BPM",
    "PATTERN",
    "SETTING_KEYS",
    "STORE_KEY",
    "WAKE_TIME",
    "ClockStyle",
    "EnergyUnit",
    "PrefsError",
    "check_update",
    "check_wake_time",
    "merged",
    "wake_time_or_default",
    "with_defaults",
]

STORE_KEY: Final = PREFERENCES_KEY
WAKE_TIME: Final = WAKE_TIME_SETTING
# Everything GET /api/settings shows and PUT accepts: the preferences and the wake time.
SETTING_KEYS: Final = (*KEYS, WAKE_TIME)


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


_CHECKS = {**CHECKS, WAKE_TIME: check_wake_time}


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


def merged(stored: object, update: Mapping[str, Any]) -> dict[str, Any]:
    """What to store after a checked update: the stored record with the update's keys
    replaced, and a None pattern left out (the service reads absence as "the routine's own")."""
    record = dict(stored) if isinstance(stored, Mapping) else {}
    record.update(update)
    if record.get(PATTERN) is None:
        record.pop(PATTERN, None)
    return record
