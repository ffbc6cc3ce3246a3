"""What the morning summary needs from the store, and no more.

``build_summary(day, ...)`` (``companion.summary.morning``) looks at three things, so three reads:

* **The trend week** (local dates ``day - 6`` .. ``day``, which hold the 18:00-to-18:00
  window): full facts per session, i.e. heart-rate samples, RR intervals for RMSSD, and
  step, hold and rep counts. About 14 sessions for a daily user, whatever the history.
  What a session's samples give (its worn heart rate, RR intervals and cleaned figures)
  is remembered per process under a fingerprint of those samples (count, last id, last
  time: one aggregate over the samples index), so a summary read again, as the dashboard
  does, cleans no RR; a late sample changes the fingerprint.
* **The streak**: only which days had a session with a step done. When every day from
  the streak's start back to the start of the week counts, the days before the week are
  counted from the day facts (``companion.store.day_facts``, kept as sessions end): one
  row, the run of counted days ending the day before the week, whatever its length.
  Where the day facts are not kept in the zone asked for (the recorder has not built
  them yet, or the time zone changed), earlier days are read as light facts instead
  (times, outcome, pain, planned and done steps; no samples, holds or reps, so they are
  fit for the streak, not for display) in chunks that double in length (8, 16, 32...
  days) until a chunk holds a day without one; that walk ends at the oldest session at
  the latest. When no day of the week counts, one query finds the last session that did
  (for "days since the last session").
* **The latest pain rating** up to ``now`` (for the advice): one query.

So ``build_summary`` over what this returns, with the streak the day facts counted
(:func:`summary_from`), equals ``build_summary`` over the whole history.

A step is *done* when its ``hold-end`` cue was recorded: the engine fires it at the step's
planned end (after any pause), and drops it when the step is skipped or the session ends
first, so a stop, a pain stop or a skip mid-step leaves the step not done. Transitions
(``rest``) are not steps for the summary: ``planned_steps`` counts exercise steps only.
A hold is a step whose mode is ``hold``; plans do not store the mode yet, so where it is
missing the exercise's mode in the built-in catalog decides. A reps step adds its
``reps`` to ``reps_planned``, and to ``reps_done`` when done (a stopped set counts none).

Heart rate leaves out samples taken without skin contact (and zero readings). A session
still running is included as it stands (outcome ``running``, no end).

The breath-following score is ``None`` unless asked for (``breathing=True``): it is the
phase score of ``companion.heart.physiology`` over the window's sessions (RR against the
recorded breath-in/out cues), and costs about 40 ms of pure Python per 7-minute session,
most of the time budget of a dashboard read. The once-a-day summary job can afford it.

Times in the store are UTC Unix seconds; the time zone only turns local dates into
instants (a day may last 23 or 25 hours) and instants into local dates.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import logging
import statistics
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Connection, distinct, exists, func, select

from companion.cues import CueName
from companion.events import SessionState
from companion.heart import physiology
from companion.routines.catalog import REST, Mode, load_catalog
from companion.store.day_facts import counted_days_ending
from companion.store.queries import Bind, reading
from companion.store.schema import Cue, Sample, Session, Step
from companion.summary.morning import (
    EVENING_STARTS,
    RR_SHARE_FOR_FIGURES,
    TREND_DAYS,
    MorningSummary,
    SessionFacts,
    build_summary,
)

_LOGGER = logging.getLogger(__name__)


STEP_DONE_CUE = CueName.HOLD_END.value
BREATH_IN_CUE = CueName.BREATH_IN.value
BREATH_OUT_CUE = CueName.BREATH_OUT.value
# The first chunk of the streak walk before the trend week; each next one is twice as long.
FIRST_STREAK_CHUNK_DAYS = 8
MS_PER_S = 1000.0
SECONDS_PER_MINUTE = 60.0


@functools.cache
def built_in_hold_exercises() -> frozenset[str]:
    """Ids of the catalog's hold exercises (the catalog is read once per process)."""
    return frozenset(e.id for e in load_catalog().exercises if e.mode is Mode.HOLD)


@dataclasses.dataclass(frozen=True)
class SummaryInput:
    """What the store gives ``build_summary``.

    ``sessions_by_day``: sessions by the local date they started on. ``streak_days``: the
    streak, when it runs back past the trend week and the day facts counted the days
    before the week (their sessions are then not read); None when ``build_summary`` counts
    it right from ``sessions_by_day`` alone.
    """

    sessions_by_day: dict[date, list[SessionFacts]]
    streak_days: int | None = None


def summary_for(
    bind: Bind, day: date, tz: tzinfo, now: datetime, *, breathing: bool = False
) -> MorningSummary:
    """The morning summary for ``day`` as known at ``now``, read from the store."""
    return summary_from(day, tz, read_summary_input(bind, day, tz, now, breathing=breathing), now)


def summary_from(day: date, tz: tzinfo, read: SummaryInput, now: datetime) -> MorningSummary:
    """``build_summary`` over what was read, with the streak the day facts counted."""
    summary = build_summary(day, tz, read.sessions_by_day, now)
    if read.streak_days is None or read.streak_days == summary.streak_days:
        return summary
    return dataclasses.replace(summary, streak_days=read.streak_days)


def read_summary_input(
    bind: Bind,
    day: date,
    tz: tzinfo,
    now: datetime,
    *,
    breathing: bool = False,
    hold_exercises: Collection[str] | None = None,
) -> SummaryInput:
    """What ``build_summary`` needs for ``day`` at ``now``.

    Full facts for the trend week up to ``now``; light facts (no samples) for the latest
    pain rating, for the last session that counted when none in the week did, and, for a
    streak that runs back past the week, either its count from the day facts or (when
    they are not kept in ``tz``) the days before the week that decide it. ``breathing``
    adds the breath-following score to the sessions of the summary window.
    ``hold_exercises`` replaces the built-in catalog's hold exercises when a step's mode
    was not stored.
    """
    holds = built_in_hold_exercises() if hold_exercises is None else frozenset(hold_exercises)
    now_wall = now.timestamp()
    week_first = day - timedelta(days=TREND_DAYS - 1)
    week_start = _day_start(week_first, tz)
    week_end = _day_start(day + timedelta(days=1), tz)
    window_start = datetime.combine(day - timedelta(days=1), EVENING_STARTS, tzinfo=tz).timestamp()
    window_end = datetime.combine(day, EVENING_STARTS, tzinfo=tz).timestamp()
    streak: int | None = None
    with reading(bind) as connection:
        rows = _session_rows(
            connection,
            [
                Session.started_at >= week_start,
                Session.started_at < week_end,
                Session.started_at <= now_wall,
            ],
        )
        scored = (
            {r.id for r in rows if window_start <= r.started_at < window_end}
            if breathing
            else set()
        )
        found = {s.id: s for s in _full_facts(connection, rows, tz, holds, scored)}
        by_date = _group(found.values(), tz)
        active = {d for d, group in by_date.items() if any(s.counts_for_streak for s in group)}
        if _streak_reaches(active, day, week_first):
            # Every day before the week started before ``now`` (a week's session did).
            earlier = counted_days_ending(connection, tz, week_first - timedelta(days=1))
            if earlier is not None:
                latest = day if day in active else day - timedelta(days=1)
                streak = (latest - week_first).days + 1 + earlier
            else:
                for s in _walk_streak(connection, tz, week_first, now_wall):
                    found.setdefault(s.id, s)
        elif not active:
            for s in _light_facts(
                connection,
                [Session.started_at < week_start, _has_done_step()],
                now_wall,
                tz,
                newest_only=True,
            ):
                found.setdefault(s.id, s)
        rated = (Session.pain_before.is_not(None)) | (Session.pain_after.is_not(None))
        for s in _light_facts(connection, [rated], now_wall, tz, newest_only=True):
            found.setdefault(s.id, s)
    return SummaryInput(_group(found.values(), tz), streak)


def session_facts(
    bind: Bind,
    tz: tzinfo,
    start_wall: float,
    end_wall: float,
    *,
    hold_exercises: Collection[str] | None = None,
) -> list[SessionFacts]:
    """Full facts (as for the trend week) of every session that started at or after
    ``start_wall`` and before ``end_wall``, oldest first."""
    holds = built_in_hold_exercises() if hold_exercises is None else frozenset(hold_exercises)
    with reading(bind) as connection:
        rows = _session_rows(
            connection, [Session.started_at >= start_wall, Session.started_at < end_wall]
        )
        return _full_facts(connection, rows, tz, holds, set())


# --- the streak -------------------------------------------------------------------------


def _streak_reaches(active: set[date], day: date, first: date) -> bool:
    """Whether the streak, as ``build_summary`` counts it, runs back to ``first`` unbroken."""
    current = day if day in active else day - timedelta(days=1)
    while current in active:
        if current == first:
            return True
        current -= timedelta(days=1)
    return False


def _walk_streak(
    connection: Connection, tz: tzinfo, before: date, now_wall: float
) -> list[SessionFacts]:
    """Light facts for the days before ``before``, back to the first day without a done step."""
    collected: list[SessionFacts] = []
    end = before
    length = FIRST_STREAK_CHUNK_DAYS
    chunks = 0
    while True:
        start = end - timedelta(days=length)
        chunk = _light_facts(
            connection,
            [Session.started_at >= _day_start(start, tz), Session.started_at < _day_start(end, tz)],
            now_wall,
            tz,
        )
        chunks += 1
        collected.extend(chunk)
        chunk_active = {s.started_at.astimezone(tz).date() for s in chunk if s.counts_for_streak}
        days = (end - timedelta(days=k) for k in range(1, length + 1))
        if not all(d in chunk_active for d in days):
            break
        end, length = start, length * 2
    _LOGGER.debug("streak walk read %s chunk(s) back to %s", chunks, start)
    return collected


# --- reading ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _SessionRow:
    id: str
    routine: str
    title: str
    started_at: float
    ended_at: float | None
    outcome: str
    pain_before: int | None
    pain_after: int | None


_SESSION_COLUMNS = (
    Session.id,
    Session.routine,
    Session.title,
    Session.started_at,
    Session.ended_at,
    Session.outcome,
    Session.pain_before,
    Session.pain_after,
)


def _day_start(day: date, tz: tzinfo) -> float:
    return datetime.combine(day, time(0), tzinfo=tz).timestamp()


def _session_rows(
    connection: Connection, where: Sequence[ColumnElement[bool]]
) -> list[_SessionRow]:
    query = select(*_SESSION_COLUMNS).where(*where).order_by(Session.started_at, Session.id)
    return [_SessionRow(*row) for row in connection.execute(query)]


def _has_done_step() -> ColumnElement[bool]:
    return exists().where(Cue.session_id == Session.id, Cue.cue == STEP_DONE_CUE)


def _light_facts(
    connection: Connection,
    where: Sequence[ColumnElement[bool]],
    now_wall: float,
    tz: tzinfo,
    *,
    newest_only: bool = False,
) -> list[SessionFacts]:
    """Sessions with their step counts and nothing from samples or cues beyond them."""
    done = (
        select(func.count(distinct(Cue.step_idx)))
        .where(Cue.session_id == Session.id, Cue.cue == STEP_DONE_CUE)
        .scalar_subquery()
    )
    planned = (
        select(func.count())
        .where(Step.session_id == Session.id, Step.exercise != REST)
        .scalar_subquery()
    )
    query = select(*_SESSION_COLUMNS, planned, done).where(*where, Session.started_at <= now_wall)
    if newest_only:
        query = query.order_by(Session.started_at.desc(), Session.id).limit(1)
    facts = []
    for *columns, planned_steps, completed_steps in connection.execute(query):
        row = _SessionRow(*columns)
        facts.append(_facts(row, tz, planned_steps=planned_steps, completed_steps=completed_steps))
    return facts


class _StepRow(NamedTuple):
    idx: int
    exercise: str
    mode: str | None
    reps: int | None


@dataclasses.dataclass
class _Gathered:
    """What the full read collects for one session before it becomes ``SessionFacts``.

    Offsets are seconds from the session's start."""

    steps: list[_StepRow] = dataclasses.field(default_factory=list)
    done: set[int] = dataclasses.field(default_factory=set)  # steps whose hold-end fired
    inhale_cues: list[float] = dataclasses.field(default_factory=list)
    exhale_cues: list[float] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class _Heart:
    """What a session's worn samples give the summary (offsets from the session's start)."""

    hr: tuple[tuple[float, float], ...] = ()
    rr_texts: tuple[str, ...] = ()  # JSON arrays, as stored
    rr_received: tuple[float, ...] = ()  # the offset of each
    rr: tuple[float, ...] = ()  # every interval, in order
    figures: physiology.HeartFigures | None = None

    @classmethod
    def of(
        cls, hr: list[tuple[float, float]], rr_texts: list[str], rr_received: list[float]
    ) -> _Heart:
        rr = _joined_rr(rr_texts)
        hr_values = [bpm for _, bpm in hr]
        if rr and len(rr) >= RR_SHARE_FOR_FIGURES * len(hr_values):
            figures = physiology.heart_figures(physiology.beat_times(rr), rr)
        else:
            figures = physiology.heart_figures((), (), hr_values)
        return cls(tuple(hr), tuple(rr_texts), tuple(rr_received), tuple(rr), figures)


class _HeartMemo:
    """The ``_Heart`` of recent sessions, so a summary read again (the dashboard asks for
    it on every visit) cleans no RR: keyed by the database, the session and its start, and
    the count, last id and last time of its samples (one aggregate over the samples index
    says whether they are as they were; samples are only ever added, or deleted whole).
    Bounded; shared by the web's threads, hence the lock."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], _Heart] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> _Heart | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], heart: _Heart) -> None:
        with self._lock:
            self._items[key] = heart
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# A trend week of a daily user is about 14 sessions, with room for the next day's; a
# 7-minute session's facts take about 100 kB.
HEART_MEMO_SESSIONS = 24
_HEART_MEMO = _HeartMemo(HEART_MEMO_SESSIONS)


def forget_remembered_hearts() -> None:
    """Empty the memo of sessions' heart facts (a fresh process; for measuring cold reads)."""
    _HEART_MEMO.clear()


def _full_facts(
    connection: Connection,
    rows: Sequence[_SessionRow],
    tz: tzinfo,
    holds: frozenset[str],
    scored: set[str],
) -> list[SessionFacts]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    starts = {r.id: r.started_at for r in rows}
    gathered = {r.id: _Gathered() for r in rows}
    steps = select(Step.session_id, Step.idx, Step.exercise, Step.mode, Step.reps).where(
        Step.session_id.in_(ids)
    )
    for session_id, idx, exercise, mode, reps in connection.execute(steps):
        gathered[session_id].steps.append(_StepRow(idx, exercise, mode, reps))
    wanted_cues = [STEP_DONE_CUE, BREATH_IN_CUE, BREATH_OUT_CUE] if scored else [STEP_DONE_CUE]
    cues = select(Cue.session_id, Cue.step_idx, Cue.cue, Cue.at).where(
        Cue.session_id.in_(ids), Cue.cue.in_(wanted_cues)
    )
    for session_id, step_idx, name, at in connection.execute(cues):
        into = gathered[session_id]
        if name == STEP_DONE_CUE:
            into.done.add(step_idx)
        elif name == BREATH_IN_CUE:
            into.inhale_cues.append(at - starts[session_id])
        else:
            into.exhale_cues.append(at - starts[session_id])
    hearts = _hearts(connection, starts)
    return [
        _full(row, gathered[row.id], hearts.get(row.id) or _no_heart(), tz, holds, row.id in scored)
        for row in rows
    ]


@functools.cache
def _no_heart() -> _Heart:
    """A session without samples: the figures of nothing, worked out once."""
    return _Heart.of([], [], [])


def _hearts(connection: Connection, starts: dict[str, float]) -> dict[str, _Heart]:
    """Each session's ``_Heart``: remembered when its samples are as they were, else read."""
    database = str(connection.engine.url)
    versions = {
        cast(str, owner): (database, owner, starts[cast(str, owner)], *rest)
        for owner, *rest in connection.execute(
            select(Sample.session_id, func.count(), func.max(Sample.id), func.max(Sample.t))
            .where(Sample.session_id.in_(list(starts)))
            .group_by(Sample.session_id)
        )
    }
    found = {sid: heart for sid, key in versions.items() if (heart := _HEART_MEMO.get(key))}
    missing = [sid for sid in versions if sid not in found]
    if not missing:
        return found
    gathered: dict[str, tuple[list[tuple[float, float]], list[str], list[float]]] = {
        sid: ([], [], []) for sid in missing
    }
    # A sample the band flagged as off the skin says nothing about the heart.
    samples = (
        select(Sample.session_id, Sample.t, Sample.hr, Sample.rr_ms)
        .where(Sample.session_id.in_(missing), Sample.hr > 0, Sample.contact.is_not(False))
        .order_by(Sample.session_id, Sample.t, Sample.id)
    )
    for owner, t, hr, rr_text in connection.execute(samples).all():
        session_id = cast(str, owner)  # never NULL: the query asks for these sessions
        hr_list, rr_texts, rr_received = gathered[session_id]
        offset = t - starts[session_id]
        hr_list.append((offset, float(hr)))
        if rr_text:
            rr_texts.append(rr_text)
            rr_received.append(offset)
    for sid, (hr_list, rr_texts, rr_received) in gathered.items():
        found[sid] = _Heart.of(hr_list, rr_texts, rr_received)
        _HEART_MEMO.put(versions[sid], found[sid])
    return found


def _joined_rr(texts: Sequence[str]) -> list[float]:
    """All intervals of many stored JSON arrays, parsed at once (one parse per sample
    would cost more than the rest of the read)."""
    inner = [body for body in (text.strip()[1:-1].strip() for text in texts) if body]
    return [float(v) for v in json.loads(f"[{','.join(inner)}]")]


def _beat_times(heart: _Heart) -> tuple[list[float], list[float]]:
    """Intervals with the time each ended: a packet's last at about its arrival."""
    times: list[float] = []
    intervals: list[float] = []
    for received, text in zip(heart.rr_received, heart.rr_texts, strict=True):
        packet = [float(v) for v in json.loads(text)]
        ends = []
        end = received
        for rr in reversed(packet):
            ends.append(end)
            end -= rr / MS_PER_S
        times.extend(reversed(ends))
        intervals.extend(packet)
    return times, intervals


def _full(
    row: _SessionRow,
    got: _Gathered,
    heart: _Heart,
    tz: tzinfo,
    holds: frozenset[str],
    scored: bool,
) -> SessionFacts:
    exercise_steps = [step for step in got.steps if step.exercise != REST]
    hold_steps = [step for step in exercise_steps if _is_hold(step, holds)]
    rep_steps = [step for step in exercise_steps if step.reps is not None]
    score = None
    withheld = False
    if scored and got.inhale_cues and got.exhale_cues:
        score = _following_score(got, heart) if heart.rr else None
        withheld = score is None
    facts = _facts(
        row,
        tz,
        planned_steps=len(exercise_steps),
        completed_steps=_count_done(exercise_steps, got.done),
        holds_planned=len(hold_steps),
        holds_done=_count_done(hold_steps, got.done),
        reps_planned=sum(step.reps or 0 for step in rep_steps),
        reps_done=sum(step.reps or 0 for step in rep_steps if step.idx in got.done),
        hr_samples=heart.hr,
        rr_ms=heart.rr,
        breathing_score=score,
        figures=heart.figures,
        breathing_withheld=withheld,
    )
    # Computed once here: build_summary asks a window session for it twice.
    return dataclasses.replace(facts, rmssd_ms=facts.rmssd())


def _following_score(got: _Gathered, heart: _Heart) -> float | None:
    """Breath-following from a confident breathing rate only (by rate against the pace the
    breath-in cues set, no better than by phase); None when the heart showed none."""
    times, intervals = _beat_times(heart)
    estimate = physiology.estimate_breathing(times, intervals)
    if estimate is None or not estimate.confident:
        return None
    phase = physiology.phase_following_score(times, intervals, got.inhale_cues, got.exhale_cues)
    return physiology.following_score(estimate, _paced_rate(got.inhale_cues), phase)


def _paced_rate(inhale_cues: Sequence[float]) -> float | None:
    """Breaths a minute the pacer asked for: from the typical time between breath-in cues."""
    cues = sorted(inhale_cues)
    gaps = [b - a for a, b in itertools.pairwise(cues) if b > a]
    return SECONDS_PER_MINUTE / statistics.median(gaps) if gaps else None


def _is_hold(step: _StepRow, holds: frozenset[str]) -> bool:
    return step.mode == Mode.HOLD.value if step.mode is not None else step.exercise in holds


def _count_done(steps: Iterable[_StepRow], done: set[int]) -> int:
    return sum(1 for step in steps if step.idx in done)


def _facts(row: _SessionRow, tz: tzinfo, **fields: Any) -> SessionFacts:
    return SessionFacts(
        id=row.id,
        routine=row.routine,
        title=row.title,
        started_at=datetime.fromtimestamp(row.started_at, tz),
        ended_at=None if row.ended_at is None else datetime.fromtimestamp(row.ended_at, tz),
        outcome=SessionState(row.outcome),
        pain_before=row.pain_before,
        pain_after=row.pain_after,
        **fields,
    )


def _group(sessions: Iterable[SessionFacts], tz: tzinfo) -> dict[date, list[SessionFacts]]:
    grouped: dict[date, list[SessionFacts]] = defaultdict(list)
    for s in sorted(sessions, key=lambda s: s.started_at):
        grouped[s.started_at.astimezone(tz).date()].append(s)
    return dict(grouped)
