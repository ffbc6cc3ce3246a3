"""The soak's cue timing at the band: stored cues matched to the band's own record."""

from __future__ import annotations

from typing import Any

from bench.soak import band_timing, planned_wall

ORIGIN = 1_800_000_000.0


def cue(planned_s: float, late_s: float = 0.001, **fields: Any) -> dict[str, Any]:
    return {
        "planned_s": planned_s,
        "actual_s": planned_s + late_s,
        "at": ORIGIN + planned_s + late_s,
        "on_wrist": True,
        "fate": "played",
        **fields,
    }


def test_the_plan_origin_comes_from_the_stored_cue() -> None:
    assert planned_wall(cue(4.0, late_s=0.3)) == ORIGIN + 4.0


def test_each_cue_takes_the_first_write_from_its_planned_instant() -> None:
    cues = [cue(0.0), cue(4.0), cue(10.0)]
    # Each cue is a pattern of writes (on, then off); the off writes belong to no cue.
    writes = [
        (ORIGIN + 0.002, "01"), (ORIGIN + 0.3, "00"),
        (ORIGIN + 4.030, "01"), (ORIGIN + 4.3, "00"), (ORIGIN + 4.6, "01"), (ORIGIN + 4.9, "00"),
        (ORIGIN + 10.010, "02"), (ORIGIN + 10.5, "00"),
    ]  # fmt: skip
    timing = band_timing(cues, writes)
    assert [round(x, 3) for x in timing.late_s] == [0.002, 0.030, 0.010]
    assert (timing.missing, timing.during_drops) == (0, 0)


def test_cues_not_meant_for_the_wrist_are_not_looked_for() -> None:
    cues = [cue(0.0), cue(4.0, on_wrist=False), cue(6.0, fate="folded"), cue(8.0, fate="screen")]
    timing = band_timing(cues, [(ORIGIN + 0.004, "01")])
    assert (len(timing.late_s), timing.missing) == (1, 0)


def test_a_cue_the_band_never_got_is_missing() -> None:
    timing = band_timing([cue(0.0), cue(20.0)], [(ORIGIN + 0.004, "01")])
    assert (len(timing.late_s), timing.missing, timing.during_drops) == (1, 1, 0)


def test_cues_during_a_drop_and_its_reconnection_are_counted_apart_not_timed() -> None:
    cues = [cue(0.0), cue(20.0), cue(30.0), cue(60.0)]
    # The drop is 15-25 s; the cue at 30 s waited for the reconnection and came 2 s late.
    writes = [(ORIGIN + 0.004, "01"), (ORIGIN + 32.0, "01"), (ORIGIN + 60.002, "01")]
    timing = band_timing(cues, writes, drops=[(ORIGIN + 15.0, ORIGIN + 25.0)])
    assert [round(x, 3) for x in timing.late_s] == [0.004, 0.002]
    assert (timing.missing, timing.during_drops) == (0, 2)


def test_a_write_long_after_the_plan_is_not_taken_for_that_cue() -> None:
    timing = band_timing([cue(0.0)], [(ORIGIN + 2.5, "01")])
    assert (timing.late_s, timing.missing) == ([], 1)


def test_a_cue_delayed_behind_the_pattern_before_it_is_found_but_timed_apart() -> None:
    cues = [cue(0.0), cue(0.5, fate="delayed")]
    writes = [(ORIGIN + 0.003, "01"), (ORIGIN + 1.1, "02")]
    timing = band_timing(cues, writes)
    assert [round(x, 3) for x in timing.late_s] == [0.003]
    assert [round(x, 3) for x in timing.delayed_late_s] == [0.6]
    assert timing.missing == 0
