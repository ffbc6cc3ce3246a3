"""Physiology against real recordings nobody here wrote, and against neurokit2.

The recordings come from installed packages (see tests/data/real_recordings.py); they are
dev dependencies, so a missing one fails here rather than skipping the check.
"""

from __future__ import annotations

import pytest

from companion.heart import physiology
from tests.data import real_recordings
from tests.data.artefacts import Kind, inject

SERIES = ("Short", "Long")
BELT_WINDOW_S = 120.0
BELT_STEP_S = 60.0


def test_the_real_recordings_are_installed() -> None:
    assert real_recordings.available() is None


@pytest.mark.parametrize("which", SERIES)
def test_rmssd_equals_neurokit2_on_clean_series(which: str) -> None:
    rr = real_recordings.pyhrv_nni(which)
    ours = physiology.rmssd(list(rr))
    assert ours == pytest.approx(real_recordings.neurokit_rmssd(rr), rel=1e-3)


def test_rmssd_equals_neurokit2_on_the_ecg_series() -> None:
    rr = real_recordings.systole_task1().rr_ms
    assert physiology.rmssd(list(rr)) == pytest.approx(real_recordings.neurokit_rmssd(rr), rel=1e-3)


@pytest.mark.parametrize("rate", [0.01, 0.02])
@pytest.mark.parametrize("which", SERIES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cleaned_rmssd_stays_within_five_percent_after_artefacts(
    which: str, rate: float, seed: int
) -> None:
    rr = list(real_recordings.pyhrv_nni(which))
    clean_value = physiology.rmssd(physiology.clean_rr(rr))
    injected = inject(rr, rate, seed)
    after = physiology.rmssd(physiology.clean_rr(injected.rr_ms))
    assert clean_value is not None
    assert after == pytest.approx(clean_value, rel=0.05)


def test_ectopic_beats_premature_by_a_fifth_or_more_are_caught() -> None:
    caught = total = 0
    for which in SERIES:
        rr = list(real_recordings.pyhrv_nni(which))
        for seed in range(5):
            injected = inject(rr, 0.02, seed, kinds=(Kind.ECTOPIC,))
            cleaned = physiology.clean_rr(injected.rr_ms)
            got, events = injected.caught(cleaned.kept_indices, Kind.ECTOPIC)
            caught += got
            total += events
    assert total > 100
    assert caught / total >= 0.95


def test_breathing_rate_on_the_belt_recording_is_right_or_withheld() -> None:
    recording = real_recordings.systole_task1()
    windows = 0
    start = 0.0
    while start + BELT_WINDOW_S <= recording.duration_s:
        times, rr, belt = recording.window(start, BELT_WINDOW_S)
        estimate = physiology.estimate_breathing(times, rr)
        if estimate is not None and estimate.confident:
            assert estimate.rate_bpm == pytest.approx(belt, abs=2.0), f"window at {start:.0f} s"
        windows += 1
        start += BELT_STEP_S
    assert windows >= 20
