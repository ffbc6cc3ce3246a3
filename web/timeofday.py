"""Times of day as people type them into the API ("HH:MM", 24-hour), checked in one place."""

from __future__ import annotations

import datetime
import re
from typing import Final

from companion.reminders.model import parse_time

# ASCII digits only: int() alone would also take "1_0", " 7" and other scripts' digits.
_HH_MM: Final = re.compile(r"[0-9]{1,2}:[0-9]{2}")
PROBLEM: Final = "must be a time of day as HH:MM on a 24-hour clock, e.g. 07:30"


def parse_hh_mm(value: object) -> datetime.time:
    """``value`` as a time of day; ValueError (saying what is expected) for anything else."""
    if not isinstance(value, str) or not _HH_MM.fullmatch(value):
        raise ValueError(PROBLEM)
    try:
        return parse_time(value)
    except ValueError:
        raise ValueError(PROBLEM) from None


def hh_mm(moment: datetime.time) -> str:
    return moment.strftime("%H:%M")
