"""Gaps in a session's heart-rate record, and the reason given for each."""

from __future__ import annotations

import pytest

from companion.heart.gaps import Gap, GapReason, SamplePoint, find_gaps

START = 1000.0


def worn(*offsets: float) -> list[SamplePoint]:
    return [SamplePoint(START + t, 60, True) for t in offsets]


def test_a_steady_record_has_no_gap() -> None:
    assert find_gaps(START, START + 5, worn(1, 2, 3, 4), []) == []


def test_samples_three_seconds_apart_are_still_live() -> None:
    assert find_gaps(START, START + 9, worn(1, 3, 6, 9), []) == []


def test_a_silence_is_a_gap_without_samples() -> None:
    gaps = find_gaps(START, START + 20, worn(1, 2, 10, 11, 20), [])
    assert gaps == [Gap(2.0, 10.0, GapReason.NO_SAMPLES), Gap(11.0, 20.0, GapReason.NO_SAMPLES)]


def test_samples_off_the_skin_make_a_no_contact_gap() -> None:
    samples = [
        *worn(1, 2),
        SamplePoint(START + 3, 0, False),
        SamplePoint(START + 4, 72, False),
        SamplePoint(START + 5, 0, None),
        *worn(8, 9),
    ]
    assert find_gaps(START, START + 9, samples, []) == [Gap(2.0, 8.0, GapReason.NO_CONTACT)]


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([(START + 4, "lost"), (START + 20, "reconnected")], id="lost-inside"),
        pytest.param([(START + 1.5, "lost")], id="lost-before-the-last-sample-arrived"),
    ],
)
def test_a_lost_link_names_the_gap(events: list[tuple[float, str]]) -> None:
    gaps = find_gaps(START, START + 30, worn(1, 2, 25, 27, 29, 30), events)
    assert gaps == [Gap(2.0, 25.0, GapReason.LINK_LOST)]


def test_a_link_that_came_back_before_the_gap_does_not_name_it() -> None:
    events = [(START + 0.5, "lost"), (START + 0.8, "reconnected")]
    assert find_gaps(START, START + 12, worn(1, 2, 12), events) == [
        Gap(2.0, 12.0, GapReason.NO_SAMPLES)
    ]


def test_a_running_session_ends_at_its_last_sample() -> None:
    assert find_gaps(START, None, worn(1, 2, 3), []) == []
    assert find_gaps(START, None, [], []) == []


def test_a_late_first_sample_is_a_gap_from_the_start() -> None:
    assert find_gaps(START, START + 12, worn(6, 9, 12), []) == [Gap(0.0, 6.0, GapReason.NO_SAMPLES)]
