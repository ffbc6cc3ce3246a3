from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, insert

from companion.events import LinkChanged, LinkState, PainRated, SessionState
from companion.heart.gaps import Gap, GapReason
from companion.store import device_writes, queries, setting_writes
from companion.store.queries import DeviceRow, OutcomeRow, SampleRow, SessionSummary
from companion.store.schema import Outcome, Sample
from tests.store.conftest import BAND, T0, ended, record, sample, started

EVENING = T0
MORNING = T0 + 10 * 3600
NEXT_DAY = T0 + 24 * 3600


@pytest.fixture
def history(engine: Engine) -> Engine:
    """Three sessions (one still running) and a stray sample outside any session."""
    record(
        engine,
        [
            sample(EVENING - 60, 90),
            started("evening", EVENING, pain_before=5),
            sample(EVENING + 1, 60, rr_ms=(1000.0, 987.5), energy_kj=12),
            sample(EVENING + 2, 70),
            sample(EVENING + 3, 200, contact=False),  # off the skin: not a heartbeat
            sample(EVENING + 4, 0, contact=None),
            ended("evening", EVENING + 600, SessionState.COMPLETED),
            PainRated(mono=0, wall=EVENING + 610, run_id="evening", moment="after", pain=3),
            started("morning", MORNING, pain_before=None),
            sample(MORNING + 1, 55, contact=None),
            ended("morning", MORNING + 300, SessionState.STOPPED),
            started("today", NEXT_DAY, pain_before=2),
        ],
    )
    return engine


def summary(**fields: Any) -> SessionSummary:
    defaults: dict[str, Any] = {
        "routine": "bedtime", "title": "Bedtime unwind", "level": 2, "ended_at": None,
        "duration_s": None, "outcome": Outcome.RUNNING, "pain_before": None,
        "pain_after": None, "hr_min": None, "hr_mean": None, "hr_max": None, "samples": 0,
        "steps_planned": 2, "steps_started": 0,
    }  # fmt: skip
    return SessionSummary(**(defaults | fields))


# Half the worn samples carry RR, so the heart rate is that of the two intervals kept
# (1000 and 987.5 ms: 60.0 to 60.8 bpm).
EVENING_SUMMARY = summary(
    id="evening", started_at=EVENING, ended_at=EVENING + 600, duration_s=600.0,
    outcome=Outcome.COMPLETED, pain_before=5, pain_after=3, hr_min=60.0, hr_mean=60.4,
    hr_max=60.8, samples=4, beats_kept=2, beats_rejected=0,
)  # fmt: skip
MORNING_SUMMARY = summary(
    id="morning", started_at=MORNING, ended_at=MORNING + 300, duration_s=300.0,
    outcome=Outcome.STOPPED, hr_min=55.0, hr_mean=55.0, hr_max=55.0, samples=1,
)  # fmt: skip
TODAY_SUMMARY = summary(id="today", started_at=NEXT_DAY, pain_before=2)


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (10, 0, [TODAY_SUMMARY, MORNING_SUMMARY, EVENING_SUMMARY]),
        (2, 0, [TODAY_SUMMARY, MORNING_SUMMARY]),
        (2, 2, [EVENING_SUMMARY]),
        (2, 3, []),
    ],
)
def test_list_sessions_pages_newest_first_with_heart_rate_from_worn_samples(
    history: Engine, limit: int, offset: int, expected: list[SessionSummary]
) -> None:
    assert queries.list_sessions(history, limit, offset) == expected


def test_queries_accept_a_connection_as_well_as_an_engine(history: Engine) -> None:
    with history.connect() as connection:
        assert queries.list_sessions(connection, 1, 0) == [TODAY_SUMMARY]


def test_an_unknown_session_has_no_detail(history: Engine) -> None:
    assert queries.get_session(history, "nope") is None


def test_session_samples_are_the_sessions_own_in_time_order(history: Engine) -> None:
    assert queries.session_samples(history, "evening") == [
        SampleRow(EVENING + 1, 60, True, (1000.0, 987.5)),
        SampleRow(EVENING + 2, 70, True, ()),
        SampleRow(EVENING + 3, 200, False, ()),
        SampleRow(EVENING + 4, 0, None, ()),
    ]


def test_session_csv_has_figures_a_header_one_line_per_sample_and_its_gaps(
    history: Engine,
) -> None:
    assert queries.session_csv(history, "evening") == (
        "# hr_min: 60.0\n"
        "# hr_mean: 60.4\n"
        "# hr_max: 60.8\n"
        "# rmssd_ms: \n"
        "# beats_kept: 2\n"
        "# beats_rejected: 0\n"
        "# breathing_rate_bpm: \n"
        "# breathing_confidence: \n"
        "time_utc,t_unix,hr,contact,energy_kj,rr_ms,gap,gap_s\n"
        "2025-06-15T15:06:41.000+00:00,1750000001.000,60,1,12,1000 987.5,,\n"
        "2025-06-15T15:06:42.000+00:00,1750000002.000,70,1,,,,\n"
        "2025-06-15T15:06:42.000+00:00,1750000002.000,,,,,no-contact,598.0\n"
        "2025-06-15T15:06:43.000+00:00,1750000003.000,200,0,,,,\n"
        "2025-06-15T15:06:44.000+00:00,1750000004.000,0,,,,,\n"
    )


def steady_run(start: float, seconds: int, *, rr: float = 1000.0) -> list[Any]:
    """One sample a second, each with the one interval that ended then."""
    return [
        sample(start + k, round(60000 / rr), rr_ms=(rr + (k % 2) * 20,)) for k in range(seconds)
    ]


def test_one_missed_beat_is_not_the_lowest_heart_rate(engine: Engine) -> None:
    record(
        engine,
        [
            started("glitch", EVENING),
            *steady_run(EVENING + 1, 30),
            sample(EVENING + 31, 28, rr_ms=(2124.0,)),
            *steady_run(EVENING + 32, 30),
            ended("glitch", EVENING + 62, SessionState.COMPLETED),
        ],
    )
    [found] = queries.list_sessions(engine)
    assert found.hr_min is not None and found.hr_min > 55
    assert (found.beats_kept, found.beats_rejected) == (60, 1)
    assert found.rmssd_ms == pytest.approx(20.0)
    assert "2124" in queries.session_csv(engine, "glitch")  # the raw value stays


def test_session_detail_lists_a_lost_link_as_a_gap(engine: Engine) -> None:
    record(
        engine,
        [
            started("drop", EVENING),
            *steady_run(EVENING + 1, 10),
            LinkChanged(mono=0, wall=EVENING + 11, device=BAND, state=LinkState.LOST),
            LinkChanged(mono=0, wall=EVENING + 31, device=BAND, state=LinkState.RECONNECTED),
            *steady_run(EVENING + 32, 10),
            ended("drop", EVENING + 42, SessionState.COMPLETED),
        ],
    )
    detail = queries.get_session(engine, "drop")
    assert detail is not None
    assert detail.gaps == (Gap(10.0, 32.0, GapReason.LINK_LOST),)
    assert ",link-lost,22.0\n" in queries.session_csv(engine, "drop")


def test_recent_outcomes_lists_finished_sessions_newest_first(history: Engine) -> None:
    assert queries.recent_outcomes(history, 5) == [
        OutcomeRow("bedtime", 2, Outcome.STOPPED, MORNING + 300, None, None),
        OutcomeRow("bedtime", 2, Outcome.COMPLETED, EVENING + 600, 5, 3),
    ]
    assert len(queries.recent_outcomes(history, 1)) == 1


@pytest.mark.parametrize(
    "value",
    [{"pace": {"inhale_s": 4.0, "exhale_s": 6.0}}, [1, "two", None], "dim", 7, True, None],
)
def test_a_setting_comes_back_as_it_was_put(engine: Engine, value: Any) -> None:
    setting_writes.put_setting(engine, "key", "an older value")
    setting_writes.put_setting(engine, "key", value)

    assert queries.get_setting(engine, "key", default="missing") == value


def test_a_missing_setting_gives_the_default(engine: Engine) -> None:
    assert queries.get_setting(engine, "never-set", default={"a": 1}) == {"a": 1}


def test_a_setting_put_through_a_connection_commits_with_its_transaction(engine: Engine) -> None:
    with engine.begin() as connection:
        setting_writes.put_setting(connection, "theme", "red")

    assert queries.get_setting(engine, "theme") == "red"


def test_devices_remember_first_sight_and_keep_names_until_replaced(engine: Engine) -> None:
    device_writes.upsert_device(engine, "AA", seen_at=T0, name="Band A", profile="polar")
    device_writes.upsert_device(engine, "BB", seen_at=T0 + 5)
    device_writes.upsert_device(engine, "AA", seen_at=T0 + 10)  # seen again, nothing new said
    device_writes.upsert_device(engine, "BB", seen_at=T0 + 8, name="Band B")

    assert queries.list_devices(engine) == [
        DeviceRow("AA", "Band A", "polar", T0, T0 + 10),
        DeviceRow("BB", "Band B", None, T0 + 5, T0 + 8),
    ]


def test_forgetting_a_device_keeps_its_sessions(history: Engine) -> None:
    device_writes.upsert_device(history, "F0:F1:F2:F3:F4:F5", seen_at=T0)

    assert device_writes.forget_device(history, "F0:F1:F2:F3:F4:F5")
    assert not device_writes.forget_device(history, "F0:F1:F2:F3:F4:F5")
    assert queries.list_devices(history) == []
    assert len(queries.list_sessions(history)) == 3


def test_figures_follow_a_late_sample_although_they_are_remembered(engine: Engine) -> None:
    record(engine, [started("late", EVENING), *steady_run(EVENING + 1, 30)])
    [before] = queries.list_sessions(engine)
    assert queries.list_sessions(engine) == [before]  # read again: the same figures

    with engine.begin() as connection:  # a buffered sample arriving after the read
        connection.execute(
            insert(Sample).values(
                session_id="late", device=BAND, t=EVENING + 31, hr=55, contact=True,
                rr_ms="[1090.0]",
            )
        )  # fmt: skip
    [after] = queries.list_sessions(engine)

    assert (before.samples, after.samples) == (30, 31)
    assert (before.beats_kept, after.beats_kept) == (30, 31)
    assert after.hr_min == pytest.approx(60000 / 1090, abs=0.1)
