"""Live coherence: how closely the heart-rate rhythm follows the pacer right now. Pure.

A guide, not a measurement. Over the last ``WINDOW_S`` of clean beats, the heart-rate
tachogram is resampled evenly, detrended and windowed, and its spectrum taken; coherence
is the share of heart-rate-variability power (``HRV_LOW_HZ``-``HRV_HIGH_HZ``) that lies
within ``BAND_HALF_WIDTH_HZ`` of the breathing frequency. When a person breathes with
the pacer, the heart swings at the pacer's rate and most of the power sits there (the
idea behind the "coherence" of HRV biofeedback: McCraty et al. 2009, "The coherent heart",
Integral Review 5(2); Lehrer & Gevirtz 2014, "Heart rate variability biofeedback: how and
why does it work?", Front Psychol 5:756). Breathing at another rate, moving, or a noisy
signal spreads it out, and the figure falls.

Cheap enough for the core loop every few seconds: a minute of beats is under a hundred
intervals, and the spectrum a few hundred points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from companion.heart.physiology import clean_rr

SECONDS_PER_MINUTE = 60.0
WINDOW_S = 64.0
MIN_SPAN_S = 30.0
MIN_BEATS = 25
MAX_REJECTED_FRACTION = 0.2
RESAMPLE_HZ = 4.0
SPECTRUM_STEP_HZ = 0.002
HRV_LOW_HZ = 0.033  # slower swings are drift, not rhythm
HRV_HIGH_HZ = 0.4
BAND_HALF_WIDTH_HZ = 0.03  # a 64 s Hann window spreads a pure rhythm about this wide
# Labels for people; the figure is a share of power, 0..1.
HIGH_AT = 0.6
MEDIUM_AT = 0.35


@dataclass(frozen=True)
class CoherenceReading:
    value: float  # 0..1: the share of HRV power near the breathing frequency
    breathing_per_min: float  # the frequency it was measured at
    beats: int  # clean beats in the window

    @property
    def level(self) -> str:
        if self.value >= HIGH_AT:
            return "high"
        return "medium" if self.value >= MEDIUM_AT else "low"


def coherence(
    beat_times_s: Sequence[float],
    rr_ms: Sequence[float],
    breathing_per_min: float,
    now_s: float | None = None,
) -> CoherenceReading | None:
    """Coherence over the ``WINDOW_S`` before ``now_s`` (the last beat when None), at the
    pacer's ``breathing_per_min``. None when there is too little clean signal to say."""
    if len(beat_times_s) != len(rr_ms):
        raise ValueError(f"{len(beat_times_s)} beat times for {len(rr_ms)} intervals")
    if not len(beat_times_s) or not math.isfinite(breathing_per_min) or breathing_per_min <= 0:
        return None
    times = np.asarray(beat_times_s, dtype=np.float64)
    end = float(times[-1]) if now_s is None else now_s
    inside = (times > end - WINDOW_S) & (times <= end)
    window_rr = [float(v) for v in np.asarray(rr_ms, dtype=np.float64)[inside]]
    cleaned = clean_rr(window_rr)
    kept_times = times[inside][np.asarray(cleaned.kept_indices, dtype=np.int64)]
    if (
        kept_times.size < MIN_BEATS
        or kept_times[-1] - kept_times[0] < MIN_SPAN_S
        or cleaned.rejected > MAX_REJECTED_FRACTION * len(window_rr)
    ):
        return None
    hr = SECONDS_PER_MINUTE * 1000.0 / np.asarray(cleaned.kept, dtype=np.float64)
    grid = np.arange(kept_times[0], kept_times[-1], 1.0 / RESAMPLE_HZ)
    signal = np.interp(grid, kept_times, hr)
    x = np.arange(signal.size, dtype=np.float64)
    slope, intercept = np.polyfit(x, signal, 1)
    signal = (signal - (slope * x + intercept)) * np.hanning(signal.size)
    length = max(signal.size, math.ceil(RESAMPLE_HZ / SPECTRUM_STEP_HZ))
    power = np.abs(np.fft.rfft(signal, n=length)) ** 2
    frequencies = np.fft.rfftfreq(length, 1.0 / RESAMPLE_HZ)
    hrv = (frequencies >= HRV_LOW_HZ) & (frequencies <= HRV_HIGH_HZ)
    total = float(power[hrv].sum())
    if total <= 0.0:
        return None
    pace_hz = breathing_per_min / SECONDS_PER_MINUTE
    near = hrv & (np.abs(frequencies - pace_hz) <= BAND_HALF_WIDTH_HZ)
    return CoherenceReading(
        value=float(power[near].sum()) / total,
        breathing_per_min=breathing_per_min,
        beats=int(kept_times.size),
    )
