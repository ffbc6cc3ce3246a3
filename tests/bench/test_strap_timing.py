"""The strap-side timing bench's arithmetic, on records shaped like the real processes' output."""

from __future__ import annotations

from typing import Any

import pytest

from bench.strap_timing import measure

ALERT = "00002a06-0000-1000-8000-00805f9b34fb"


def plan(cues: list[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "session", "plan": {"cues": [{"cue": cue, "fate": fate} for cue, fate in cues]}}


def script(writes: list[tuple[float, str, str]]) -> dict[str, Any]:
    return {
        "type": "band_script",
        "writes": [
            {"at_s": at, "cue": cue, "characteristic": ALERT, "value": value}
            for at, cue, value in writes
        ],
    }


HOLD_END = [(30.0, "hold-end", "02"), (30.6, "hold-end", "00")]
BREATH_IN = [(34.0, "breath-in", "01"), (34.3, "breath-in", "00")]
EVENTS = [
    plan([("hold-end", "played"), ("breath-in", "folded"), ("breath-in", "played")]),
    script(HOLD_END + BREATH_IN),
    {"type": "cue", "planned_s": 30.0, "actual_s": 30.002},
    {"type": "cue", "planned_s": 34.0, "actual_s": 34.004},
    {"type": "cue_delivered", "first_write_late_s": 0.001},
    {"type": "cue_delivered", "first_write_late_s": 0.003},
]


def band(offset: float, writes: list[tuple[float, str]]) -> list[dict[str, Any]]:
    return [{"mono": offset + at, "characteristic": ALERT, "value": value} for at, value in writes]


def test_errors_are_receipts_against_plan_with_the_median_offset_removed() -> None:
    received = band(500.0, [(30.0, "02"), (30.6, "00"), (34.012, "01"), (34.3, "00")])

    run = measure("taster", "idle", EVENTS, received)

    assert [round(e, 3) for e in run.errors_ms] == [0.0, 0.0, 12.0, 0.0]
    assert run.over_target == 1
    assert (run.masked, run.misread, run.received, run.planned) == (0, 0, 4, 4)
    assert run.engine_late_ms == pytest.approx((2.0, 4.0))
    assert run.sent_late_ms == pytest.approx((1.0, 3.0))


def test_writes_out_of_their_planned_place_count_as_masked() -> None:
    # The old failure: a breath-in's mild write right after the hold end's high one.
    received = band(0.0, [(30.0, "02"), (30.001, "01"), (30.3, "00"), (34.3, "00")])

    run = measure("taster", "idle", EVENTS, received)

    assert run.masked == 2
    assert run.misread > 0
