"""What the session, device, settings, reminder and resonance routes of /api (web/api.py,
web/reminders_api.py, web/resonance_api.py) answer, as typed records (what they take is
web/api_bodies.py).

The handlers build these, mostly from the store's own typed rows (``companion.store.queries``)
and answer with them whole, field by field (``companion.json_records.to_json``); web/openapi.py
generates their schemas from the same types, so the description states the shapes the server
sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import Field, WithJsonSchema

from companion.ble.found import FoundDevice
from companion.preferences import HR_CEILING, UNITS
from companion.reminders import model as reminder_model
from companion.routines.pacer import BreathPattern
from companion.store.queries import (
    DeviceRow,
    SampleRow,
    SessionDetail,
    SessionSummary,
)
from companion.store.resonance import StoredAssessment
from web import prefs
from web.api_bodies import HrCeiling, Units

# A time of day as the server writes it (``HH:MM`` on a 24-hour clock).
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Weekday = Annotated[str, WithJsonSchema({"enum": list(reminder_model.WEEKDAYS)})]


@dataclass(frozen=True)
class SessionCreated:
    id: str


@dataclass(frozen=True)
class Chosen:
    address: str | None


@dataclass(frozen=True)
class Forgotten:
    forgotten: str


@dataclass(frozen=True)
class Csrf:
    csrf_token: str


@dataclass(frozen=True)
class Reminder:
    """A stored reminder as the API answers with it."""

    id: int
    at: ClockTime
    days: Annotated[tuple[Weekday, ...], Field(min_length=1, max_length=7)]
    routine: str
    enabled: bool

    @classmethod
    def of(cls, stored: reminder_model.Reminder) -> Reminder:
        return cls(
            id=stored.id,
            at=stored.at.strftime("%H:%M"),
            days=tuple(stored.days),
            routine=stored.routine,
            enabled=stored.enabled,
        )


@dataclass(frozen=True)
class ReminderList:
    reminders: tuple[Reminder, ...]


@dataclass(frozen=True)
class Snoozed:
    at: Annotated[float, Field(description="When it rings again (Unix time).")]


@dataclass(frozen=True)
class ResonanceList:
    """The assessments as the store keeps them (``StoredAssessment``), each pace as the
    scorer wrote it (``companion.heart.resonance_json.PaceJson``)."""

    assessments: Annotated[tuple[StoredAssessment, ...], Field(description="Newest first.")]


@dataclass(frozen=True)
class ResonanceAdopted:
    id: int
    pace_per_min: float
    pattern: BreathPattern
    applies: str


@dataclass(frozen=True)
class Settings:
    """The settings with their defaults filled in (web/prefs.py)."""

    pattern: Annotated[BreathPattern | None, Field(description="null: each routine's own.")]
    hr_ceiling: HrCeiling
    units: Units
    wake_time: Annotated[
        ClockTime, Field(description="When the morning summary is made each day (default 07:00).")
    ]

    @classmethod
    def of(cls, preferences: object, wake_time: object) -> Settings:
        """From the stored preferences and wake time (either may be missing or unreadable)."""
        values = prefs.with_defaults(preferences)
        pattern = values[prefs.PATTERN]
        return cls(
            pattern=None if pattern is None else BreathPattern(**pattern),
            hr_ceiling=values[HR_CEILING],
            units=values[UNITS],
            wake_time=prefs.wake_time_or_default(wake_time),
        )


@dataclass(frozen=True)
class Samples:
    """A session's heart-rate samples in time order (contact: null when the band does not
    say; rr_ms: the beat intervals it sent with the sample)."""

    session_id: str
    samples: tuple[SampleRow, ...]


@dataclass(frozen=True)
class SessionList:
    """A page of History: sessions newest first, and the page asked for."""

    sessions: tuple[SessionSummary, ...]
    limit: int
    offset: int


@dataclass(frozen=True)
class KnownDevices:
    """The bands the companion has met, the most recently seen first (times: Unix time)."""

    devices: tuple[DeviceRow, ...]


@dataclass(frozen=True)
class FoundDevices:
    """What a scan found: bands heard advertising, and the one connected now."""

    devices: tuple[FoundDevice, ...]


# Every answer (described whole); the bodies taken are web/api_bodies.py's REQUESTS.
ANSWERS: Final = (
    SessionCreated,
    Chosen,
    Forgotten,
    Csrf,
    Reminder,
    ReminderList,
    Snoozed,
    ResonanceList,
    ResonanceAdopted,
    Settings,
    Samples,
    SessionList,
    SessionDetail,
    KnownDevices,
    FoundDevices,
)  # and PainAfter, as it came
