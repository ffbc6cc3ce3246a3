"""Live coherence against a simulated wearer that follows the pacer, or breathes on its own."""

from __future__ import annotations

import pytest

from companion.ble.resonance_curve import ResonanceCurve, beats_following
from companion.ble.wearer import Wearer, WearerMode
from companion.heart.coherence import coherence

PACE = 6.0


def _cues(until_s: float, start_s: float = 5.0) -> list[tuple[float, str]]:
    cues, t = [], start_s
    while t < until_s:
        cues += [(t, "breath-in"), (t + 4.0, "breath-out")]
        t += 10.0
    return cues


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coherence_is_high_while_the_wearer_follows_the_pacer(seed: int) -> None:
    times, rr = beats_following(Wearer(seed, resonance=ResonanceCurve(5.5)), _cues(300), 300)
    readings = [coherence(times, rr, PACE, now_s=end) for end in (120.0, 200.0, 300.0)]
    assert all(r is not None and r.value >= 0.6 and r.level == "high" for r in readings)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coherence_is_low_when_the_wearer_breathes_on_its_own(seed: int) -> None:
    wearer = Wearer(seed, mode=WearerMode.OWN_PACE)
    times, rr = beats_following(wearer, _cues(300), 300)
    reading = coherence(times, rr, PACE, now_s=300.0)
    assert reading is not None
    assert reading.value < 0.35 and reading.level == "low"


def test_coherence_falls_when_the_cues_stop_and_the_wearer_breathes_on_its_own() -> None:
    wearer = Wearer(5)
    times, rr = beats_following(wearer, _cues(200), 400)
    following = coherence(times, rr, PACE, now_s=190.0)
    alone = coherence(times, rr, PACE, now_s=400.0)
    assert following is not None and alone is not None
    assert following.value >= 0.6 > 0.35 > alone.value


def test_too_little_signal_gives_no_reading() -> None:
    times, rr = beats_following(Wearer(1), _cues(20), 20)
    assert coherence(times, rr, PACE) is None
    assert coherence([], [], PACE) is None
    assert coherence([1.0], [1000.0], 0.0) is None


def test_mismatched_times_and_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="beat times"):
        coherence([1.0, 2.0], [1000.0], PACE)
