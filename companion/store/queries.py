"""Reading the store: History, a session's detail, exports, settings and devices.

Every function takes a ``Connection`` or an ``Engine``: with an engine, a read uses a
connection of its own; with a connection, the caller's transaction holds. Results are
frozen dataclasses of plain values (floats for times, as stored), ready for
``dataclasses.asdict`` and JSON. The writes of settings and devices live beside, named for
what they write (``companion.store.setting_writes``, ``companion.store.device_writes``);
``writing`` is their transaction helper, kept here beside ``reading``.

Heart-rate figures are computed from the samples of just the sessions asked for (read
through the ``samples(session_id, t)`` index), by ``companion.heart.physiology.heart_figures``:
from cleaned RR intervals, or cleaned samples where a session has too few intervals, so a
glitch never becomes the lowest heart rate. Each session's figures are remembered under a
fingerprint of its samples (one aggregate query per page), so a page read again skips the
samples; no summary columns can go stale when late or buffered samples arrive, as those
change the fingerprint.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Select,
    func,
    select,
)

from companion.heart import physiology
from companion.heart.gaps import Gap, SamplePoint, find_gaps
from companion.routines.plan_json import PlanJson
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

Bind = Connection | Engine

DEFAULT_PAGE = 50
CSV_HEADER = ("time_utc", "t_unix", "hr", "contact", "energy_kj", "rr_ms", "gap", "gap_s")
# Heart figures from RR intervals when at least this share of worn samples carried some.
RR_COVERAGE_FOR_FIGURES = 0.5


@dataclasses.dataclass(frozen=True, slots=True)
class SessionSummary:
    """One line of History. Heart-rate figures leave out samples taken without skin
    contact and beats that cleaning rejected (``beats_rejected``); ``samples`` counts
    every sample of the session. The breathing rate is given only when confident."""

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
    hr_min: float | None
    hr_mean: float | None
    hr_max: float | None
    samples: int
    steps_planned: int
    steps_started: int
    rmssd_ms: float | None = None
    beats_kept: int | None = None  # None: no RR intervals (figures from samples)
    beats_rejected: int | None = None
    breathing_rate_bpm: float | None = None
    breathing_confidence: float | None = None


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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SessionDetail(SessionSummary):
    """One session: its History line (the fields of SessionSummary) with the plan it ran,
    its steps, its cues (planned and actual), its link and pacing events and the gaps in
    its heart-rate record."""

    level_reason: str | None
    device: str | None
    total_planned_s: float
    plan: PlanJson  # as the session event carried it (``Plan.to_json``)
    pain_step: int | None
    pain_at: float | None
    steps: tuple[StepRow, ...]
    cues: tuple[CueRow, ...]
    link_events: tuple[LinkEventRow, ...]
    pacing_events: tuple[PacingEventRow, ...]
    gaps: tuple[Gap, ...]  # where the heart-rate record has holes, and why


_SUMMARY_FIELDS: Final = tuple(field.name for field in dataclasses.fields(SessionSummary))


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
    """Each session's heart figures: from the memo when its samples are as they were when
    last worked out (one aggregate query says so), else from its samples."""
    if not ids:
        return {}
    versions = {
        str(owner): (str(connection.engine.url), str(owner), *rest)
        for owner, *rest in connection.execute(
            select(
                Sample.session_id,
                func.count(),
                func.max(Sample.id),
                func.max(Sample.t),
                func.sum(Sample.hr),
                func.sum(func.length(Sample.rr_ms)),
            )
            .where(Sample.session_id.in_(ids))
            .group_by(Sample.session_id)
        )
    }
    found = {sid: _FIGURES_MEMO.get(key) for sid, key in versions.items()}
    missing = [sid for sid, figures in found.items() if figures is None]
    if missing:
        fresh = _heart_rate_from_samples(connection, missing)
        for sid in missing:
            found[sid] = fresh.get(sid)
            if sid in fresh:
                _FIGURES_MEMO.put(versions[sid], fresh[sid])
    return {sid: figures for sid, figures in found.items() if figures is not None}


class _Memo:
    """The heart figures of recent sessions, keyed by a fingerprint of their samples (the
    database, the session, and the count, last id, last time and sums of its samples), so
    a History page read again costs one aggregate query. Bounded; shared by the web's
    threads, hence the lock."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return None if found is None else dict(found)

    def put(self, key: tuple[Any, ...], figures: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = dict(figures)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


FIGURES_MEMO_SESSIONS = 2048
_FIGURES_MEMO = _Memo(FIGURES_MEMO_SESSIONS)


def _heart_rate_from_samples(
    connection: Connection, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    query = (
        select(Sample.session_id, Sample.t, Sample.hr, Sample.contact, Sample.rr_ms)
        .where(Sample.session_id.in_(ids))
        .order_by(Sample.session_id, Sample.t, Sample.id)
    )
    gathered: dict[str, _SessionSamples] = {}
    for owner, t, hr, contact, rr_text in connection.execute(query):
        # Never NULL: the query asks for these sessions.
        into = gathered.setdefault(str(owner), _SessionSamples())
        into.count += 1
        # A sample the band flagged as off the skin says nothing about the heart.
        if hr <= 0 or contact is False:
            continue
        into.hr.append(float(hr))
        if rr_text:
            into.arrivals.append(t)
            into.rr_texts.append(rr_text)
    return {session_id: got.figures() for session_id, got in gathered.items()}


@dataclasses.dataclass
class _SessionSamples:
    count: int = 0
    hr: list[float] = dataclasses.field(default_factory=list)  # worn samples only
    arrivals: list[float] = dataclasses.field(default_factory=list)
    rr_texts: list[str] = dataclasses.field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        with_rr = len(self.rr_texts) >= RR_COVERAGE_FOR_FIGURES * len(self.hr) > 0
        times: list[float] = []
        intervals: list[float] = []
        if with_rr:
            packets = [_rr_tuple(text) for text in self.rr_texts]
            times, intervals = physiology.packet_beat_times(self.arrivals, packets)
        heart = physiology.heart_figures(times, intervals, self.hr)
        return {
            "hr_min": _round(heart.hr_min, 1),
            "hr_mean": _round(heart.hr_mean, 1),
            "hr_max": _round(heart.hr_max, 1),
            "samples": self.count,
            "rmssd_ms": _round(heart.rmssd_ms, 1),
            # No intervals, no beats to count (the figures then come from samples).
            "beats_kept": heart.beats_kept if with_rr else None,
            "beats_rejected": heart.beats_rejected if with_rr else None,
            "breathing_rate_bpm": _round(heart.breathing_rate_bpm, 1),
            "breathing_confidence": _round(heart.breathing_confidence, 2),
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


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
        link_events = tuple(LinkEventRow(*row) for row in links)
        gaps = _session_gaps(connection, session_id, summary, link_events)
        return SessionDetail(
            **{name: getattr(summary, name) for name in _SUMMARY_FIELDS},
            level_reason=extra.level_reason,
            device=extra.device,
            total_planned_s=extra.total_planned_s,
            plan=json.loads(extra.plan_json),
            pain_step=extra.pain_step,
            pain_at=extra.pain_at,
            steps=tuple(_step_row(step, summary.started_at) for step in steps),
            cues=tuple(_cue_row(cue) for cue in cues),
            # Positional: a Row's ``t`` attribute is its tuple, not the column.
            link_events=link_events,
            pacing_events=tuple(PacingEventRow(*row) for row in pacing),
            gaps=tuple(gaps),
        )


def _session_gaps(
    connection: Connection,
    session_id: str,
    summary: SessionSummary,
    link_events: Sequence[LinkEventRow],
) -> list[Gap]:
    points = [
        SamplePoint(t, hr, contact)
        for t, hr, contact in connection.execute(
            select(Sample.t, Sample.hr, Sample.contact)
            .where(Sample.session_id == session_id)
            .order_by(Sample.t, Sample.id)
        )
    ]
    return find_gaps(
        summary.started_at, summary.ended_at, points, [(e.t, e.state) for e in link_events]
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
    """A stored JSON array of numbers; split by hand, as json.loads per sample would
    cost more than the rest of a History page."""
    if not raw:
        return ()
    body = raw.strip()
    if body.startswith("[") and body.endswith("]"):
        try:
            return tuple(float(v) for v in body[1:-1].split(",") if v.strip())
        except ValueError:
            pass
    return tuple(float(v) for v in json.loads(raw))


def session_csv(bind: Bind, session_id: str) -> str:
    """The session's samples as CSV text: ``#`` lines with the session's heart figures
    (from clean beats), a header line, then the raw samples as recorded. RR intervals (ms)
    are space-separated within their field; contact is 1, 0 or empty when not reported.
    Each gap in the record (see ``companion.heart.gaps``) is a row of its own at the
    gap's start, with only the times, ``gap`` (its reason) and ``gap_s`` (its length)."""
    query = (
        select(Sample.t, Sample.hr, Sample.contact, Sample.energy_kj, Sample.rr_ms)
        .where(Sample.session_id == session_id)
        .order_by(Sample.t, Sample.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    with reading(bind) as connection:
        detail = get_session(connection, session_id)
        if detail is not None:
            for name in _CSV_FIGURES:
                value = getattr(detail, name)
                out.write(f"# {name}: {'' if value is None else value}\n")
        started = 0.0 if detail is None else detail.started_at
        gaps = [] if detail is None else list(detail.gaps)
        writer.writerow(CSV_HEADER)
        for t, hr, contact, energy_kj, rr_ms in connection.execute(query):
            while gaps and started + gaps[0].start_s < t:
                _write_gap(writer, started, gaps.pop(0))
            writer.writerow(
                (
                    _csv_time(t),
                    f"{t:.3f}",
                    hr,
                    "" if contact is None else int(contact),
                    "" if energy_kj is None else energy_kj,
                    " ".join(f"{v:g}" for v in _rr_tuple(rr_ms)),
                    "",
                    "",
                )
            )
        for gap in gaps:
            _write_gap(writer, started, gap)
    return out.getvalue()


_CSV_FIGURES = (
    "hr_min",
    "hr_mean",
    "hr_max",
    "rmssd_ms",
    "beats_kept",
    "beats_rejected",
    "breathing_rate_bpm",
    "breathing_confidence",
)


def _csv_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def _write_gap(writer: Any, started: float, gap: Gap) -> None:
    t = started + gap.start_s
    length = gap.end_s - gap.start_s
    writer.writerow((_csv_time(t), f"{t:.3f}", "", "", "", "", gap.reason.value, f"{length:.1f}"))


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


# --- devices ----------------------------------------------------------------------------


def list_devices(bind: Bind) -> list[DeviceRow]:
    """Known bands, the most recently seen first."""
    query = select(
        Device.address, Device.name, Device.profile, Device.first_seen, Device.last_seen
    ).order_by(Device.last_seen.desc(), Device.address)
    with reading(bind) as connection:
        return [DeviceRow(*row) for row in connection.execute(query)]
