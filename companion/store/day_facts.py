"""Facts per local day that the morning summary's streak needs, kept as sessions end.

A streak counts the local days, back from today (or yesterday), that each had a session
with an exercise step done (``SessionFacts.counts_for_streak``: a step other than a rest
whose ``hold-end`` cue was recorded). Read session by session, that is a walk back through
every day of the streak; here it is one row. Each local day with a session holds how many
sessions started on it, how many of them counted, and, when it counted, the first day of
the unbroken run of counted days that ends on it (``run_start``).

**Time zone.** Days are local, so the facts are kept in one zone, whose IANA key is the
``day_facts_zone`` setting. The recorder keeps them in the machine's zone, the one the
service's summaries use (:func:`keep_day_facts` when it starts: nothing to do when they
are kept in that zone already, else every day is rebuilt from the sessions in one
transaction, which a kill rolls back, so the next start does it again). A reader asking in
another zone, or with a ``tzinfo`` that has no IANA key, gets ``None`` from
:func:`counted_days_ending` and reads the sessions instead: a change of zone never gives a
wrong streak, only a slower one until the recorder next starts. (A tzdata update that
changes a zone's past rules is not noticed until the zone is rebuilt.)

**Kept up to date** in the writer's own transaction, whenever a session ends (the finish
write of ``apply_writes``, which also runs for rows replayed from a spill file) and when a
session left running is marked interrupted: its day is counted again from that day's
sessions, so a write repeated, replayed or out of order gives the same row. A day that
starts (or stops) counting moves the ``run_start`` of the run after it.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections import OrderedDict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Connection, Engine, delete, exists, insert, select, update

from companion.cues import CueName
from companion.routines.catalog import REST
from companion.store.schema import Cue, DayFact, Session, Setting, Step, table_of

_LOGGER = logging.getLogger(__name__)

ZONE_SETTING = "day_facts_zone"
STEP_DONE_CUE = CueName.HOLD_END.value
ONE_DAY = timedelta(days=1)
INSERT_CHUNK_ROWS = 1_000

# The days whose sessions' answers the writer remembers (today, yesterday, and a few a
# replayed spill file may touch), per database.
DAYS_REMEMBERED = 4
_DAYS_REMEMBERED: weakref.WeakKeyDictionary[
    Engine, OrderedDict[tuple[str | None, date], dict[str, bool]]
] = weakref.WeakKeyDictionary()

_DAYS = table_of(DayFact)
_SETTINGS = table_of(Setting)


def zone_key(tz: tzinfo) -> str | None:
    """The IANA key of ``tz``; None when it has none (a fixed offset, a tzinfo of its own)."""
    if tz is UTC:
        return "UTC"
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) and key else None


def kept_zone(connection: Connection) -> str | None:
    """The key of the zone the day facts are kept in; None when they are not kept."""
    raw = connection.execute(select(Setting.value).where(Setting.key == ZONE_SETTING)).scalar()
    try:
        value = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def keep_day_facts(bind: Engine | Connection, tz: tzinfo) -> bool:
    """Keep the day facts in ``tz`` from now on, rebuilt from every session when they were
    kept in another zone or not at all. False (and nothing changed) when ``tz`` has no IANA
    key."""
    key = zone_key(tz)
    if key is None:
        _LOGGER.info("day facts not kept: time zone %r has no IANA name", tz)
        return False
    if isinstance(bind, Engine):
        with bind.connect() as connection:  # most starts: kept already, nothing to write
            if kept_zone(connection) == key:
                return True
    with _writing(bind) as connection:
        if kept_zone(connection) == key:
            return True
        _forget_days(connection.engine)
        days = _rebuild(connection, tz)
        connection.execute(delete(_SETTINGS).where(_SETTINGS.c.key == ZONE_SETTING))
        connection.execute(insert(_SETTINGS).values(key=ZONE_SETTING, value=json.dumps(key)))
    _LOGGER.info("day facts rebuilt in %s: %s days with a session", key, days)
    return True


def sessions_changed(connection: Connection, session_ids: Collection[str]) -> None:
    """Count the days of these sessions again (in the caller's transaction), when the day
    facts are kept."""
    key = kept_zone(connection) if session_ids else None
    tz = _zone(key) if key is not None else None
    if tz is None:
        return
    changed: dict[date, list[str]] = {}
    for session_id, started_at in connection.execute(
        select(Session.id, Session.started_at).where(Session.id.in_(session_ids))
    ):
        changed.setdefault(_local_date(started_at, tz), []).append(session_id)
    for day in sorted(changed):
        _recount(connection, tz, day, changed[day])


def counted_days_ending(connection: Connection, tz: tzinfo, last: date) -> int | None:
    """How many days in a row, ending on ``last``, had a session that counts for the
    streak (0 when ``last`` did not); None when the facts are not kept in ``tz``."""
    key = zone_key(tz)
    if key is None or kept_zone(connection) != key:
        return None
    row = connection.execute(
        select(DayFact.counted, DayFact.run_start).where(DayFact.day == last)
    ).first()
    if row is None or not row.counted or row.run_start is None:
        return 0
    run_start: date = row.run_start
    return (last - run_start).days + 1


# --- keeping them ----------------------------------------------------------------------


def counts_for_streak() -> ColumnElement[bool]:
    """Whether a session had an exercise step done, as the summary's full facts count it:
    a ``hold-end`` cue of one of its steps that is not a rest."""
    return exists().where(
        Cue.session_id == Session.id,
        Cue.cue == STEP_DONE_CUE,
        Step.session_id == Cue.session_id,
        Step.idx == Cue.step_idx,
        Step.exercise != REST,
    )


def _rebuild(connection: Connection, tz: tzinfo) -> int:
    per_day: dict[date, list[int]] = {}
    for started_at, done in connection.execute(select(Session.started_at, counts_for_streak())):
        tally = per_day.setdefault(_local_date(started_at, tz), [0, 0])
        tally[0] += 1
        tally[1] += int(bool(done))
    rows = []
    run_start: date | None = None
    last_counted: date | None = None
    for day in sorted(per_day):
        sessions, counted = per_day[day]
        if counted:
            if last_counted != day - ONE_DAY:
                run_start = day
            last_counted = day
        row_start = run_start if counted else None
        rows.append({"day": day, "sessions": sessions, "counted": counted, "run_start": row_start})
    connection.execute(delete(_DAYS))
    for first in range(0, len(rows), INSERT_CHUNK_ROWS):
        connection.execute(insert(_DAYS), rows[first : first + INSERT_CHUNK_ROWS])
    return len(rows)


def _recount(connection: Connection, tz: tzinfo, day: date, changed: list[str]) -> None:
    answers = _sessions_of_day(connection, tz, day, changed)
    sessions, counted = len(answers), sum(answers.values())
    old = connection.execute(
        select(DayFact.counted, DayFact.run_start).where(DayFact.day == day)
    ).first()
    was_counted = old is not None and old.counted > 0
    run_start = old.run_start if old is not None else None
    if counted and not was_counted:
        before = connection.execute(
            select(DayFact.run_start).where(DayFact.day == day - ONE_DAY, DayFact.counted > 0)
        ).scalar()
        run_start = before or day
        # The run that began the day after now begins with this day's run.
        connection.execute(
            update(_DAYS)
            .where(_DAYS.c.day > day, _DAYS.c.run_start == day + ONE_DAY)
            .values(run_start=run_start)
        )
    elif was_counted and not counted:
        assert old is not None
        connection.execute(
            update(_DAYS)
            .where(_DAYS.c.day > day, _DAYS.c.run_start == old.run_start)
            .values(run_start=day + ONE_DAY)
        )
        run_start = None
    connection.execute(delete(_DAYS).where(_DAYS.c.day == day))
    if sessions:
        connection.execute(
            insert(_DAYS).values(day=day, sessions=sessions, counted=counted, run_start=run_start)
        )


def _sessions_of_day(
    connection: Connection, tz: tzinfo, day: date, changed: list[str]
) -> dict[str, bool]:
    """Each session started on ``day`` and whether it counts for the streak.

    The first time in this process a day is counted, every session of it is read; after
    that only the sessions that changed are asked again and the rest is remembered, so
    ending a session costs the same however many the day already holds. The recorder is the
    store's only writer, so what is remembered stays what the store holds."""
    remembered = _DAYS_REMEMBERED.setdefault(connection.engine, OrderedDict())
    key = (zone_key(tz), day)
    answers = remembered.pop(key, None)
    if answers is None:
        # A day a wider range around it, placed by local date here: midnight is not always
        # there in every zone, and the range stays right whatever the clock did that day.
        around = select(Session.id, Session.started_at, counts_for_streak()).where(
            Session.started_at >= _day_start(day - ONE_DAY, tz),
            Session.started_at < _day_start(day + 2 * ONE_DAY, tz),
        )
        answers = {
            session_id: bool(done)
            for session_id, started_at, done in connection.execute(around)
            if _local_date(started_at, tz) == day
        }
    else:
        asked = select(Session.id, counts_for_streak()).where(Session.id.in_(changed))
        answers.update((session_id, bool(done)) for session_id, done in connection.execute(asked))
    remembered[key] = answers
    while len(remembered) > DAYS_REMEMBERED:
        remembered.popitem(last=False)
    return answers


def _forget_days(engine: Engine) -> None:
    _DAYS_REMEMBERED.pop(engine, None)


def _zone(key: str) -> tzinfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        _LOGGER.warning("day facts kept in unknown time zone %r; not updated", key)
        return None


def _local_date(wall: float, tz: tzinfo) -> date:
    return datetime.fromtimestamp(wall, tz).date()


def _day_start(day: date, tz: tzinfo) -> float:
    return datetime.combine(day, time(0), tzinfo=tz).timestamp()


@contextmanager
def _writing(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            yield connection
    else:
        yield bind
