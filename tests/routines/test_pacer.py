import math

import pytest

from companion.routines.pacer import (
    DEFAULT_PATTERN,
    BreathPattern,
    BreathPhase,
    PatternError,
    format_span,
)

IN, HOLD_IN, OUT, HOLD_OUT = (
    BreathPhase.INHALE,
    BreathPhase.HOLD_IN,
    BreathPhase.EXHALE,
    BreathPhase.HOLD_OUT,
)
LONG_EXHALE = BreathPattern(inhale_s=4.0, exhale_s=8.0)
BOX = BreathPattern(inhale_s=4.0, hold_in_s=2.0, exhale_s=6.0, hold_out_s=2.0)
DASH = "\N{EN DASH}"


def test_default_pattern_is_four_in_six_out_at_six_breaths_a_minute() -> None:
    assert BreathPattern(4.0, 0.0, 6.0, 0.0) == DEFAULT_PATTERN
    assert (DEFAULT_PATTERN.cycle_s, DEFAULT_PATTERN.breaths_per_minute) == (10.0, 6.0)


@pytest.mark.parametrize(
    ("pattern", "cycle_s", "per_minute"),
    [
        (LONG_EXHALE, 12.0, 5.0),
        (BOX, 14.0, 60 / 14),
        (BreathPattern(2.0, 0.0, 3.0, 0.0), 5.0, 12.0),  # fastest allowed
        (BreathPattern(8.0, 0.0, 12.0, 0.0), 20.0, 3.0),  # slowest allowed
    ],
)
def test_cycle_and_rate_follow_the_phases(
    pattern: BreathPattern, cycle_s: float, per_minute: float
) -> None:
    assert pattern.cycle_s == cycle_s
    assert math.isclose(pattern.breaths_per_minute, per_minute)


@pytest.mark.parametrize(
    ("pattern", "seconds", "breaths"),
    [
        (DEFAULT_PATTERN, 30.0, 3),
        (DEFAULT_PATTERN, 20.0, 2),
        (DEFAULT_PATTERN, 25.0, 3),  # halves round up
        (DEFAULT_PATTERN, 24.9, 2),
        (DEFAULT_PATTERN, 3.0, 1),  # never fewer than one breath
        (DEFAULT_PATTERN, 60.0, 6),
        (LONG_EXHALE, 20.0, 2),
        (LONG_EXHALE, 30.0, 3),
        (BOX, 30.0, 2),
    ],
)
def test_breaths_for_rounds_seconds_to_whole_breaths(
    pattern: BreathPattern, seconds: float, breaths: int
) -> None:
    assert pattern.breaths_for(seconds) == breaths


@pytest.mark.parametrize("seconds", [0.0, -5.0, math.nan, math.inf])
def test_breaths_for_refuses_a_hold_that_is_not_a_positive_length(seconds: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        DEFAULT_PATTERN.breaths_for(seconds)


@pytest.mark.parametrize(
    ("pattern", "start_s", "end_s", "expected"),
    [
        (DEFAULT_PATTERN, 0.0, 20.0, [(0.0, IN), (4.0, OUT), (10.0, IN), (14.0, OUT)]),
        (DEFAULT_PATTERN, 5.0, 15.0, [(10.0, IN), (14.0, OUT)]),
        (DEFAULT_PATTERN, 4.0, 10.0, [(4.0, OUT)]),  # start included, end excluded
        (DEFAULT_PATTERN, 3.0, 3.0, []),
        (BOX, 0.0, 14.0, [(0.0, IN), (4.0, HOLD_IN), (6.0, OUT), (12.0, HOLD_OUT)]),
        (
            LONG_EXHALE,
            100.0,
            125.0,
            [(100.0, OUT), (108.0, IN), (112.0, OUT), (120.0, IN), (124.0, OUT)],
        ),
    ],
)
def test_phases_between_lists_phase_starts_in_a_half_open_window(
    pattern: BreathPattern,
    start_s: float,
    end_s: float,
    expected: list[tuple[float, BreathPhase]],
) -> None:
    assert pattern.phases_between(start_s, end_s) == expected


def test_phases_between_does_not_drift_over_a_long_session() -> None:
    pattern = BreathPattern(inhale_s=4.1, exhale_s=6.2)
    starts = pattern.phases_between(0.0, 3600.0)
    assert starts[-2] == (349 * 10.3, IN)
    assert len(starts) == 2 * 350


def test_phases_between_refuses_a_window_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends"):
        DEFAULT_PATTERN.phases_between(10.0, 5.0)


@pytest.mark.parametrize(
    ("phases", "field", "problem"),
    [
        ({"inhale_s": 1.0}, "inhale_s", f"1 s is outside 2{DASH}8 s"),
        ({"inhale_s": 9.0}, "inhale_s", f"9 s is outside 2{DASH}8 s"),
        ({"exhale_s": 13.0}, "exhale_s", f"13 s is outside 2{DASH}12 s"),
        ({"hold_in_s": 7.0}, "hold_in_s", f"7 s is outside 0{DASH}6 s"),
        ({"hold_out_s": -1.0}, "hold_out_s", f"-1 s is outside 0{DASH}6 s"),
        ({"exhale_s": math.nan}, "exhale_s", f"nan s is outside 2{DASH}12 s"),
        (
            {"inhale_s": 2.0, "exhale_s": 2.0},
            None,
            f"a 4 s breath is 15 breaths a minute; allowed 3{DASH}12",
        ),
        (
            {"inhale_s": 8.0, "hold_in_s": 6.0, "exhale_s": 12.0},
            None,
            f"a 26 s breath is 2.31 breaths a minute; allowed 3{DASH}12",
        ),
    ],
)
def test_patterns_outside_sane_bounds_are_refused_naming_the_phase(
    phases: dict[str, float], field: str | None, problem: str
) -> None:
    with pytest.raises(PatternError) as caught:
        BreathPattern(**phases)
    assert (caught.value.field, caught.value.problem) == (field, problem)


def test_pattern_json_names_every_phase() -> None:
    assert BOX.to_json() == {
        "inhale_s": 4.0,
        "hold_in_s": 2.0,
        "exhale_s": 6.0,
        "hold_out_s": 2.0,
    }


def test_phase_words_read_as_in_and_out_with_their_opposites() -> None:
    assert [(p.word, p.opposite) for p in (IN, OUT)] == [("in", OUT), ("out", IN)]


def test_spans_are_written_with_an_en_dash() -> None:
    assert format_span(20, 30.0, " s") == "20\N{EN DASH}30 s"
