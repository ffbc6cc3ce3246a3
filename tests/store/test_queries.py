from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from companion.events import PainRated, SessionState
from companion.store import queries
from companion.store.queries import DeviceRow, OutcomeRow, SampleRow, SessionSummary
from companion.store.schema import Outcome
from tests.store.conftest import T0, ended, record, sample, started

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


EVENING_SUMMARY = summary(
    id="evening", started_at=EVENING, ended_at=EVENING + 600, duration_s=600.0,
    outcome=Outcome.COMPLETED, pain_before=5, pain_after=3, hr_min=60, hr_mean=65.0,
    hr_max=70, samples=4,
)  # fmt: skip
MORNING_SUMMARY = summary(
    id="morning", started_at=MORNING, ended_at=MORNING + 300, duration_s=300.0,
    outcome=Outcome.STOPPED, hr_min=55, hr_mean=55.0, hr_max=55, samples=1,
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


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (EVENING, NEXT_DAY, [EVENING_SUMMARY, MORNING_SUMMARY]),
        (EVENING + 1, NEXT_DAY + 1, [MORNING_SUMMARY, TODAY_SUMMARY]),
        (NEXT_DAY + 1, NEXT_DAY + 2, []),
    ],
)
def test_sessions_between_takes_starts_from_start_up_to_not_including_end(
    history: Engine, start: float, end: float, expected: list[SessionSummary]
) -> None:
    assert queries.sessions_between(history, start, end) == expected


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


def test_session_csv_has_a_header_and_one_line_per_sample(history: Engine) -> None:
    assert queries.session_csv(history, "evening") == (
        "time_utc,t_unix,hr,contact,energy_kj,rr_ms\n"
        "2025-06-15T15:06:41.000+00:00,1750000001.000,60,1,12,1000 987.5\n"
        "2025-06-15T15:06:42.000+00:00,1750000002.000,70,1,,\n"
        "2025-06-15T15:06:43.000+00:00,1750000003.000,200,0,,\n"
        "2025-06-15T15:06:44.000+00:00,1750000004.000,0,,,\n"
    )


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
    queries.put_setting(engine, "key", "an older value")
    queries.put_setting(engine, "key", value)

    assert queries.get_setting(engine, "key", default="missing") == value


def test_a_missing_setting_gives_the_default(engine: Engine) -> None:
    assert queries.get_setting(engine, "never-set", default={"a": 1}) == {"a": 1}


def test_a_setting_put_through_a_connection_commits_with_its_transaction(engine: Engine) -> None:
    with engine.begin() as connection:
        queries.put_setting(connection, "theme", "red")

    assert queries.get_setting(engine, "theme") == "red"


def test_devices_remember_first_sight_and_keep_names_until_replaced(engine: Engine) -> None:
    queries.upsert_device(engine, "AA", seen_at=T0, name="Band A", profile="polar")
    queries.upsert_device(engine, "BB", seen_at=T0 + 5)
    queries.upsert_device(engine, "AA", seen_at=T0 + 10)  # seen again, nothing new said
    queries.upsert_device(engine, "BB", seen_at=T0 + 8, name="Band B")

    assert queries.list_devices(engine) == [
        DeviceRow("AA", "Band A", "polar", T0, T0 + 10),
        DeviceRow("BB", "Band B", None, T0 + 5, T0 + 8),
    ]


def test_forgetting_a_device_keeps_its_sessions(history: Engine) -> None:
    queries.upsert_device(history, "F0:F1:F2:F3:F4:F5", seen_at=T0)

    assert queries.forget_device(history, "F0:F1:F2:F3:F4:F5")
    assert not queries.forget_device(history, "F0:F1:F2:F3:F4:F5")
    assert queries.list_devices(history) == []
    assert len(queries.list_sessions(history)) == 3
