"""The one preferences parser: a stored record as typed preferences, a bad value its default."""

from __future__ import annotations

from typing import Any

import pytest

from companion.preferences import ClockStyle, EnergyUnit, Preferences, read_preferences
from companion.routines.pacer import BreathPattern
from companion.routines.watch import SafetySettings

DEFAULT = Preferences(
    pattern=None,
    hr_ceiling=SafetySettings().ceiling_bpm,
    energy=EnergyUnit.KJ,
    clock=ClockStyle.H24,
)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, DEFAULT),
        ({}, DEFAULT),
        ({"pattern": None, "hr_ceiling": 110},
         Preferences(None, 110, EnergyUnit.KJ, ClockStyle.H24)),
        ({"pattern": {"inhale_s": 4, "hold_in_s": 0, "exhale_s": 8, "hold_out_s": 0},
          "units": {"energy": "kcal", "clock": "12h"}},
         Preferences(BreathPattern(exhale_s=8.0), 120, EnergyUnit.KCAL, ClockStyle.H12)),
        # A value that does not validate is taken as its default; the others stay.
        ({"pattern": {"inhale_s": 99}, "hr_ceiling": 100},
         Preferences(None, 100, EnergyUnit.KJ, ClockStyle.H24)),
        ({"hr_ceiling": "lots"}, DEFAULT),
        ({"hr_ceiling": 300}, DEFAULT),
        ({"hr_ceiling": True}, DEFAULT),
        ({"units": {"energy": "joules"}}, DEFAULT),
        ("not a record", DEFAULT),
    ],
)  # fmt: skip
def test_a_stored_record_reads_as_typed_preferences(stored: Any, expected: Preferences) -> None:
    assert read_preferences(stored) == expected


def test_the_ceiling_becomes_the_safety_watch_setting() -> None:
    preferences = read_preferences({"hr_ceiling": 95})

    assert preferences.safety == SafetySettings(ceiling_bpm=95)
