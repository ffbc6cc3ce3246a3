"""The plausibility screen as a table: what passes, what is left out, and the words why."""

from __future__ import annotations

import pytest

from companion.ble.plausibility import Screened, screen


@pytest.mark.parametrize(
    ("hr", "rr_ms", "expected"),
    [
        (62, (968.0,), Screened(62, (968.0,), ())),
        (20, (3000.0, 240.0), Screened(20, (3000.0, 240.0), ())),
        (250, (), Screened(250, (), ())),
        (0, (), Screened(None, (), ("heart rate 0 bpm outside 20-250 bpm",))),
        (19, (), Screened(None, (), ("heart rate 19 bpm outside 20-250 bpm",))),
        (251, (), Screened(None, (), ("heart rate 251 bpm outside 20-250 bpm",))),
        (
            65535,
            (63999.0,),
            Screened(
                None,
                (),
                (
                    "heart rate 65535 bpm outside 20-250 bpm",
                    "RR 63999 ms outside 240-3000 ms",
                ),
            ),
        ),
        (
            66,
            (900.0, 64000.0, 120.0, 910.0),
            Screened(66, (900.0, 910.0), ("RR 64000, 120 ms outside 240-3000 ms",)),
        ),
        # A missed beat is plausible here: telling it from a real one is the cleaning's job.
        (28, (2124.0,), Screened(28, (2124.0,), ())),
    ],
)
def test_screen_keeps_what_can_be_real_and_names_what_cannot(
    hr: int, rr_ms: tuple[float, ...], expected: Screened
) -> None:
    assert screen(hr, rr_ms) == expected
