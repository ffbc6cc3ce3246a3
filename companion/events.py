"""Typed events that flow from the core loop to the engine, recorder and live feed.

Every event is a frozen value. ``mono`` is the monotonic time it happened (used for
ordering and timing inside the core); ``wall`` is the Unix time attached for storage
and display. ``to_json`` gives the payload sent to the dashboard and the CLI;
``on_dashboard`` says whether the dashboard's stream gets the event at all (the session
host's feed sends it, and the API's description lists it, exactly when it is true).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, ClassVar

from companion.cues import CueName
from companion.json_records import WritesItself, fields_json
from companion.routines.plan import BandWrite, Plan


class LinkState(enum.StrEnum):
    SCANNING = "scanning"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    SILENT = "silent"  # connected, but no notification for a few seconds
    LOST = "lost"
    RECONNECTED = "reconnected"
    CLOSED = "closed"
    # The computer's own Bluetooth is missing (no bus, no BlueZ, no adapter, off, denied);
    # the detail says which, and the fix.
    UNAVAILABLE = "unavailable"


class SessionState(enum.StrEnum):
    """Where a session is, and once it has ended, how it ended: its outcome.

    The store keeps a session's outcome as this value (``paused`` never: to the store a
    paused session is still running); ``in_words`` is how people are told it.
    """

    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    PAIN = "pain"
    INTERRUPTED = "interrupted"

    @property
    def is_final(self) -> bool:
        return self not in (SessionState.RUNNING, SessionState.PAUSED)

    @property
    def in_words(self) -> str:
        """The one wording for people: pages, the morning summary and the CLI."""
        return _SESSION_STATE_WORDS[self]


_SESSION_STATE_WORDS: dict[SessionState, str] = {
    SessionState.RUNNING: "in progress",
    SessionState.PAUSED: "paused",
    SessionState.COMPLETED: "completed",
    SessionState.STOPPED: "stopped early",
    SessionState.PAIN: "stopped for pain",
    SessionState.INTERRUPTED: "interrupted",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event(WritesItself):
    kind: ClassVar[str] = "event"
    # Whether the dashboard's live stream carries events of this kind (every subscriber of
    # the bus, `companion session --jsonl` among them, gets all of them).
    on_dashboard: ClassVar[bool] = True
    mono: float
    wall: float

    def to_json(self) -> dict[str, Any]:
        """As the stream sends it: its kind as ``type``, then its fields but ``mono`` (a clock
        only this process can read)."""
        fields = fields_json(self)
        del fields["mono"]
        return {"type": self.kind, **fields}


@dataclasses.dataclass(frozen=True, kw_only=True)
class HeartRateSample(Event):
    kind: ClassVar[str] = "hr"
    device: str
    hr: int
    contact: bool | None
    energy_kj: int | None
    rr_ms: tuple[float, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class HeartRateStale(Event):
    """The last heart rate has grown too old to show as live (no sample since)."""

    kind: ClassVar[str] = "hr_stale"
    device: str
    last_hr: int
    last_wall: float
    age_s: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class BatteryLevel(Event):
    kind: ClassVar[str] = "battery"
    device: str
    percent: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class LinkChanged(Event):
    kind: ClassVar[str] = "link"
    device: str
    state: LinkState
    detail: str = ""
    name: str | None = None  # the band's advertised name, once known
    profile: str | None = None  # the device profile in use, once connected


@dataclasses.dataclass(frozen=True, kw_only=True)
class PacketDropped(Event):
    kind: ClassVar[str] = "dropped"
    device: str
    characteristic: str
    reason: str
    total: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionStarted(Event):
    kind: ClassVar[str] = "session"
    run_id: str
    routine: str
    level: int
    total_s: float
    pain_before: int | None
    plan: Plan  # as composed for the band, if there is one (the store keeps it whole)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BandScript(Event):
    """What the band is to receive for a session: every write of its composed plan, in
    order, at plan offsets. Published right after the session starts when the plan was
    composed for a band; device detail kept out of ``SessionStarted``. Not sent to the
    dashboard (which shows cues, not writes); ``companion session --jsonl`` prints it."""

    kind: ClassVar[str] = "band_script"
    on_dashboard: ClassVar[bool] = False
    run_id: str
    writes: tuple[BandWrite, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class StepStarted(Event):
    kind: ClassVar[str] = "step"
    run_id: str
    step: int
    name: str
    exercise: str
    side: str | None
    start_s: float
    end_s: float
    instructions: str
    breaths: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CueFired(Event):
    kind: ClassVar[str] = "cue"
    run_id: str
    step: int
    cue: CueName
    planned_s: float
    actual_s: float
    on_wrist: bool  # handed to the band (see CueDelivered for what reached it)
    duration_s: float = 0.0
    # On the band's one haptic channel: played, delayed, folded, dropped, cut or screen
    # (empty when the plan was not composed for a band), and why.
    fate: str = ""
    reason: str = ""
    pending: bool = False  # its writes are under way; a CueDelivered follows


@dataclasses.dataclass(frozen=True, kw_only=True)
class CueDelivered(Event):
    """What became of a cue's writes at the band: all taken (and acknowledged, where the
    profile writes with response), or not, with the reason; and how late the first went out."""

    kind: ClassVar[str] = "cue_delivered"
    run_id: str
    step: int
    cue: CueName
    planned_s: float
    on_wrist: bool
    acknowledged: bool
    first_write_late_s: float | None
    reason: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionStateChanged(Event):
    kind: ClassVar[str] = "state"
    run_id: str
    state: SessionState
    step: int | None
    reason: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PacingAdapted(Event):
    kind: ClassVar[str] = "pacing"
    run_id: str
    exhale_s: float
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PainRated(Event):
    kind: ClassVar[str] = "rating"
    run_id: str
    moment: str  # "before" or "after"
    pain: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """Something the person should see: a reminder banner, a store problem, a safety pause."""

    kind: ClassVar[str] = "notice"
    level: str  # "info", "warning", "error"
    topic: str
    message: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReminderDue(Event):
    """A reminder fired: the dashboard shows a banner (start now, snooze, dismiss)."""

    kind: ClassVar[str] = "reminder"
    reminder_id: int
    routine: str
    message: str
    on_wrist: bool
