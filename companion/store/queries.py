"""Reading the store: History, a session's detail, exports, settings and devices.

Every function takes a ``Connection`` or an ``Engine``. With an engine, reads use a
connection of their own and writes commit; with a connection, the caller's transaction
holds (the caller commits). Results are frozen dataclasses of plain values (floats for
times, as stored), ready for ``dataclasses.asdict`` and JSON.

Heart-rate figures are aggregated in SQL for just the sessions asked for, through the
``samples(session_id, t)`` index: a page of History costs three queries whatever the
page size, and no summary columns can go stale when late or buffered samples arrive.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Select,
    and_,
    case,
    delete,
    func,
    select,
)

from companion.store.schema import (
    Cue,
    Device,
    LinkEvent,
    Outcome,
    PacingEvent,
    Sample,
    Session,
    Setting,
    Step,
    table_of,
)
from companion.store.writes import upsert, upsert_device_row

Bind = Connection | Engine

DEFAULT_PAGE = 50
CSV_HEADER = ("time_utc", "t_unix", "hr", "contact", "energy_kj", "rr_ms")


@dataclasses.dataclass(frozen=True, slots=True)
class SessionSummary:
    """One line of History. Heart-rate figures leave out samples taken without skin
    contact; ``samples`` counts every sample of the session."""

    id: str
    routine: str
    title: str
    level: int
    started_at: float
    ended_at: float | None
    duration_s: float | None
    outcome: Outcome
    pain_before: int | None
    pain_after: int | None
    hr_min: int | None
    hr_mean: float | None
    hr_max: int | None
    samples: int
    steps_planned: int
    steps_started: int


@dataclasses.dataclass(frozen=True, slots=True)
class StepRow:
    idx: int
    name: str
    exercise: str
    side: str | None
    mode: str | None
    planned_start_s: float
    planned_end_s: float
    breaths: int | None
    reps: int | None
    started_at: float | None
    ended_at: float | None
    actual_start_s: float | None  # seconds from the session's start, to set beside planned


@dataclasses.dataclass(frozen=True, slots=True)
class CueRow:
    step_idx: int
    cue: str
    planned_s: float
    actual_s: float
    late_s: float
    duration_s: float
    on_wrist: bool
    at: float
    fate: str | None = None  # what the band's one channel did with it
    note: str | None = None  # why it was folded, delayed, dropped or cut
    delivery: str | None = None  # pending, sent, acknowledged, failed; None: not sent
    acknowledged: bool | None = None
    first_write_late_s: float | None = None
    failure: str | None = None  # why its writes did not reach the band


@dataclasses.dataclass(frozen=True, slots=True)
class LinkEventRow:
    t: float
    device: str
    state: str
    detail: str


@dataclasses.dataclass(frozen=True, slots=True)
class PacingEventRow:
    t: float
    exhale_s: float
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class SessionDetail:
    summary: SessionSummary
    level_reason: str | None
    device: str | None
    total_planned_s: float
    plan: dict[str, Any]
    pain_step: int | None
    pain_at: float | None
    steps: tuple[StepRow, ...]
    cues: tuple[CueRow, ...]
    link_events: tuple[LinkEventRow, ...]
    pacing_events: tuple[PacingEventRow, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class SampleRow:
    t: float
    hr: int
    contact: bool | None
    rr_ms: tuple[float, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class OutcomeRow:
    routine: str
    level: int
    outcome: Outcome
    ended_at: float | None
    pain_before: int | None
    pain_after: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class DeviceRow:
    address: str
    name: str | None
    profile: str | None
    first_seen: float
    last_seen: float


@contextmanager
def reading(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            yield connection
    else:
        yield bind


@contextmanager
def writing(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            yield connection
    else:
        yield bind


# --- sessions ---------------------------------------------------------------------------

_SESSION_COLUMNS = (
    Session.id,
    Session.routine,
    Session.title,
    Session.level,
    Session.started_at,
    Session.ended_at,
    Session.outcome,
    Session.pain_before,
    Session.pain_after,
)


def list_sessions(bind: Bind, limit: int = DEFAULT_PAGE, offset: int = 0) -> list[SessionSummary]:
    """Sessions, newest first."""
    query = (
        select(*_SESSION_COLUMNS)
        .order_by(Session.started_at.desc(), Session.id)
        .limit(limit)
        .offset(offset)
    )
    with reading(bind) as connection:
        return _summaries(connection, query)


def sessions_between(bind: Bind, start_wall: float, end_wall: float) -> list[SessionSummary]:
    """Sessions that started at or after ``start_wall`` and before ``end_wall``, oldest
    first."""
    query = (
        select(*_SESSION_COLUMNS)
        .where(Session.started_at >= start_wall, Session.started_at < end_wall)
        .order_by(Session.started_at, Session.id)
    )
    with reading(bind) as connection:
        return _summaries(connection, query)


def _summaries(connection: Connection, query: Select[*tuple[Any, ...]]) -> list[SessionSummary]:
    rows = connection.execute(query).all()
    ids = [row.id for row in rows]
    heart = _heart_rate_by_session(connection, ids)
    steps = _step_counts_by_session(connection, ids)
    return [
        SessionSummary(
            id=row.id,
            routine=row.routine,
            title=row.title,
            level=row.level,
            started_at=row.started_at,
            ended_at=row.ended_at,
            duration_s=None if row.ended_at is None else row.ended_at - row.started_at,
            outcome=Outcome(row.outcome),
            pain_before=row.pain_before,
            pain_after=row.pain_after,
            **heart.get(row.id, _NO_HEART_RATE),
            **steps.get(row.id, _NO_STEPS),
        )
        for row in rows
    ]


_NO_HEART_RATE: dict[str, Any] = {"hr_min": None, "hr_mean": None, "hr_max": None, "samples": 0}
_NO_STEPS: dict[str, Any] = {"steps_planned": 0, "steps_started": 0}


def _heart_rate_by_session(connection: Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    # A sample the band flagged as off the skin says nothing about the heart.
    worn = and_(Sample.hr > 0, Sample.contact.is_not(False))
    worn_hr = case((worn, Sample.hr))
    query = (
        select(
            Sample.session_id,
            func.min(worn_hr),
            func.avg(worn_hr),
            func.max(worn_hr),
            func.count(),
        )
        .where(Sample.session_id.in_(ids))
        .group_by(Sample.session_id)
    )
    return {
        session_id: {
            "hr_min": low,
            "hr_mean": None if mean is None else float(mean),
            "hr_max": high,
            "samples": count,
        }
        for session_id, low, mean, high, count in connection.execute(query)
    }


def _step_counts_by_session(
    connection: Connection, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    query = (
        select(Step.session_id, func.count(), func.count(Step.started_at))
        .where(Step.session_id.in_(ids))
        .group_by(Step.session_id)
    )
    return {
        session_id: {"steps_planned": planned, "steps_started": started}
        for session_id, planned, started in connection.execute(query)
    }


def get_session(bind: Bind, session_id: str) -> SessionDetail | None:
    """A session with its steps, cues, link and pacing events; None when unknown."""
    with reading(bind) as connection:
        found = _summaries(connection, select(*_SESSION_COLUMNS).where(Session.id == session_id))
        if not found:
            return None
        summary = found[0]
        extra = connection.execute(
            select(
                Session.level_reason,
                Session.device,
                Session.total_planned_s,
                Session.plan_json,
                Session.pain_step,
                Session.pain_at,
            ).where(Session.id == session_id)
        ).one()
        steps = connection.execute(
            select(table_of(Step)).where(Step.session_id == session_id).order_by(Step.idx)
        )
        cues = connection.execute(
            select(table_of(Cue)).where(Cue.session_id == session_id).order_by(Cue.at, Cue.id)
        )
        links = connection.execute(
            select(LinkEvent.t, LinkEvent.device, LinkEvent.state, LinkEvent.detail)
            .where(LinkEvent.session_id == session_id)
            .order_by(LinkEvent.t, LinkEvent.id)
        )
        pacing = connection.execute(
            select(PacingEvent.t, PacingEvent.exhale_s, PacingEvent.reason)
            .where(PacingEvent.session_id == session_id)
            .order_by(PacingEvent.t, PacingEvent.id)
        )
        return SessionDetail(
            summary=summary,
            level_reason=extra.level_reason,
            device=extra.device,
            total_planned_s=extra.total_planned_s,
            plan=json.loads(extra.plan_json),
            pain_step=extra.pain_step,
            pain_at=extra.pain_at,
            steps=tuple(_step_row(step, summary.started_at) for step in steps),
            cues=tuple(_cue_row(cue) for cue in cues),
            # Positional: a Row's ``t`` attribute is its tuple, not the column.
            link_events=tuple(LinkEventRow(*row) for row in links),
            pacing_events=tuple(PacingEventRow(*row) for row in pacing),
        )


def _step_row(step: Row[Any], session_started_at: float) -> StepRow:
    return StepRow(
        idx=step.idx,
        name=step.name,
        exercise=step.exercise,
        side=step.side,
        mode=step.mode,
        planned_start_s=step.planned_start_s,
        planned_end_s=step.planned_end_s,
        breaths=step.breaths,
        reps=step.reps,
        started_at=step.started_at,
        ended_at=step.ended_at,
        actual_start_s=None if step.started_at is None else step.started_at - session_started_at,
    )


def _cue_row(cue: Row[Any]) -> CueRow:
    return CueRow(
        step_idx=cue.step_idx,
        cue=cue.cue,
        planned_s=cue.planned_s,
        actual_s=cue.actual_s,
        late_s=cue.actual_s - cue.planned_s,
        duration_s=cue.duration_s,
        on_wrist=cue.on_wrist,
        at=cue.at,
        fate=cue.fate,
        note=cue.note,
        delivery=cue.delivery,
        acknowledged=cue.acknowledged,
        first_write_late_s=cue.first_write_late_s,
        failure=cue.failure,
    )


def session_samples(bind: Bind, session_id: str) -> list[SampleRow]:
    """The session's heart-rate samples in time order."""
    query = (
        select(Sample.t, Sample.hr, Sample.contact, Sample.rr_ms)
        .where(Sample.session_id == session_id)
        .order_by(Sample.t, Sample.id)
    )
    with reading(bind) as connection:
        return [
            SampleRow(t, hr, contact, _rr_tuple(rr_ms))
            for t, hr, contact, rr_ms in connection.execute(query)
        ]


def _rr_tuple(raw: str | None) -> tuple[float, ...]:
    return tuple(float(v) for v in json.loads(raw)) if raw else ()


def session_csv(bind: Bind, session_id: str) -> str:
    """The session's samples as CSV text with a header line; RR intervals (ms) are
    space-separated within their field, contact is 1, 0 or empty when not reported."""
    query = (
        select(Sample.t, Sample.hr, Sample.contact, Sample.energy_kj, Sample.rr_ms)
        .where(Sample.session_id == session_id)
        .order_by(Sample.t, Sample.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    with reading(bind) as connection:
        for t, hr, contact, energy_kj, rr_ms in connection.execute(query):
            writer.writerow(
                (
                    datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds"),
                    f"{t:.3f}",
                    hr,
                    "" if contact is None else int(contact),
                    "" if energy_kj is None else energy_kj,
                    " ".join(f"{v:g}" for v in _rr_tuple(rr_ms)),
                )
            )
    return out.getvalue()


def recent_outcomes(bind: Bind, limit: int) -> list[OutcomeRow]:
    """How the latest finished sessions ended, newest first (for progression)."""
    query = (
        select(
            Session.routine,
            Session.level,
            Session.outcome,
            Session.ended_at,
            Session.pain_before,
            Session.pain_after,
        )
        .where(Session.outcome != Outcome.RUNNING.value)
        .order_by(Session.started_at.desc(), Session.id)
        .limit(limit)
    )
    with reading(bind) as connection:
        return [
            OutcomeRow(row.routine, row.level, Outcome(row.outcome), *row[3:])
            for row in connection.execute(query)
        ]


# --- settings ---------------------------------------------------------------------------


def get_setting(bind: Bind, key: str, default: Any = None) -> Any:
    """The stored JSON value of ``key``, or ``default`` when there is none."""
    with reading(bind) as connection:
        raw = connection.execute(select(Setting.value).where(Setting.key == key)).scalar()
    return default if raw is None else json.loads(raw)


def put_setting(bind: Bind, key: str, value: Any) -> None:
    """Store ``value`` (anything ``json.dumps`` takes) under ``key``."""
    encoded = json.dumps(value, sort_keys=True)
    with writing(bind) as connection:
        upsert(connection, table_of(Setting), {"key": key, "value": encoded}, {"value": encoded})


# --- devices ----------------------------------------------------------------------------


def upsert_device(
    bind: Bind,
    address: str,
    *,
    seen_at: float,
    name: str | None = None,
    profile: str | None = None,
) -> None:
    """Remember a band, or note that it was seen again (a name or profile given replaces
    the stored one; None keeps it)."""
    with writing(bind) as connection:
        upsert_device_row(connection, address, seen_at=seen_at, name=name, profile=profile)


def list_devices(bind: Bind) -> list[DeviceRow]:
    """Known bands, the most recently seen first."""
    query = select(
        Device.address, Device.name, Device.profile, Device.first_seen, Device.last_seen
    ).order_by(Device.last_seen.desc(), Device.address)
    with reading(bind) as connection:
        return [DeviceRow(*row) for row in connection.execute(query)]


def forget_device(bind: Bind, address: str) -> bool:
    """Forget a band (its sessions and samples stay); False when it was not known."""
    with writing(bind) as connection:
        result = connection.execute(delete(Device).where(Device.address == address))
    return result.rowcount > 0
