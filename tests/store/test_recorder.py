from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import InstrumentedAttribute

from companion.events import LinkChanged, LinkState, PacingAdapted, PainRated, SessionState
from companion.heart.gaps import Gap, GapReason
from companion.store import queries
from companion.store.database import create_engine_for_url, upgrade_to_head
from companion.store.day_facts import keep_day_facts
from companion.store.queries import (
    CueRow,
    LinkEventRow,
    PacingEventRow,
    SessionDetail,
    StepRow,
)
from companion.store.recorder import (
    Failure,
    Recorder,
    StoreHealth,
    classify_failure,
    mark_interrupted_sessions,
    retry_delay_s,
)
from companion.store.schema import Cue, Outcome, Sample, Session
from tests.store.conftest import BAND, PLAN, T0, cue, ended, record, sample, started, step

WAIT_S = 10.0  # generous bound for the recorder thread; never reached when things work


@pytest.fixture
def recorder(engine: Engine) -> Iterator[Recorder]:
    recorder = Recorder(engine)
    recorder.start()
    yield recorder
    recorder.stop()


def count(engine: Engine, column: InstrumentedAttribute[Any]) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count(column))).scalar_one())


def test_a_session_goes_in_as_events_and_comes_out_as_rows(
    engine: Engine, recorder: Recorder
) -> None:
    for e in [
        LinkChanged(mono=0, wall=T0 - 10, device=BAND, state=LinkState.CONNECTED),
        started("run1", T0, pain_before=4),
        step("run1", 0, T0 + 0.1),
        sample(T0 + 1, 62, rr_ms=(960.0,)),
        cue("run1", 0, T0 + 30.05, 30.0, 30.05),
        PacingAdapted(mono=0, wall=T0 + 20, run_id="run1", exhale_s=7.0, reason="slower"),
        LinkChanged(mono=0, wall=T0 + 25, device=BAND, state=LinkState.LOST, detail="range"),
        LinkChanged(mono=0, wall=T0 + 27, device=BAND, state=LinkState.RECONNECTED),
        step("run1", 1, T0 + 30.1),
        sample(T0 + 31, 70, contact=False),
        sample(T0 + 32, 66),
        ended("run1", T0 + 45, SessionState.PAIN, step_idx=1),
        PainRated(mono=0, wall=T0 + 50, run_id="run1", moment="after", pain=6),
        sample(T0 + 51, 64),
    ]:
        recorder.submit(e)

    assert recorder.flush(WAIT_S)

    assert queries.get_session(engine, "run1") == SessionDetail(
        id="run1", routine="bedtime", title="Bedtime unwind", level=2,
        started_at=T0, ended_at=T0 + 45, duration_s=45.0, outcome=Outcome.PAIN,
        # Half the worn samples carry RR, so the heart rate is from that one interval.
        pain_before=4, pain_after=6, hr_min=62.5, hr_mean=62.5, hr_max=62.5, samples=3,
        steps_planned=2, steps_started=2, beats_kept=1, beats_rejected=0,
        level_reason="first week: start slow",
        device=BAND,
        total_planned_s=60.0,
        plan=PLAN.to_json(),
        pain_step=1,
        pain_at=T0 + 45,
        steps=(
            StepRow(
                idx=0, name="Knee to chest", exercise="knee-to-chest", side="left",
                mode="hold", planned_start_s=0.0, planned_end_s=30.0, breaths=3, reps=None,
                started_at=T0 + 0.1, ended_at=T0 + 30.1, actual_start_s=(T0 + 0.1) - T0,
            ),
            StepRow(
                idx=1, name="Pelvic tilt", exercise="pelvic-tilt", side=None, mode="reps",
                planned_start_s=30.0, planned_end_s=60.0, breaths=None, reps=5,
                started_at=T0 + 30.1, ended_at=T0 + 45, actual_start_s=(T0 + 30.1) - T0,
            ),
        ),
        cues=(
            CueRow(
                step_idx=0, cue="hold-end", planned_s=30.0, actual_s=30.05,
                late_s=30.05 - 30.0, duration_s=0.4, on_wrist=True, at=T0 + 30.05,
            ),
        ),
        link_events=(
            LinkEventRow(T0 + 25, BAND, "lost", "range"),
            LinkEventRow(T0 + 27, BAND, "reconnected", ""),
        ),
        pacing_events=(PacingEventRow(T0 + 20, 7.0, "slower"),),
        gaps=(Gap(1.0, 32.0, GapReason.LINK_LOST), Gap(32.0, 45.0, GapReason.NO_SAMPLES)),
    )  # fmt: skip
    assert count(engine, Sample.id) == 4  # the one after the end belongs to no session
    assert recorder.health() == StoreHealth(True, "store ready", 0, 0)


def test_many_samples_are_written_in_one_transaction(engine: Engine) -> None:
    keep_day_facts(engine, UTC)  # as after the first start: nothing to build at this one
    commits: list[object] = []
    event.listen(engine, "commit", commits.append)
    recorder = Recorder(engine, flush_interval_s=3600.0, tz=UTC)
    recorder.start()
    recorder.submit(started("run1", T0))
    for i in range(2000):
        recorder.submit(sample(T0 + i, 60 + i % 30))

    assert recorder.stop()

    assert (len(commits), count(engine, Sample.id)) == (1, 2000)


def test_rows_are_written_unasked_once_the_flush_interval_passes(engine: Engine) -> None:
    recorder = Recorder(engine, flush_interval_s=0.05)
    recorder.start()
    try:
        recorder.submit(started("run1", T0))
        recorder.submit(sample(T0 + 1, 61))
        deadline = time.monotonic() + WAIT_S
        while count(engine, Sample.id) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)

        assert count(engine, Sample.id) == 1
    finally:
        recorder.stop()


def test_an_unwritable_store_keeps_rows_until_it_recovers_dropping_only_old_samples(
    db_url: str,
) -> None:
    engine = create_engine_for_url(db_url)  # never migrated: every write fails
    changes: list[tuple[bool, str]] = []
    recorder = Recorder(engine, max_buffer=5, on_health_change=lambda *c: changes.append(c))
    recorder.start()
    try:
        recorder.submit(started("run1", T0))
        for i in range(10):
            recorder.submit(sample(T0 + i, 60 + i))
        recorder.submit(cue("run1", 0, T0 + 9, 9.0, 9.0))
        recorder.submit(ended("run1", T0 + 10, SessionState.COMPLETED))

        assert not recorder.flush(WAIT_S)
        health = recorder.health()
        assert (health.ok, health.buffered, health.dropped) == (False, 1 + 2 + 5 + 1 + 1, 5)
        assert health.message.startswith("cannot write to the store: ")

        upgrade_to_head(db_url)
        assert recorder.flush(WAIT_S)
    finally:
        recorder.stop()

    assert recorder.health() == StoreHealth(True, "store ready", 0, 5)
    assert [ok for ok, _ in changes] == [False, True]
    with engine.connect() as connection:
        kept = connection.execute(select(Sample.hr).order_by(Sample.t)).scalars().all()
        outcome = connection.execute(select(Session.outcome)).scalar_one()
        cues = connection.execute(select(func.count(Cue.id))).scalar_one()
    assert (kept, outcome, cues) == ([65, 66, 67, 68, 69], "completed", 1)
    engine.dispose()


def test_rows_the_database_rejects_are_dropped_alone(engine: Engine) -> None:
    record(engine, [started("run1", T0)])
    recorder = Recorder(engine)
    recorder.start()
    recorder.submit(started("run1", T0))  # the same session again: its rows clash
    recorder.submit(sample(T0 + 1, 61))
    recorder.submit(ended("run1", T0 + 2, SessionState.STOPPED))

    assert recorder.stop()

    assert recorder.health() == StoreHealth(True, "store ready", 0, 3)  # session + 2 steps
    assert count(engine, Sample.id) == 1
    assert queries.recent_outcomes(engine, 1)[0].outcome is Outcome.STOPPED


def test_a_stop_and_a_flush_queued_while_a_write_is_slow_are_both_answered(
    engine: Engine,
) -> None:
    writing, release = threading.Event(), threading.Event()

    def slow_first_write(*_: object) -> None:
        writing.set()
        release.wait(WAIT_S)

    event.listen(engine, "before_cursor_execute", slow_first_write)
    recorder = Recorder(engine, flush_interval_s=0.0)
    recorder.start()
    recorder.submit(sample(T0, 60))
    assert writing.wait(WAIT_S)
    results: dict[str, bool] = {}
    requests = [
        threading.Thread(target=lambda: results.update(flush=recorder.flush(WAIT_S))),
        threading.Thread(target=lambda: results.update(stop=recorder.stop(WAIT_S))),
    ]
    for thread in requests:
        thread.start()
    deadline = time.monotonic() + WAIT_S
    while recorder._inbox.qsize() < 2 and time.monotonic() < deadline:  # both queued
        time.sleep(0.01)
    release.set()
    for thread in requests:
        thread.join(WAIT_S * 2)

    assert results == {"flush": True, "stop": True}
    assert count(engine, Sample.id) == 1


def test_submit_after_stop_is_ignored_without_raising(engine: Engine) -> None:
    recorder = Recorder(engine)
    recorder.start()
    assert recorder.stop()

    recorder.submit(sample(T0, 60))

    assert count(engine, Sample.id) == 0


def test_stopping_a_recorder_that_never_started_loses_nothing(engine: Engine) -> None:
    assert Recorder(engine).stop()


def test_sessions_left_running_become_interrupted_at_their_last_record(engine: Engine) -> None:
    record(
        engine,
        [
            started("samples-and-cue", T0),
            sample(T0 + 50, 60),
            cue("samples-and-cue", 0, T0 + 55, 55.0, 55.0),
            started("nothing-recorded", T0 + 100),
            ended("nothing-recorded", T0 + 100, SessionState.RUNNING),
            started("finished", T0 + 200),
            ended("finished", T0 + 230, SessionState.COMPLETED),
            started("step-only", T0 + 300),
            step("step-only", 0, T0 + 301),
            started("clock-ahead", T0 + 400),
            sample(T0 + 900, 60),
        ],
    )

    marked = mark_interrupted_sessions(engine, now_wall=T0 + 500)

    assert marked == ["samples-and-cue", "nothing-recorded", "step-only", "clock-ahead"]
    assert {(s.id, s.outcome, s.ended_at) for s in queries.list_sessions(engine, 10, 0)} == {
        ("samples-and-cue", Outcome.INTERRUPTED, T0 + 55),
        ("nothing-recorded", Outcome.INTERRUPTED, T0 + 100),
        ("finished", Outcome.COMPLETED, T0 + 230),
        ("step-only", Outcome.INTERRUPTED, T0 + 301),
        ("clock-ahead", Outcome.INTERRUPTED, T0 + 500),
    }
    assert mark_interrupted_sessions(engine, now_wall=T0 + 600) == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (IntegrityError("INSERT", {}, Exception("duplicate key")), Failure.REJECTED),
        (DataError("INSERT", {}, Exception("value too long")), Failure.REJECTED),
        (OperationalError("INSERT", {}, Exception("disk is full")), Failure.TRANSIENT),
        (OperationalError("INSERT", {}, Exception("readonly")), Failure.TRANSIENT),
        (InterfaceError("INSERT", {}, Exception("connection closed")), Failure.TRANSIENT),
        (ProgrammingError("INSERT", {}, Exception("no such table")), Failure.TRANSIENT),
        (PoolTimeoutError("pool exhausted"), Failure.TRANSIENT),
        (StatementError("bad parameter", "INSERT", {}, TypeError("x")), Failure.REJECTED),
        (KeyError("hr"), Failure.REJECTED),
    ],
)
def test_failures_about_the_database_are_retried_and_failures_about_rows_are_not(
    error: BaseException, expected: Failure
) -> None:
    assert classify_failure(error) is expected


@pytest.mark.parametrize(
    ("attempt", "delay_s"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (6, 16.0), (7, 30.0), (50, 30.0)],
)
def test_retries_back_off_by_doubling_up_to_half_a_minute(attempt: int, delay_s: float) -> None:
    assert retry_delay_s(attempt) == delay_s


# --- between sessions: fewer commits ---------------------------------------------------------


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_samples_between_sessions_wait_for_their_interval_and_a_stop_writes_them(
    engine: Engine,
) -> None:
    keep_day_facts(engine, UTC)
    commits: list[object] = []
    event.listen(engine, "commit", commits.append)
    recorder = Recorder(engine, flush_interval_s=0.01, idle_flush_interval_s=3600.0, tz=UTC)
    recorder.start()
    for i in range(3):
        recorder.submit(sample(T0 + i, 60 + i))
    assert wait_for(lambda: recorder.health().buffered == 3)
    time.sleep(0.2)  # twenty flush intervals of rows within a session

    waiting = (len(commits), count(engine, Sample.id))
    assert recorder.stop()

    assert waiting == (0, 0)
    assert (len(commits), count(engine, Sample.id)) == (1, 3)


def test_samples_between_sessions_go_once_enough_of_them_wait(engine: Engine) -> None:
    recorder = Recorder(engine, idle_flush_interval_s=3600.0, idle_max_rows=5)
    recorder.start()
    try:
        for i in range(7):
            recorder.submit(sample(T0 + i, 60 + i))

        assert wait_for(lambda: count(engine, Sample.id) >= 5)
        assert recorder.health().buffered in (0, 2)  # the last two wait, or went with them
    finally:
        recorder.stop()


def test_samples_between_sessions_go_unasked_once_their_interval_passes(engine: Engine) -> None:
    recorder = Recorder(engine, idle_flush_interval_s=0.05)
    recorder.start()
    try:
        recorder.submit(sample(T0, 61))

        assert wait_for(lambda: count(engine, Sample.id) == 1)
    finally:
        recorder.stop()


def test_a_session_starting_takes_the_samples_waiting_before_it(engine: Engine) -> None:
    recorder = Recorder(engine, flush_interval_s=0.01, idle_flush_interval_s=3600.0)
    recorder.start()
    try:
        for i in range(3):
            recorder.submit(sample(T0 + i, 60 + i))
        recorder.submit(started("run1", T0 + 3))
        recorder.submit(sample(T0 + 4, 64))

        assert wait_for(lambda: count(engine, Session.id) == 1)
        assert wait_for(lambda: count(engine, Sample.id) == 4)
    finally:
        recorder.stop()
