import pytest

from companion.events import SessionState
from companion.routines.progression import (
    ProgressionLevel,
    ProgressionPolicy,
    SessionOutcome,
    progression_level,
)

POLICY = ProgressionPolicy()  # 3 sessions a level, 4 levels
C, S, P, INT = (
    SessionState.COMPLETED,
    SessionState.STOPPED,
    SessionState.PAIN,
    SessionState.INTERRUPTED,
)


def history(*outcomes: SessionState, routine: str = "bedtime") -> list[SessionOutcome]:
    return [SessionOutcome(routine, outcome, 1000.0 + i) for i, outcome in enumerate(outcomes)]


TOWARDS_2 = "towards level 2"
TOWARDS_3 = "towards level 3"


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (
            (),
            ProgressionLevel(
                1, 4, f"level 1 of 4: starting gently; 0 of 3 completed sessions {TOWARDS_2}"
            ),
        ),
        (
            (C, C),
            ProgressionLevel(
                1, 4, f"level 1 of 4: starting gently; 2 of 3 completed sessions {TOWARDS_2}"
            ),
        ),
        (
            (C, C, C),
            ProgressionLevel(
                2,
                4,
                "level 2 of 4: up after 3 completed sessions without a pain stop; "
                f"0 of 3 completed sessions {TOWARDS_3}",
            ),
        ),
        (
            (C, C, C, C),
            ProgressionLevel(
                2,
                4,
                "level 2 of 4: up after 3 completed sessions without a pain stop; "
                f"1 of 3 completed sessions {TOWARDS_3}",
            ),
        ),
        (
            (C, C, C, P),
            ProgressionLevel(
                1,
                4,
                "level 1 of 4: stepped back after a pain stop; "
                f"0 of 3 completed sessions {TOWARDS_2}",
            ),
        ),
        (
            (P,),
            ProgressionLevel(
                1,
                4,
                "level 1 of 4: kept at the start after a pain stop; "
                f"0 of 3 completed sessions {TOWARDS_2}",
            ),
        ),
        (
            (C, C, P, C, C),
            ProgressionLevel(
                1,
                4,
                "level 1 of 4: kept at the start after a pain stop; "
                f"2 of 3 completed sessions {TOWARDS_2}",
            ),
        ),
        (
            (C, C, S, C),
            ProgressionLevel(
                2,
                4,
                "level 2 of 4: up after 3 completed sessions without a pain stop; "
                f"0 of 3 completed sessions {TOWARDS_3}",
            ),
        ),
        (
            (C, S, INT, S, C),
            ProgressionLevel(
                1, 4, f"level 1 of 4: starting gently; 2 of 3 completed sessions {TOWARDS_2}"
            ),
        ),
        (
            (C,) * 9,
            ProgressionLevel(
                4,
                4,
                "level 4 of 4: up after 3 completed sessions without a pain stop; the top level",
            ),
        ),
        (
            (C,) * 14,
            ProgressionLevel(
                4,
                4,
                "level 4 of 4: up after 3 completed sessions without a pain stop; the top level",
            ),
        ),
        (
            (C,) * 9 + (P,),
            ProgressionLevel(
                3,
                4,
                "level 3 of 4: stepped back after a pain stop; "
                "0 of 3 completed sessions towards level 4",
            ),
        ),
    ],
)
def test_level_follows_completed_runs_and_pain_stops(
    outcomes: tuple[SessionState, ...], expected: ProgressionLevel
) -> None:
    assert progression_level(history(*outcomes), POLICY) == expected


def test_sessions_are_taken_in_the_order_they_ended_not_the_order_given() -> None:
    pain_last = [
        SessionOutcome("morning", P, 5000.0),
        *history(C, C, C),
    ]
    assert progression_level(pain_last, POLICY).level == 1
    assert progression_level(list(reversed(pain_last)), POLICY).level == 1


def test_completed_tasters_do_not_count_but_a_pain_stop_in_one_does() -> None:
    tasters = history(C, C, C, routine="taster")
    assert progression_level(tasters, POLICY).level == 1
    stepped_back = [*history(C, C, C), SessionOutcome("taster", P, 2000.0)]
    assert progression_level(stepped_back, POLICY).level == 1


def test_policy_sets_the_run_length_and_number_of_levels() -> None:
    policy = ProgressionPolicy(sessions_per_level=2, levels=3)
    assert progression_level(history(C, C, C, C), policy) == ProgressionLevel(
        3, 3, "level 3 of 3: up after 2 completed sessions without a pain stop; the top level"
    )


def test_a_single_level_policy_never_moves() -> None:
    policy = ProgressionPolicy(levels=1)
    assert progression_level(history(C, C, C), policy) == ProgressionLevel(
        1, 1, "level 1 of 1: starting gently; the only level"
    )


@pytest.mark.parametrize(
    ("level", "levels", "fraction"),
    [(1, 4, 0.0), (2, 4, 1 / 3), (3, 4, 2 / 3), (4, 4, 1.0), (1, 1, 0.0), (2, 3, 0.5)],
)
def test_fraction_maps_the_level_onto_each_range(level: int, levels: int, fraction: float) -> None:
    assert ProgressionLevel(level, levels, "").fraction == fraction


@pytest.mark.parametrize("state", [SessionState.RUNNING, SessionState.PAUSED])
def test_an_unfinished_session_is_not_an_outcome(state: SessionState) -> None:
    with pytest.raises(ValueError, match="cannot be"):
        SessionOutcome("bedtime", state, 1.0)


@pytest.mark.parametrize(("per_level", "levels"), [(0, 4), (3, 0)])
def test_a_policy_needs_at_least_one_session_and_one_level(per_level: int, levels: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ProgressionPolicy(sessions_per_level=per_level, levels=levels)
