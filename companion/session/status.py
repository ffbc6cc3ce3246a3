"""What the session host answers: its status snapshot and its routine list, as typed records.

The real host and any test double build these same records, and the web layer turns them to
JSON once (``companion.json_records.to_json``); the OpenAPI description is generated from
the same types, so the three cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from companion.events import LinkState, Notice, SessionState
from companion.routines.pacer import BreathPattern
from companion.routines.plan import PlannedStep

NO_LINK: Literal["none"] = "none"


@dataclasses.dataclass(frozen=True)
class RoutineSummary:
    """A routine the companion can run, timed at the first level with the saved pattern."""

    name: str
    title: str
    description: str
    total_s: float


@dataclasses.dataclass(frozen=True)
class LinkStatus:
    """The band's link: its state and why (``detail``), which band and profile, its battery
    and how many packets were dropped. ``state`` is "none" when no band link is configured."""

    state: LinkState | Literal["none"]
    detail: str
    device: str | None
    profile: str | None
    battery: int | None
    dropped_packets: int


@dataclasses.dataclass(frozen=True)
class HeartRateNow:
    """The last heart rate heard, with its age; ``stale`` once it is too old to show as live."""

    hr: int
    contact: bool | None
    t: float
    rr_ms: tuple[float, ...]
    age_s: float
    stale: bool


@dataclasses.dataclass(frozen=True)
class IdleSession:
    """No routine has been started (or a start was cancelled before it began)."""

    state: Literal["idle"] = "idle"


@dataclasses.dataclass(frozen=True)
class SessionNow:
    """The routine started last: where it is (``offset_s`` of ``total_s``), its breathing
    pattern, the current step (None before the first) and how many steps the plan has.
    ``reason`` says why it ended, once it has."""

    id: str
    state: SessionState
    routine: str
    title: str
    level: int
    level_reason: str
    offset_s: float
    total_s: float
    reason: str
    pattern: BreathPattern
    step: PlannedStep | None
    steps: int


SessionStatus = IdleSession | SessionNow


@dataclasses.dataclass(frozen=True)
class Status:
    """The snapshot the dashboard reads: link, last heart rate, session, the latest notices
    and how many live streams are open."""

    link: LinkStatus
    heart_rate: HeartRateNow | None
    session: SessionStatus
    notices: tuple[Notice, ...]
    streams: int
