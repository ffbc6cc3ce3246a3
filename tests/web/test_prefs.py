"""Settings validation: one table of what is accepted and what is refused, and why."""

from __future__ import annotations

from typing import Any

import pytest

from web.prefs import DEFAULTS, PrefsError, check_update, merged, with_defaults

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
        ({"units": {"clock": "12h"}}, {"units": {"energy": "kJ", "clock": "12h"}}),
        ({"units": {"energy": "kcal"}}, {"units": {"energy": "kcal", "clock": "24h"}}),
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
        ({"hr_ceiling": 120.0}, "hr_ceiling"),
        ({"hr_ceiling": False}, "hr_ceiling"),
        ({"units": []}, "units"),
        ({"units": {"energy": "cal"}}, "units.energy"),
        ({"units": {"speed": "mph"}}, "units.speed"),
        ({"volume": 3}, "volume"),
    ],
)
def test_refused_updates_name_the_field(update: dict[str, Any], field: str) -> None:
    with pytest.raises(PrefsError) as caught:
        check_update(update)

    assert caught.value.field == field


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
