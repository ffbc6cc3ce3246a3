"""What each event changes in the store, and how those changes are written.

:class:`EventTranslator` turns events into :class:`Write` values without touching the
database (it only remembers which session is running and which band was last heard);
:func:`apply_writes` executes a batch of them on one connection, inside the caller's
transaction.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, Table, insert, update
from sqlalchemy.dialects import postgresql, sqlite

from companion.events import (
    CueDelivered,
    CueFired,
    Event,
    HeartRateSample,
    LinkChanged,
    LinkState,
    PacingAdapted,
    PainRated,
    SessionStarted,
    SessionStateChanged,
    StepStarted,
)
from companion.routines.plan import Plan, with_band_writes
from companion.store.day_facts import sessions_changed
from companion.store.schema import (
    Cue,
    Device,
    LinkEvent,
    Outcome,
    PacingEvent,
    Sample,
    Session,
    Step,
    table_of,
)

_LOGGER = logging.getLogger(__name__)

_SESSIONS = table_of(Session)
_STEPS = table_of(Step)
_CUES = table_of(Cue)
_SAMPLES = table_of(Sample)
_LINK_EVENTS = table_of(LinkEvent)
_PACING_EVENTS = table_of(PacingEvent)
_DEVICES = table_of(Device)

_CONNECTED_STATES = frozenset({LinkState.CONNECTED, LinkState.RECONNECTED})


class WriteKind(enum.Enum):
    SAMPLE = "sample"
    INSERT_SESSION = "insert_session"
    INSERT_STEP = "insert_step"
    START_STEP = "start_step"
    INSERT_CUE = "insert_cue"
    CUE_DELIVERED = "cue_delivered"
    INSERT_LINK = "insert_link"
    INSERT_PACING = "insert_pacing"
    PAIN_BEFORE = "pain_before"
    PAIN_AFTER = "pain_after"
    FINISH_SESSION = "finish_session"
    SEEN_DEVICE = "seen_device"


@dataclasses.dataclass(frozen=True, slots=True)
class Write:
    """One change to the store: a kind and the row values it needs."""

    kind: WriteKind
    params: Mapping[str, Any]

    @property
    def is_sample(self) -> bool:
        return self.kind is WriteKind.SAMPLE


class EventTranslator:
    """Maps events to writes; remembers the running session so samples can name it."""

    def __init__(self) -> None:
        self.running_session: str | None = None
        self.last_device: str | None = None

    def writes_for(self, event: Event) -> list[Write]:
        match event:
            case HeartRateSample():
                self.last_device = event.device
                return [Write(WriteKind.SAMPLE, self._sample(event))]
            case LinkChanged():
                return self._link(event)
            case SessionStarted():
                self.running_session = event.run_id
                return self._session_started(event)
            case StepStarted():
                return [Write(WriteKind.START_STEP, _step_from_event(event))]
            case CueFired():
                return [Write(WriteKind.INSERT_CUE, _cue(event))]
            case CueDelivered():
                return [Write(WriteKind.CUE_DELIVERED, _delivered(event))]
            case PacingAdapted():
                params = {
                    "session_id": event.run_id,
                    "t": event.wall,
                    "exhale_s": event.exhale_s,
                    "reason": event.reason,
                }
                return [Write(WriteKind.INSERT_PACING, params)]
            case PainRated():
                return _pain(event)
            case SessionStateChanged() if event.state.is_final:
                if event.run_id == self.running_session:
                    self.running_session = None
                return [Write(WriteKind.FINISH_SESSION, _finish(event))]
            case _:
                # Battery levels, dropped packets, notices and pauses are live-only; the
                # band's script is kept with the session's plan.
                return []

    def _sample(self, event: HeartRateSample) -> dict[str, Any]:
        return {
            "session_id": self.running_session,
            "device": event.device,
            "t": event.wall,
            "hr": event.hr,
            "contact": event.contact,
            "energy_kj": event.energy_kj,
            "rr_ms": json.dumps(list(event.rr_ms)) if event.rr_ms else None,
        }

    def _link(self, event: LinkChanged) -> list[Write]:
        writes = []
        if event.state in _CONNECTED_STATES:
            self.last_device = event.device
            seen = {"address": event.device, "t": event.wall, "name": event.name}
            writes.append(Write(WriteKind.SEEN_DEVICE, {**seen, "profile": event.profile}))
        params = {
            "device": event.device,
            "t": event.wall,
            "state": event.state.value,
            "detail": event.detail,
            "session_id": self.running_session,
        }
        writes.append(Write(WriteKind.INSERT_LINK, params))
        return writes

    def _session_started(self, event: SessionStarted) -> list[Write]:
        plan = event.plan
        session = {
            "id": event.run_id,
            "routine": event.routine,
            "title": plan.title or event.routine,
            "level": event.level,
            "level_reason": plan.level_reason or None,
            "started_at": event.wall,
            "ended_at": None,
            "outcome": Outcome.RUNNING.value,
            "pain_before": event.pain_before,
            "pain_after": None,
            "device": self.last_device,
            "total_planned_s": event.total_s,
            # With the band's whole write sequence, as History has always kept it (the
            # live BandScript event carries the same, derived from the same plan).
            "plan_json": json.dumps(with_band_writes(plan), sort_keys=True),
            "pain_step": None,
            "pain_at": None,
        }
        writes = [Write(WriteKind.INSERT_SESSION, session)]
        writes.extend(Write(WriteKind.INSERT_STEP, step) for step in plan_steps(event.run_id, plan))
        return writes


def plan_steps(session_id: str, plan: Plan) -> list[dict[str, Any]]:
    """A row for each of the plan's steps, not yet started."""
    return [
        {
            "session_id": session_id,
            "idx": step.index,
            "name": step.name,
            "exercise": step.exercise,
            "side": step.side.value if step.side else None,
            "mode": step.mode.value,
            "planned_start_s": step.start_s,
            "planned_end_s": step.end_s,
            "breaths": step.breaths,
            "reps": step.reps,
            "started_at": None,
            "ended_at": None,
        }
        for step in plan.steps
    ]


def _step_from_event(event: StepStarted) -> dict[str, Any]:
    return {
        "session_id": event.run_id,
        "idx": event.step,
        "name": event.name,
        "exercise": event.exercise,
        "side": event.side,
        "mode": None,
        "planned_start_s": event.start_s,
        "planned_end_s": event.end_s,
        "breaths": event.breaths,
        "reps": None,
        "started_at": event.wall,
        "ended_at": None,
    }


def _cue(event: CueFired) -> dict[str, Any]:
    return {
        "session_id": event.run_id,
        "step_idx": event.step,
        "cue": event.cue,
        "planned_s": event.planned_s,
        "actual_s": event.actual_s,
        "duration_s": event.duration_s,
        # "On wrist" is only stored as true once it is known: writes still under way are
        # pending until their CueDelivered says what reached the band.
        "on_wrist": event.on_wrist and not event.pending,
        "at": event.wall,
        "fate": event.fate or None,
        "note": event.reason or None,
        "delivery": "pending" if event.pending else None,
        "acknowledged": None,
        "first_write_late_s": None,
        "failure": None,
    }


def _delivered(event: CueDelivered) -> dict[str, Any]:
    delivery = "acknowledged" if event.acknowledged else "sent"
    if not event.on_wrist:
        delivery = "failed"
    return {
        "session_id": event.run_id,
        "step_idx": event.step,
        "cue": event.cue,
        "planned_s": event.planned_s,
        "on_wrist": event.on_wrist,
        "delivery": delivery,
        "acknowledged": event.acknowledged,
        "first_write_late_s": event.first_write_late_s,
        "failure": None if event.on_wrist else (event.reason or "the band did not take it"),
        "note": event.reason if event.on_wrist and event.reason else None,
    }


def _pain(event: PainRated) -> list[Write]:
    kinds = {"before": WriteKind.PAIN_BEFORE, "after": WriteKind.PAIN_AFTER}
    kind = kinds.get(event.moment)
    if kind is None:
        _LOGGER.warning(
            "pain rating for %s at unknown moment %r ignored", event.run_id, event.moment
        )
        return []
    return [Write(kind, {"id": event.run_id, "pain": event.pain})]


def _finish(event: SessionStateChanged) -> dict[str, Any]:
    in_pain = event.state.value == Outcome.PAIN.value
    return {
        "id": event.run_id,
        "outcome": Outcome(event.state.value).value,
        "ended_at": event.wall,
        "pain_step": event.step if in_pain else None,
        "pain_at": event.wall if in_pain else None,
    }


# --- executing writes -------------------------------------------------------------------


def apply_writes(connection: Connection, writes: Iterable[Write]) -> None:
    """Execute ``writes`` in order; runs of inserts of one kind go as one executemany."""
    for kind, run in groupby(writes, key=lambda write: write.kind):
        params = [write.params for write in run]
        _EXECUTORS[kind](connection, params)


def _insert_into(table: Any) -> Callable[[Connection, Sequence[Mapping[str, Any]]], None]:
    def execute(connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        connection.execute(insert(table), list(params))

    return execute


def _start_steps(connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
    for step in params:
        _close_open_steps(connection, step["session_id"], step["started_at"])
        result = connection.execute(
            update(_STEPS)
            .where(_STEPS.c.session_id == step["session_id"], _STEPS.c.idx == step["idx"])
            .values(started_at=step["started_at"], ended_at=None)
        )
        if result.rowcount == 0:
            # The plan did not list this step (or listed it in a shape we could not read).
            connection.execute(insert(_STEPS), [dict(step)])


def _close_open_steps(connection: Connection, session_id: str, at: float) -> None:
    connection.execute(
        update(_STEPS)
        .where(
            _STEPS.c.session_id == session_id,
            _STEPS.c.started_at.is_not(None),
            _STEPS.c.ended_at.is_(None),
        )
        .values(ended_at=at)
    )


def _set_pain(column: str) -> Callable[[Connection, Sequence[Mapping[str, Any]]], None]:
    def execute(connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        for rating in params:
            connection.execute(
                update(_SESSIONS)
                .where(_SESSIONS.c.id == rating["id"])
                .values({column: rating["pain"]})
            )

    return execute


def _finish_sessions(connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
    for end in params:
        _close_open_steps(connection, end["id"], end["ended_at"])
        connection.execute(
            update(_SESSIONS)
            .where(_SESSIONS.c.id == end["id"])
            .values(
                outcome=end["outcome"],
                ended_at=end["ended_at"],
                pain_step=end["pain_step"],
                pain_at=end["pain_at"],
            )
        )
    # An ended session is what the streak counts, so its day is counted again here.
    sessions_changed(connection, [end["id"] for end in params])


def _cues_delivered(connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
    for outcome in params:
        changes = {
            key: outcome[key]
            for key in ("on_wrist", "delivery", "acknowledged", "first_write_late_s", "failure")
        }
        if outcome["note"] is not None:
            changes["note"] = outcome["note"]
        connection.execute(
            update(_CUES)
            .where(
                _CUES.c.session_id == outcome["session_id"],
                _CUES.c.step_idx == outcome["step_idx"],
                _CUES.c.cue == outcome["cue"],
                _CUES.c.planned_s == outcome["planned_s"],
            )
            .values(changes)
        )


def _seen_devices(connection: Connection, params: Sequence[Mapping[str, Any]]) -> None:
    for seen in params:
        upsert_device_row(
            connection,
            seen["address"],
            seen_at=seen["t"],
            name=seen.get("name"),
            profile=seen.get("profile"),
        )


def upsert_device_row(
    connection: Connection,
    address: str,
    *,
    seen_at: float,
    name: str | None = None,
    profile: str | None = None,
) -> None:
    """Insert a device or move its ``last_seen``; a name or profile given replaces the old."""
    values = {
        "address": address,
        "name": name,
        "profile": profile,
        "first_seen": seen_at,
        "last_seen": seen_at,
    }
    changes: dict[str, Any] = {"last_seen": seen_at}
    if name is not None:
        changes["name"] = name
    if profile is not None:
        changes["profile"] = profile
    upsert(connection, _DEVICES, values, changes)


def upsert(
    connection: Connection, table: Table, values: Mapping[str, Any], changes: Mapping[str, Any]
) -> None:
    """Insert ``values``, or apply ``changes`` to the row with the same primary key."""
    keys = [column.name for column in table.primary_key]
    # Both backends we support spell it INSERT ... ON CONFLICT DO UPDATE.
    statement = _UPSERT_INSERTS[connection.dialect.name](table).values(dict(values))
    connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))


_UPSERT_INSERTS: dict[str, Callable[[Table], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


_EXECUTORS: dict[WriteKind, Callable[[Connection, Sequence[Mapping[str, Any]]], None]] = {
    WriteKind.SAMPLE: _insert_into(_SAMPLES),
    WriteKind.INSERT_SESSION: _insert_into(_SESSIONS),
    WriteKind.INSERT_STEP: _insert_into(_STEPS),
    WriteKind.START_STEP: _start_steps,
    WriteKind.INSERT_CUE: _insert_into(_CUES),
    WriteKind.CUE_DELIVERED: _cues_delivered,
    WriteKind.INSERT_LINK: _insert_into(_LINK_EVENTS),
    WriteKind.INSERT_PACING: _insert_into(_PACING_EVENTS),
    WriteKind.PAIN_BEFORE: _set_pain("pain_before"),
    WriteKind.PAIN_AFTER: _set_pain("pain_after"),
    WriteKind.FINISH_SESSION: _finish_sessions,
    WriteKind.SEEN_DEVICE: _seen_devices,
}
