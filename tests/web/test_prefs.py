"""Settings validation: one table of what is accepted and what is refused, and why."""

from __future__ import annotations

from typing import Any

import pytest

from companion.preferences import PATTERN_FIELDS, UNITS
from companion.routines.pacer import BreathPattern
from web.api_bodies import Pattern, SettingsUpdate, Units, field_names
from web.prefs import (
    DEFAULTS,
    SETTING_KEYS,
    PrefsError,
    check_update,
    merged,
    wake_time_or_default,
    with_defaults,
)

FOUR_SIX = {"inhale_s": 4.0, "hold_in_s": 0.0, "exhale_s": 6.0, "hold_out_s": 0.0}


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({}, {}),
        ({"pattern": None}, {"pattern": None}),
        ({"pattern": {}}, {"pattern": FOUR_SIX}),
        (
            {"pattern": {"inhale_s": 5, "exhale_s": 7}},
            {"pattern": {**FOUR_SIX, "inhale_s": 5.0, "exhale_s": 7.0}},
        ),
        ({"pattern": {"hold_in_s": 2}}, {"pattern": {**FOUR_SIX, "hold_in_s": 2.0}}),
        ({"hr_ceiling": 80}, {"hr_ceiling": 80}),
        ({"hr_ceiling": 180}, {"hr_ceiling": 180}),
        # JSON Schema's "integer" takes a whole number written with a point.
        ({"hr_ceiling": 120.0}, {"hr_ceiling": 120}),
        ({"units": {"clock": "12h"}}, {"units": {"energy": "kJ", "clock": "12h"}}),
        ({"units": {"energy": "kcal"}}, {"units": {"energy": "kcal", "clock": "24h"}}),
        ({"wake_time": "6:45"}, {"wake_time": "06:45"}),
        ({"wake_time": "00:00"}, {"wake_time": "00:00"}),
        ({"wake_time": "23:59"}, {"wake_time": "23:59"}),
    ],
)
def test_accepted_updates(update: dict[str, Any], expected: dict[str, Any]) -> None:
    assert check_update(update) == expected


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"pattern": "slow"}, "pattern"),
        ({"pattern": {"inhale_s": 1}}, "pattern.inhale_s"),
        ({"pattern": {"exhale_s": 13}}, "pattern.exhale_s"),
        ({"pattern": {"hold_out_s": -1}}, "pattern.hold_out_s"),
        ({"pattern": {"inhale_s": True}}, "pattern.inhale_s"),
        ({"pattern": {"inhale_s": float("nan")}}, "pattern.inhale_s"),
        ({"pattern": {"inhale_s": 2, "exhale_s": 2}}, "pattern"),
        ({"pattern": {"inhale_s": 8, "exhale_s": 12, "hold_in_s": 6}}, "pattern"),
        ({"pattern": {"speed": 2}}, "pattern.speed"),
        ({"hr_ceiling": 79}, "hr_ceiling"),
        ({"hr_ceiling": 181}, "hr_ceiling"),
        ({"hr_ceiling": 120.5}, "hr_ceiling"),
        ({"hr_ceiling": False}, "hr_ceiling"),
        ({"units": []}, "units"),
        ({"units": {"energy": "cal"}}, "units.energy"),
        ({"units": {"speed": "mph"}}, "units.speed"),
        ({"volume": 3}, "volume"),
        ({"wake_time": "24:00"}, "wake_time"),
        ({"wake_time": "7"}, "wake_time"),
        ({"wake_time": "07:00:00"}, "wake_time"),
        ({"wake_time": 700}, "wake_time"),
        ({"wake_time": None}, "wake_time"),
    ],
)
def test_refused_updates_name_the_field(update: dict[str, Any], field: str) -> None:
    with pytest.raises(PrefsError) as caught:
        check_update(update)

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("stored", "shown"),
    [(None, "07:00"), ("06:30", "06:30"), ("half past six", "07:00"), (630, "07:00")],
)
def test_the_wake_time_shows_the_services_default_unless_a_good_one_is_stored(
    stored: object, shown: str
) -> None:
    assert wake_time_or_default(stored) == shown


def test_an_unknown_setting_names_all_the_known_ones() -> None:
    with pytest.raises(PrefsError) as caught:
        check_update({"volume": 3})

    assert caught.value.problem == "unknown setting; known: pattern, hr_ceiling, units, wake_time"


def test_nothing_stored_shows_the_defaults() -> None:
    assert with_defaults(None) == DEFAULTS


def test_a_stored_value_that_no_longer_validates_shows_as_its_default() -> None:
    stored = {"pattern": {"inhale_s": 99}, "hr_ceiling": 110, "units": "metric"}

    assert with_defaults(stored) == {**DEFAULTS, "hr_ceiling": 110}


@pytest.mark.parametrize(
    ("stored", "update", "expected"),
    [
        (None, {"hr_ceiling": 100}, {"hr_ceiling": 100}),
        (
            {"hr_ceiling": 100, "other": 1},
            {"pattern": FOUR_SIX},
            {"hr_ceiling": 100, "other": 1, "pattern": FOUR_SIX},
        ),
        ({"pattern": FOUR_SIX, "hr_ceiling": 100}, {"pattern": None}, {"hr_ceiling": 100}),
    ],
)
def test_merging_keeps_what_the_update_leaves_out_and_drops_a_null_pattern(
    stored: Any, update: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert merged(stored, update) == expected


def test_the_described_settings_bodies_name_exactly_what_the_parser_takes() -> None:
    assert field_names(SettingsUpdate) == set(SETTING_KEYS)
    assert field_names(Pattern) == set(PATTERN_FIELDS)
    assert field_names(Units) == set(DEFAULTS[UNITS])
    assert {key: getattr(Pattern(), key) for key in PATTERN_FIELDS} == BreathPattern().to_json()
