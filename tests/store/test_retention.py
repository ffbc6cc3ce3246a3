"""Retention: between-session heart rate older than the window folds into minutes; nothing
recorded in a session is touched, and a batch is all or nothing."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from companion.events import SessionState
from companion.store.retention import (
    DEFAULT_RAW_HEART_DAYS,
    RAW_HEART_DAYS_SETTING,
    SECONDS_PER_DAY,
    HeartMinuteFold,
    RawHeartSample,
    between_session_minutes,
    fold_minutes,
    merge_folds,
    pooled_rmssd,
    raw_heart_cutoff,
    raw_heart_days,
    thin_heart_rate,
)
from companion.store.schema import HeartMinute, Sample
from companion.store.setting_writes import put_setting
from tests.store.conftest import BAND, ended, record, sample, started

NOW = 1_760_000_000.0
OLD = math.floor((NOW - 40 * SECONDS_PER_DAY) / 60) * 60.0  # a minute start, 40 days back
RECENT = NOW - 3 * SECONDS_PER_DAY


def raw(
    t: float, hr: int, rr: tuple[float, ...] = (), contact: bool | None = True
) -> RawHeartSample:
    return RawHeartSample(BAND, t, hr, contact, rr)


def test_a_minute_folds_into_counts_extremes_mean_and_rmssd() -> None:
    steady = tuple(1000.0 + 10.0 * (i % 2) for i in range(20))  # successive differences 10
    samples = [
        raw(OLD + 0, 60, steady[:10]),
        raw(OLD + 1, 62, steady[10:]),
        raw(OLD + 2, 0),  # no beat found
        raw(OLD + 3, 70, (400.0, 1700.0), contact=False),  # off the skin: its RR is not used
        raw(OLD + 59.5, 64),
    ]
    (minute,) = fold_minutes(samples)
    assert minute == HeartMinuteFold(
        device=BAND,
        t=OLD,
        worn=3,
        unworn=2,
        hr_min=60,
        hr_mean=62.0,
        hr_max=64,
        rr_count=20,
        rr_differences=19,
        rmssd_ms=10.0,
    )


def test_samples_fold_one_row_per_band_and_minute() -> None:
    other = RawHeartSample("AA:BB:CC:DD:EE:FF", OLD + 5, 80, True, ())
    folds = fold_minutes([raw(OLD + 1, 60), raw(OLD + 61, 70), other])
    assert [(f.device, f.t, f.worn) for f in folds] == [
        ("AA:BB:CC:DD:EE:FF", OLD, 1),
        (BAND, OLD, 1),
        (BAND, OLD + 60, 1),
    ]


def test_a_minute_with_nothing_worn_keeps_its_count_and_no_figures() -> None:
    (minute,) = fold_minutes([raw(OLD, 0), raw(OLD + 1, 75, contact=False)])
    assert (minute.worn, minute.unworn, minute.hr_mean, minute.rmssd_ms) == (0, 2, None, None)


def test_merging_two_folds_of_a_minute_gives_the_fold_of_all_its_samples() -> None:
    first = [raw(OLD + i, 60 + i, (1000.0 + 10 * (i % 2),)) for i in range(10)]
    second = [raw(OLD + 30 + i, 70 + i, (900.0 + 20 * (i % 2),)) for i in range(10)]
    (a,) = fold_minutes(first)
    (b,) = fold_minutes(second)
    merged = merge_folds(a, b)
    assert (merged.worn, merged.hr_min, merged.hr_max, merged.rr_count) == (20, 60, 79, 20)
    assert merged.hr_mean == pytest.approx(sum(s.hr for s in first + second) / 20)
    # Each half's differences are kept; the join between the two is not a difference.
    assert merged.rr_differences == a.rr_differences + b.rr_differences
    assert merged.rmssd_ms == pytest.approx(pooled_rmssd([a, b]))
    assert merged.rmssd_ms == pytest.approx(math.sqrt((9 * 100 + 9 * 400) / 18))


def test_folds_of_different_minutes_do_not_merge() -> None:
    a, b = fold_minutes([raw(OLD, 60), raw(OLD + 60, 60)])
    with pytest.raises(ValueError, match="same band and minute"):
        merge_folds(a, b)


def test_the_window_is_at_least_two_days_and_the_cutoff_a_whole_minute() -> None:
    assert raw_heart_cutoff(NOW, 30) % 60 == 0
    assert NOW - 30 * SECONDS_PER_DAY - 60 < raw_heart_cutoff(NOW, 30) <= NOW - 30 * SECONDS_PER_DAY
    with pytest.raises(ValueError, match="at least 2 days"):
        raw_heart_cutoff(NOW, 1)


def test_the_window_comes_from_the_settings_and_a_bad_value_keeps_the_default(
    engine: Engine,
) -> None:
    assert raw_heart_days(engine) == DEFAULT_RAW_HEART_DAYS
    put_setting(engine, RAW_HEART_DAYS_SETTING, 90)
    assert raw_heart_days(engine) == 90
    put_setting(engine, RAW_HEART_DAYS_SETTING, "forever")
    assert raw_heart_days(engine) == DEFAULT_RAW_HEART_DAYS


# --- against the store ------------------------------------------------------------------


def history(engine: Engine) -> None:
    """Two old hours between sessions, an old session, and a recent hour between sessions."""
    events: list[Any] = []
    for start in (OLD, OLD + 6 * 3600):
        for i in range(3600):
            rr = (1000.0 + 15 * (i % 3),) if i % 2 == 0 else ()
            events.append(sample(start + i, 55 + i % 20, rr_ms=rr))
    events.append(started("run-old", OLD + 2 * 3600))
    events += [sample(OLD + 2 * 3600 + i, 80, rr_ms=(750.0,)) for i in range(60)]
    events.append(ended("run-old", OLD + 2 * 3600 + 60, SessionState.COMPLETED))
    events += [sample(RECENT + i, 65) for i in range(3600)]
    record(engine, events)


def sample_counts(engine: Engine) -> tuple[int, int, int]:
    """Old between-session, session, and recent samples."""
    with engine.connect() as c:
        between = Sample.session_id.is_(None)
        old = c.execute(select(func.count()).where(between, Sample.t < RECENT)).scalar_one()
        in_session = c.execute(
            select(func.count()).where(Sample.session_id.is_not(None))
        ).scalar_one()
        recent = c.execute(select(func.count()).where(between, Sample.t >= RECENT)).scalar_one()
    return old, in_session, recent


def minutes_stored(engine: Engine) -> list[HeartMinuteFold]:
    with engine.connect() as c:
        columns = [getattr(HeartMinute, f.name) for f in dataclasses.fields(HeartMinuteFold)]
        rows = c.execute(select(*columns).order_by(HeartMinute.t))
        return [HeartMinuteFold(*row) for row in rows]


def test_thinning_folds_old_between_session_samples_and_keeps_sessions_and_recent_ones(
    engine: Engine,
) -> None:
    history(engine)
    before = between_session_minutes(engine, OLD, OLD + 7 * 3600)
    report = thin_heart_rate(engine, NOW)
    assert report.finished
    assert report.samples_folded == 2 * 3600
    assert sample_counts(engine) == (0, 60, 3600)
    stored = minutes_stored(engine)
    assert len(stored) == 120
    assert sum(m.worn for m in stored) == 2 * 3600
    # The night figures read the same minutes whether they are raw or folded.
    assert stored == before
    assert between_session_minutes(engine, OLD, OLD + 7 * 3600) == before


def test_thinning_again_changes_nothing(engine: Engine) -> None:
    history(engine)
    thin_heart_rate(engine, NOW)
    stored = minutes_stored(engine)
    again = thin_heart_rate(engine, NOW)
    assert (again.batches, again.samples_folded, again.finished) == (0, 0, True)
    assert minutes_stored(engine) == stored


def test_thinning_in_small_stopped_runs_ends_where_one_run_does(engine: Engine) -> None:
    history(engine)
    expected = between_session_minutes(engine, OLD, OLD + 7 * 3600)
    runs = 0
    while not thin_heart_rate(engine, NOW, batch_minutes=7, max_batches=2).finished:
        runs += 1
    assert runs > 5
    assert minutes_stored(engine) == expected
    assert sample_counts(engine) == (0, 60, 3600)


def test_a_batch_killed_before_it_commits_leaves_everything_as_it_was(engine: Engine) -> None:
    history(engine)
    expected = between_session_minutes(engine, OLD, OLD + 7 * 3600)

    def die_on_sample_delete(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM SAMPLES"):
            raise KeyboardInterrupt("killed mid-batch")

    event.listen(engine, "before_cursor_execute", die_on_sample_delete)
    try:
        with pytest.raises(KeyboardInterrupt):
            thin_heart_rate(engine, NOW)
    finally:
        event.remove(engine, "before_cursor_execute", die_on_sample_delete)
    assert minutes_stored(engine) == []
    assert sample_counts(engine) == (2 * 3600, 60, 3600)
    assert thin_heart_rate(engine, NOW).finished
    assert minutes_stored(engine) == expected


def test_samples_arriving_for_a_folded_minute_merge_into_it(engine: Engine) -> None:
    history(engine)
    thin_heart_rate(engine, NOW)
    first = minutes_stored(engine)[0]
    record(engine, [sample(first.t + 30.5, 200)])
    thin_heart_rate(engine, NOW)
    merged = minutes_stored(engine)[0]
    assert (merged.worn, merged.hr_max) == (first.worn + 1, 200)
    assert sample_counts(engine)[0] == 0


def test_a_longer_window_keeps_more_raw(engine: Engine) -> None:
    history(engine)
    put_setting(engine, RAW_HEART_DAYS_SETTING, 60)
    assert thin_heart_rate(engine, NOW).samples_folded == 0
    assert sample_counts(engine) == (2 * 3600, 60, 3600)
