"""What the routes of /api take: their JSON request bodies, as typed records.

The handlers check a body with the parsers beside them (web/body.py, web/prefs.py and
``companion.preferences``, web/reminders_api.py) and build these records from what those
accept; web/openapi.py generates the bodies' schemas from the same types, as the server
reads them (fields with a default may be left out). The constraints (``Annotated``) are the
ones those parsers enforce, and every body refuses fields it does not name.

One rule no JSON Schema can state, that a breathing pattern's four phases together make
3-12 breaths a minute, is given in words and as the extension ``x-breaths-per-minute``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final

from annotated_types import Interval
from pydantic import ConfigDict, Field, WithJsonSchema, with_config
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from companion.pain import PAIN_MAX, PAIN_MIN
from companion.preferences import HR_CEILING_BPM, ClockStyle, EnergyUnit
from companion.reminders.model import WEEKDAYS
from companion.routines.pacer import (
    EXHALE_RANGE_S,
    HOLD_RANGE_S,
    INHALE_RANGE_S,
    RATE_RANGE_PER_MIN,
    BreathPattern,
)
from companion.summary.morning import WEEKDAY_NAMES
from web.schema_patterns import (
    BLUETOOTH_ADDRESS,
    HH_MM,
    anchored,
    weekday_item,
    weekday_list,
)
from web.settings import WebSettings

_CLOSED: Final = ConfigDict(extra="forbid")
_SETTINGS: Final = WebSettings()
_DEFAULT_PATTERN: Final = BreathPattern()

# Assessment ids are table row ids; nine digits keep a hostile one from overflowing the
# database's integer.
MAX_ASSESSMENT_ID: Final = 999_999_999
# What a new reminder's days may say: mon..sun or the full names, in any case.
DAY_WORDS: Final = (*WEEKDAYS, *(name.lower() for name in WEEKDAY_NAMES))

PainRating = Annotated[int, Interval(ge=PAIN_MIN, le=PAIN_MAX)]
# Stated in web/openapi_stated.py (at most MAX_ROUTINE_NAME characters): the served document
# lists the routine names there are now.
RoutineName = Annotated[str, WithJsonSchema({"$ref": "#/components/schemas/RoutineName"})]
Address = Annotated[str, Field(pattern=anchored(BLUETOOTH_ADDRESS))]
ScanSeconds = Annotated[float, Interval(ge=1, le=_SETTINGS.max_scan_timeout_s)]
# A time of day as web.timeofday.parse_hh_mm reads it (H:MM or HH:MM).
TimeOfDay = Annotated[
    str, Field(pattern=HH_MM, examples=["07:30"], description="HH:MM on a 24-hour clock.")
]
HrCeiling = Annotated[int, Interval(ge=HR_CEILING_BPM[0], le=HR_CEILING_BPM[1])]
_DayWord = Annotated[str, Field(pattern=weekday_item(DAY_WORDS))]
_DaysText = Annotated[str, Field(pattern=weekday_list(DAY_WORDS, len(WEEKDAYS)))]


def _seconds(bounds: tuple[float, float]) -> Interval:
    return Interval(ge=bounds[0], le=bounds[1])


@dataclass(frozen=True)
class _Body:
    """A request body: a field it does not name is refused (``reject_unknown``)."""

    __pydantic_config__: ClassVar[ConfigDict] = _CLOSED


@dataclass(frozen=True)
class Empty(_Body):
    """No body, or an empty object."""


@dataclass(frozen=True)
class StartSession(_Body):
    """Start a routine, with the pain felt before it (0-10) if given."""

    routine: RoutineName
    pain_before: PainRating | None = None


@dataclass(frozen=True)
class PainAfter(_Body):
    """The pain felt after the most recent routine (0-10)."""

    pain_after: PainRating


@dataclass(frozen=True)
class Scan(_Body):
    """How long to listen for bands (seconds; the server's default when left out)."""

    timeout_s: ScanSeconds = _SETTINGS.scan_timeout_s


@dataclass(frozen=True)
class Choose(_Body):
    """The band to use from now on, or null to forget the choice."""

    address: Address | None


@dataclass(frozen=True)
class Pattern(_Body):
    """A breathing pattern (``companion.preferences.check_pattern``); fields left out take
    their defaults."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "A breathing pattern; null means each routine's own. The four "
            f"phases together must make {RATE_RANGE_PER_MIN[0]:g} to "
            f"{RATE_RANGE_PER_MIN[1]:g} breaths a minute (one breath of "
            f"{60 / RATE_RANGE_PER_MIN[1]:g} to {60 / RATE_RANGE_PER_MIN[0]:g} s), or the "
            "server answers 422. Fields left out take their defaults.",
            "x-breaths-per-minute": {
                "minimum": RATE_RANGE_PER_MIN[0],
                "maximum": RATE_RANGE_PER_MIN[1],
            },
        },
    )
    inhale_s: Annotated[float, _seconds(INHALE_RANGE_S)] = _DEFAULT_PATTERN.inhale_s
    hold_in_s: Annotated[float, _seconds(HOLD_RANGE_S)] = _DEFAULT_PATTERN.hold_in_s
    exhale_s: Annotated[float, _seconds(EXHALE_RANGE_S)] = _DEFAULT_PATTERN.exhale_s
    hold_out_s: Annotated[float, _seconds(HOLD_RANGE_S)] = _DEFAULT_PATTERN.hold_out_s


@with_config(_CLOSED)
class Units(TypedDict, total=False):
    """How energy and the time of day are shown (``companion.preferences.check_units``);
    in a change, a unit left out keeps its value."""

    energy: EnergyUnit
    clock: ClockStyle


@with_config(_CLOSED)
class SettingsUpdate(TypedDict, total=False):
    """A change of some settings (web/prefs.py ``check_update``): keys left out keep their
    value, so none is required."""

    pattern: Pattern | None
    hr_ceiling: HrCeiling
    units: Units
    wake_time: TimeOfDay


@dataclass(frozen=True)
class NewReminder:
    """A reminder to add (web/reminders_api.py ``add``)."""

    at: TimeOfDay
    routine: RoutineName
    days: Annotated[
        Annotated[list[_DayWord], Field(min_length=1, max_length=len(WEEKDAYS))] | _DaysText | None,
        Field(
            description="Weekdays (mon..sun or full names, any case) as a list or a "
            "comma-separated string; left out or null: every day."
        ),
    ] = None


@dataclass(frozen=True)
class ReminderChange(_Body):
    """Turn a reminder on or off."""

    enabled: bool


@dataclass(frozen=True)
class ResonanceAdopt(_Body):
    """The assessment whose pace to adopt (web/resonance_api.py ``adopt``)."""

    id: Annotated[int, Interval(ge=1, le=MAX_ASSESSMENT_ID)]


def field_names(body: type[Any]) -> frozenset[str]:
    """The fields a body may have (a record's fields, a typed dict's keys): what its
    handler lets through ``reject_unknown``."""
    if dataclasses.is_dataclass(body):
        return frozenset(field.name for field in dataclasses.fields(body))
    return frozenset(body.__required_keys__ | body.__optional_keys__)


# Every body the API takes (each named in web/openapi.py's OPERATIONS).
REQUESTS: Final = (
    Empty,
    StartSession,
    PainAfter,
    Scan,
    Choose,
    SettingsUpdate,
    NewReminder,
    ReminderChange,
    ResonanceAdopt,
)
