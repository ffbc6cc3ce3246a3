"""The day facts behind the morning summary's streak: kept as sessions end, rebuilt when
the time zone changes, and never trusted in a zone they were not kept in."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, select

from companion.events import SessionState
from companion.store.day_facts import (
    counted_days_ending,
    keep_day_facts,
    kept_zone,
)
from companion.store.recorder import Recorder, mark_interrupted_sessions
from companion.store.schema import DayFact
from companion.store.summary_facts import read_summary_input, session_facts, summary_for
from companion.summary.morning import SessionFacts, build_summary
from tests.store.test_summary_facts import (
    BERLIN,
    DAY,
    NOW,
    SHORT_TASTER,
    Run,
    at,
    daily,
    store,
)

NEW_YORK = ZoneInfo("America/New_York")
WAIT_S = 10.0


def day_rows(engine: Engine) -> list[tuple[date, int, int, date | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(DayFact.day, DayFact.sessions, DayFact.counted, DayFact.run_start).order_by(
                DayFact.day
            )
        )
        return [(row.day, row.sessions, row.counted, row.run_start) for row in rows]


def whole_history_summary(engine: Engine, day: date, tz: ZoneInfo, now: datetime) -> object:
    everything = session_facts(engine, tz, 0.0, now.timestamp() + 86_400)
    by_date: dict[date, list[SessionFacts]] = {}
    for s in everything:
        by_date.setdefault(s.started_at.astimezone(tz).date(), []).append(s)
    return build_summary(day, tz, by_date, now)


def days_back(*offsets: int) -> list[date]:
    return [DAY - timedelta(days=k) for k in offsets]


def test_sessions_ending_in_any_order_give_the_rows_a_rebuild_gives(engine: Engine) -> None:
    keep_day_facts(engine, BERLIN)
    # Two runs of days with a gap at 5; day 8 and day 2 come last, each joining runs.
    first = [daily(d, 7) for d in days_back(12, 11, 10, 9, 7, 6, 4, 3, 1)]
    tried = Run("tried", at(DAY - timedelta(days=5), 7), plan=SHORT_TASTER, stop_at_s=5.0,
                outcome=SessionState.STOPPED)  # fmt: skip
    late = [daily(d, 7) for d in days_back(8, 2)]
    second_today = Run("second", at(DAY - timedelta(days=1), 21), plan=SHORT_TASTER)

    store(engine, first)
    store(engine, [tried, *late, second_today])
    kept = day_rows(engine)

    # The same facts, built in one go from the sessions.
    with engine.begin() as connection:
        connection.execute(delete(DayFact))
        connection.exec_driver_sql("DELETE FROM settings WHERE key = 'day_facts_zone'")
    keep_day_facts(engine, BERLIN)
    assert day_rows(engine) == kept
    d = {k: DAY - timedelta(days=k) for k in range(13)}
    assert kept == [
        (d[12], 1, 1, d[12]), (d[11], 1, 1, d[12]), (d[10], 1, 1, d[12]), (d[9], 1, 1, d[12]),
        (d[8], 1, 1, d[12]), (d[7], 1, 1, d[12]), (d[6], 1, 1, d[12]),
        (d[5], 1, 0, None),
        (d[4], 1, 1, d[4]), (d[3], 1, 1, d[4]), (d[2], 1, 1, d[4]), (d[1], 2, 2, d[4]),
    ]  # fmt: skip
    with engine.connect() as connection:
        assert counted_days_ending(connection, BERLIN, d[1]) == 4
        assert counted_days_ending(connection, BERLIN, d[6]) == 7
        assert counted_days_ending(connection, BERLIN, d[5]) == 0
        assert counted_days_ending(connection, BERLIN, d[0]) == 0  # no session that day


def test_facts_kept_in_another_zone_are_not_used_and_a_new_zone_rebuilds_them(
    engine: Engine,
) -> None:
    # 23:30 in Berlin is 17:30 in New York: the same sessions fall on other dates there,
    # and an unbroken run in Berlin has no gap in New York either.
    keep_day_facts(engine, BERLIN)
    store(engine, [daily(d, 23) for d in days_back(*range(1, 30))])
    now = datetime(2026, 5, 12, 9, 0, tzinfo=NEW_YORK)
    day = now.date()

    with engine.connect() as connection:
        assert counted_days_ending(connection, NEW_YORK, day - timedelta(days=7)) is None
    walked = summary_for(engine, day, NEW_YORK, now)
    assert walked == whole_history_summary(engine, day, NEW_YORK, now)

    assert keep_day_facts(engine, NEW_YORK)

    with engine.connect() as connection:
        assert kept_zone(connection) == "America/New_York"
        assert counted_days_ending(connection, BERLIN, DAY - timedelta(days=7)) is None
    assert read_summary_input(engine, day, NEW_YORK, now).streak_days == walked.streak_days
    assert summary_for(engine, day, NEW_YORK, now) == walked
    # Berlin asked now walks the sessions, and still gets it right.
    assert summary_for(engine, DAY, BERLIN, NOW) == whole_history_summary(engine, DAY, BERLIN, NOW)


def test_a_zone_without_a_name_keeps_nothing_and_the_summary_still_counts(
    engine: Engine,
) -> None:
    fixed = timezone(timedelta(hours=2))
    store(engine, [daily(d, 7) for d in days_back(*range(0, 20))])

    assert not keep_day_facts(engine, fixed)

    assert day_rows(engine) == []
    now = datetime(2026, 5, 12, 9, 0, tzinfo=fixed)
    assert summary_for(engine, DAY, fixed, now).streak_days == 20


def test_a_session_left_running_counts_once_it_is_marked_interrupted(engine: Engine) -> None:
    keep_day_facts(engine, BERLIN)
    crashed = Run("crashed", at(DAY - timedelta(days=9), 7), plan=SHORT_TASTER,
                  stop_at_s=40.0, outcome=SessionState.RUNNING)  # fmt: skip
    store(engine, [daily(d, 7) for d in days_back(*range(0, 9))])
    store(engine, [crashed])
    assert day_rows(engine)[0][0] == DAY - timedelta(days=8)

    mark_interrupted_sessions(engine, NOW.timestamp())

    assert day_rows(engine)[0] == (DAY - timedelta(days=9), 1, 1, DAY - timedelta(days=9))
    assert summary_for(engine, DAY, BERLIN, NOW).streak_days == 10


def test_the_recorder_keeps_the_facts_in_its_zone_from_its_start(engine: Engine) -> None:
    store(engine, [daily(d, 7) for d in days_back(*range(1, 15))])
    recorder = Recorder(engine, tz=BERLIN)
    recorder.start()
    for event in daily(DAY, 7).events():
        recorder.submit(event)

    assert recorder.stop()

    with engine.connect() as connection:
        assert kept_zone(connection) == "Europe/Berlin"
    assert day_rows(engine)[-1] == (DAY, 1, 1, DAY - timedelta(days=14))
    assert read_summary_input(engine, DAY, BERLIN, NOW).streak_days == 15
