"""The band's one haptic channel: composing cues, telling them apart, reading them as a wearer."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest

from companion.ble.profiles import HapticWrite, load_profiles, parse_profile
from companion.routines.haptics import (
    SEPARATION_S,
    CueRequest,
    Delivery,
    Fate,
    Received,
    Turn,
    Vocabulary,
    compose,
    indistinct_cues,
    read_wrist,
    turn_for,
    write_timeline,
)

PROFILES = load_profiles(None)
VIBRATING = sorted(name for name, p in PROFILES.items() if p.has_haptics)
ALERT = "00002a06-0000-1000-8000-00805f9b34fb"
IMMEDIATE = Vocabulary.from_profile(PROFILES["immediate-alert"])


def values(delivery: Delivery) -> list[tuple[float, str]]:
    return [(w.at_s, w.write.value.hex()) for w in delivery.writes]


def test_the_shipped_profiles_that_vibrate_are_the_expected_ones() -> None:
    assert VIBRATING == ["bangle-js", "immediate-alert", "pinetime-infinitime"]


def test_a_hold_end_is_felt_whole_and_the_breath_in_at_its_instant_is_folded_into_it() -> None:
    hold_end, breath_in = compose(
        [CueRequest(48.0, "hold-end"), CueRequest(48.0, "breath-in")], IMMEDIATE
    )

    assert hold_end.fate is Fate.PLAYED
    assert values(hold_end) == [(48.0, "02"), (48.6, "00")]
    assert breath_in.fate is Fate.FOLDED
    assert breath_in.writes == ()
    assert breath_in.reason == "folded into hold-end"


def test_priority_not_list_order_decides_who_plays_first_at_one_instant() -> None:
    breath_in, hold_end = compose(
        [CueRequest(48.0, "breath-in"), CueRequest(48.0, "hold-end")], IMMEDIATE
    )

    assert (hold_end.fate, breath_in.fate) == (Fate.PLAYED, Fate.FOLDED)


def test_the_routine_end_waits_for_the_hold_end_instead_of_interleaving() -> None:
    hold_end, routine_end = compose(
        [CueRequest(60.0, "hold-end"), CueRequest(60.0, "routine-end")], IMMEDIATE
    )

    assert values(hold_end) == [(60.0, "02"), (60.6, "00")]
    assert routine_end.fate is Fate.DELAYED
    assert routine_end.start_s == pytest.approx(60.6 + SEPARATION_S)
    assert [v for _, v in values(routine_end)] == ["02", "00", "02", "00"]
    assert routine_end.reason == "waited 1.00 s for hold-end to finish"


def test_a_higher_cue_mid_pattern_stops_the_buzz_first_and_cuts_the_rest() -> None:
    reminder, pain = compose([CueRequest(10.0, "reminder"), CueRequest(10.3, "pain")], IMMEDIATE)

    assert reminder.fate is Fate.CUT
    assert values(reminder) == [(10.0, "01")]  # its own "00" at 10.8 never goes out
    assert pain.writes[0].at_s == 10.3 and pain.writes[0].write.value == b"\x00"
    assert pain.writes[1].at_s == pytest.approx(10.35) and pain.writes[1].write.value == b"\x02"
    assert pain.reason == "reminder stopped first"


def test_a_lower_cue_with_no_room_before_the_next_one_is_dropped_with_the_reason() -> None:
    _, routine_end, _ = compose(
        [CueRequest(0.0, "hold-end"), CueRequest(0.2, "routine-end"), CueRequest(1.5, "hold-end")],
        IMMEDIATE,
    )

    assert routine_end.fate is Fate.DROPPED
    assert routine_end.reason == "no room after hold-end before the next cue"


def test_a_cue_the_band_has_no_pattern_for_stays_on_the_screen() -> None:
    (only,) = compose([CueRequest(1.0, "hold-end")], Vocabulary())

    assert only.fate is Fate.SCREEN and only.writes == ()


@pytest.mark.parametrize("profile", VIBRATING)
def test_patterns_never_overlap_on_any_vibrating_profile_however_thick_the_cues(
    profile: str,
) -> None:
    vocabulary = Vocabulary.from_profile(PROFILES[profile])
    cues = ["breath-in", "breath-out", "hold-end", "routine-end", "reminder", "safety"]
    requests = [CueRequest(round(0.25 * i, 3), cues[i % len(cues)]) for i in range(60)]

    deliveries = sorted((d for d in compose(requests, vocabulary) if d.writes), key=_first_write)

    assert {d.fate for d in deliveries} >= {Fate.PLAYED, Fate.DELAYED, Fate.CUT}
    for before, after in itertools.pairwise(deliveries):
        if before.fate is Fate.CUT:
            # Cut short for a higher cue: nothing of it goes out once the higher one begins.
            assert _first_write(after) >= before.writes[-1].at_s
            assert after.writes[0].at_s == before.end_s
        else:
            assert _first_write(after) >= before.end_s + SEPARATION_S - 1e-9


def _first_write(delivery: Delivery) -> float:
    return delivery.writes[0].at_s


@pytest.mark.parametrize("profile", VIBRATING)
def test_every_shipped_profile_that_vibrates_has_cues_told_apart_by_feel(profile: str) -> None:
    assert indistinct_cues(Vocabulary.from_profile(PROFILES[profile])) == []


def _writes(*pulses: tuple[float, str, float | None]) -> tuple[HapticWrite, ...]:
    return tuple(
        HapticWrite(at, ALERT, bytes.fromhex(value), False, length) for at, value, length in pulses
    )


def test_cues_that_feel_the_same_or_open_like_another_are_named() -> None:
    vocabulary = Vocabulary.from_cue_writes(
        {
            "breath-in": _writes((0.0, "01", 0.1), (0.1, "00", None)),
            "breath-out": _writes((0.0, "01", 0.1), (0.1, "00", None), (0.2, "01", 0.1)),
            "reminder": _writes((0.0, "01", 0.12), (0.12, "00", None)),
        }
    )

    assert indistinct_cues(vocabulary) == [
        "breath-in feels like the start of breath-out",
        "breath-in and reminder feel the same (1 pulse, 0.10 s)",
        "reminder feels like the start of breath-out",
    ]


ALIKE_PROFILE = """
title = "Mine"
description = "A band whose breath cues are alike."
[[cues.breath-in]]
after_s = 0.0
characteristic = "2a06"
value = "01"
[[cues.breath-out]]
after_s = 0.0
characteristic = "2a06"
value = "01"
"""


def test_loading_a_user_profile_whose_cues_are_alike_warns_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "mine.toml").write_text(ALIKE_PROFILE)

    with caplog.at_level(logging.WARNING, logger="companion.ble.profiles"):
        profiles = load_profiles(tmp_path)

    assert "mine" in profiles  # still usable; the warning says what to change
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "mine" in warnings[0]
    assert "breath-in and breath-out feel the same" in warnings[0]


def test_a_user_profile_with_distinct_cues_loads_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = (Path(str(PROFILES["immediate-alert"].path))).read_text()
    (tmp_path / "copy.toml").write_text(text)

    with caplog.at_level(logging.WARNING, logger="companion.ble.profiles"):
        load_profiles(tmp_path)

    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_parse_keeps_a_profile_whose_cues_are_alike_it_only_warns_on_load() -> None:
    profile = parse_profile(ALIKE_PROFILE, name="mine", path=Path("mine.toml"))

    assert profile.cue_writes("breath-in") == profile.cue_writes("breath-out")


# --- the wearer ----------------------------------------------------------------------------


def received(*writes: tuple[float, str]) -> list[Received]:
    return [Received(t, ALERT, bytes.fromhex(value)) for t, value in writes]


def test_the_wearer_reads_a_composed_timeline_as_its_cue_words() -> None:
    deliveries = compose(
        [CueRequest(0.0, "breath-in"), CueRequest(4.0, "breath-out"), CueRequest(10.0, "hold-end"),
         CueRequest(10.0, "breath-in"), CueRequest(10.0, "routine-end")],
        IMMEDIATE,
    )  # fmt: skip
    timeline = write_timeline(deliveries)

    reading = read_wrist([Received(w.at_s, ALERT, w.write.value) for w in timeline], IMMEDIATE)

    assert [(f.t, f.cue) for f in reading.felt] == [
        (0.0, "breath-in"),
        (4.0, "breath-out"),
        (10.0, "hold-end"),
        (11.0, "routine-end"),
    ]
    assert reading.unreadable == ()


def test_a_hold_end_masked_by_a_breath_in_is_not_felt_as_a_hold_end() -> None:
    # What the strap received before composition: 02, then 01 a millisecond later.
    reading = read_wrist(received((48.0, "02"), (48.001, "01"), (48.301, "00")), IMMEDIATE)

    assert [f.cue for f in reading.felt] == ["breath-in"]
    assert [r.value for r in reading.unreadable] == [b"\x02"]


def test_interleaved_hold_end_and_routine_end_are_unreadable() -> None:
    reading = read_wrist(
        received(
            (60.0, "02"), (60.0, "02"), (60.4, "00"), (60.6, "00"), (60.8, "02"), (61.2, "00")
        ),
        IMMEDIATE,
    )

    assert "hold-end" not in [f.cue for f in reading.felt]
    assert reading.unreadable


def test_a_pattern_whose_rhythm_is_off_by_more_than_the_tolerance_is_not_read_as_it() -> None:
    reading = read_wrist(received((0.0, "02"), (0.9, "00")), IMMEDIATE)

    assert reading.felt == ()


def test_with_a_loose_rhythm_the_best_fitting_pattern_is_felt_not_the_longest() -> None:
    # A hold end and the routine end after it could pass for one routine-end at 0.25 s slack.
    stream = received(
        (60.0, "02"), (60.6, "00"), (61.0, "02"), (61.4, "00"), (61.8, "02"), (62.2, "00")
    )

    reading = read_wrist(stream, IMMEDIATE, tolerance_s=0.25)

    assert [(f.t, f.cue) for f in reading.felt] == [(60.0, "hold-end"), (61.0, "routine-end")]


def test_the_rule_is_one_function_for_plans_and_run_time() -> None:
    # Band free, or still long enough since the last pattern ended at 10.6 s:
    assert turn_for(11.0, 10, busy_end_s=10.6, busy_priority=40) == (Turn.NOW, 11.0)
    # A higher cue while the lower pattern still plays cuts it:
    assert turn_for(10.3, 60, busy_end_s=10.6, busy_priority=20) == (Turn.CUT, 10.3)
    # A higher cue in the stillness after a pattern waits for the rest of it:
    assert turn_for(10.7, 60, busy_end_s=10.6, busy_priority=20) == (Turn.WAIT, 11.0)
    # A lower or equal cue waits for the band to be still:
    assert turn_for(10.3, 10, busy_end_s=10.6, busy_priority=10) == (Turn.WAIT, 11.0)
