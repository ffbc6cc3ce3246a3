"""Heart and breath figures from beat-to-beat (RR) intervals. Pure; see docs/physiology.md.

* ``clean_rr`` drops intervals no heart produces at rest and sensor glitches (a missed or
  an extra beat), counting why.
* ``mean_hr``, ``rmssd`` and ``resting_hr`` summarise the heart.
* ``breathing_rate_from_rr`` finds the breathing rate in respiratory sinus arrhythmia:
  the heart speeds up on each breath in and slows on each breath out, so the RR series
  oscillates at the breathing rate.
* ``breath_following_score`` and ``phase_following_score`` say how well breathing
  followed the pacer; ``analyse_step`` and ``combine_steps`` bundle the lot.
"""

from __future__ import annotations

import bisect
import cmath
import enum
import itertools
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RR_MIN_MS = 300.0  # 200 bpm
RR_MAX_MS = 2000.0  # 30 bpm
# Sensor glitches: a missed beat doubles an interval; an extra one splits it in two short
# ones. Slow deep breathing can swing genuine intervals by a third or more between breath
# in and breath out, but over several beats, so a genuine interval always has a neighbour
# like it. An interval is a glitch when it is
#   * far from the median of its neighbours and unlike both intervals beside it, or
#   * one of two short neighbours that add up to about one ordinary interval, or
#   * so far from the median that no breath explains it (a doubled or a split interval).
OUTLIER_FRACTION = 0.20
ADJACENT_FRACTION = 0.20
FAR_OUTLIER_FRACTION = 0.60
NEIGHBOURS_EACH_SIDE = 5
MIN_NEIGHBOURS = 4
MIN_RMSSD_DIFFERENCES = 10

SECONDS_PER_MINUTE = 60.0
MS_PER_MINUTE = 60_000.0
MIN_SAMPLES_PER_MINUTE = 20
MIN_MINUTES_FOR_RESTING = 3
RESTING_PERCENTILE = 10.0

RESAMPLE_HZ = 4.0
BREATH_MIN_HZ = 0.05  # 3 breaths a minute
BREATH_MAX_HZ = 0.5  # 30 breaths a minute
SPECTRUM_STEP_HZ = 0.002
MIN_BREATHING_SPAN_S = 30.0
MIN_BREATHING_BEATS = 20
# The peak (+-0.02 Hz) must hold this share of the power in the breathing band, else there
# is no single rhythm to report. White-noise tachograms reached at most 0.32 (60 windows).
MIN_PEAK_SHARE = 0.35
PEAK_SHARE_HALF_WIDTH_HZ = 0.02

# Breath-following by rate: full marks within this many breaths a minute of the pace,
# none beyond the second, a straight line between.
SCORE_FULL_WITHIN_BPM = 0.5
SCORE_ZERO_BEYOND_BPM = 3.0

# Breath-following by phase: heart rate lags the cue by reaction time and lung filling.
PHASE_MAX_LAG_S = 4.0
PHASE_LAG_STEP_S = 0.25
PHASE_CORRELATION_FOR_FULL_SCORE = 0.6


class RejectReason(enum.StrEnum):
    OUT_OF_RANGE = "out_of_range"
    OUTLIER = "outlier"


@dataclass(frozen=True)
class CleanedRR:
    """The intervals kept (in order, with their positions in the input) and what was dropped."""

    kept: tuple[float, ...]
    kept_indices: tuple[int, ...]
    out_of_range: int = 0
    outliers: int = 0

    @property
    def rejected(self) -> int:
        return self.out_of_range + self.outliers

    @property
    def reasons(self) -> dict[RejectReason, int]:
        return {RejectReason.OUT_OF_RANGE: self.out_of_range, RejectReason.OUTLIER: self.outliers}

    def successive_differences(self) -> tuple[float, ...]:
        """Differences only between intervals that were neighbours before cleaning."""
        pairs = itertools.pairwise(self.kept_indices)
        return tuple(
            self.kept[k + 1] - self.kept[k] for k, (a, b) in enumerate(pairs) if b == a + 1
        )


def clean_rr(rr_ms: Sequence[float]) -> CleanedRR:
    """Drop impossible intervals, then sensor glitches (see ``OUTLIER_FRACTION``).

    The median is over up to five plausible intervals either side (not only earlier
    accepted ones), so one bad interval at the start cannot become the reference and a
    real change of pace is followed within a few beats.
    """
    plausible_indices = [i for i, rr in enumerate(rr_ms) if RR_MIN_MS <= rr <= RR_MAX_MS]
    plausible = [rr_ms[i] for i in plausible_indices]
    kept: list[float] = []
    kept_indices: list[int] = []
    outliers = 0
    for position, (index, value) in enumerate(zip(plausible_indices, plausible, strict=True)):
        if _is_glitch(plausible, position):
            outliers += 1
            continue
        kept.append(value)
        kept_indices.append(index)
    return CleanedRR(
        kept=tuple(kept),
        kept_indices=tuple(kept_indices),
        out_of_range=len(rr_ms) - len(plausible),
        outliers=outliers,
    )


def _is_glitch(values: list[float], position: int) -> bool:
    lo = max(0, position - NEIGHBOURS_EACH_SIDE)
    neighbours = [
        *values[lo:position],
        *values[position + 1 : position + NEIGHBOURS_EACH_SIDE + 1],
    ]
    if len(neighbours) < MIN_NEIGHBOURS:
        return False  # too little around it to judge
    value = values[position]
    median = statistics.median(neighbours)
    off_median = (value - median) / median
    if abs(off_median) > FAR_OUTLIER_FRACTION:
        return True
    if abs(off_median) <= OUTLIER_FRACTION:
        return False
    adjacent = values[max(0, position - 1) : position] + values[position + 1 : position + 2]
    if all(abs(value - a) / a > ADJACENT_FRACTION for a in adjacent):
        return True
    short = (1.0 - OUTLIER_FRACTION) * median
    return value < short and any(
        a < short and abs(value + a - median) <= OUTLIER_FRACTION * median for a in adjacent
    )


def mean_hr(rr_ms: Sequence[float]) -> float | None:
    """Beats a minute over the intervals given (time-weighted, so 60000 / mean interval)."""
    if not rr_ms:
        return None
    return MS_PER_MINUTE / statistics.fmean(rr_ms)


def rmssd(
    rr: Sequence[float] | CleanedRR, min_differences: int = MIN_RMSSD_DIFFERENCES
) -> float | None:
    """Root mean square of successive differences, in ms; None with too few differences.

    Given a ``CleanedRR``, differences across a removed interval are left out.
    """
    return pooled_rmssd([rr], min_differences)


def pooled_rmssd(
    parts: Iterable[Sequence[float] | CleanedRR], min_differences: int = MIN_RMSSD_DIFFERENCES
) -> float | None:
    """RMSSD over several recordings, never differencing across the join between two."""
    differences: list[float] = []
    for part in parts:
        if isinstance(part, CleanedRR):
            differences.extend(part.successive_differences())
        else:
            differences.extend(b - a for a, b in itertools.pairwise(part))
    if len(differences) < max(1, min_differences):
        return None
    return math.sqrt(statistics.fmean(d * d for d in differences))


def resting_hr(samples: Iterable[tuple[float, float]]) -> float | None:
    """Resting heart rate: the 10th percentile of the per-minute mean heart rate.

    ``samples`` are (time in seconds, bpm). A minute counts when it holds at least
    ``MIN_SAMPLES_PER_MINUTE`` samples; at least ``MIN_MINUTES_FOR_RESTING`` such minutes are
    needed. A low percentile rather than the minimum keeps one odd minute from setting it.
    """
    minutes: dict[int, list[float]] = {}
    for t_s, bpm in samples:
        if bpm > 0:
            minutes.setdefault(math.floor(t_s / SECONDS_PER_MINUTE), []).append(bpm)
    means = sorted(
        statistics.fmean(v) for v in minutes.values() if len(v) >= MIN_SAMPLES_PER_MINUTE
    )
    if len(means) < MIN_MINUTES_FOR_RESTING:
        return None
    return percentile(means, RESTING_PERCENTILE)


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks; ``sorted_values`` must be sorted, non-empty."""
    position = (len(sorted_values) - 1) * pct / 100.0
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def beat_times(rr_ms: Sequence[float], first_beat_s: float = 0.0) -> tuple[float, ...]:
    """When each interval ended, for RR series that come without times (cumulative sums).

    ``first_beat_s`` is the beat that opened the first interval.
    """
    times: list[float] = []
    t = first_beat_s
    for rr in rr_ms:
        t += rr / 1000.0
        times.append(t)
    return tuple(times)


@dataclass(frozen=True)
class BreathingEstimate:
    rate_bpm: float
    peak_share: float  # the peak's share of the power in the breathing band


def estimate_breathing(
    beat_times_s: Sequence[float],
    rr_ms: Sequence[float],
    *,
    min_peak_share: float = MIN_PEAK_SHARE,
) -> BreathingEstimate | None:
    """The dominant rhythm of the RR tachogram within the breathing band, with its strength.

    The cleaned tachogram is resampled evenly at 4 Hz by linear interpolation, a straight
    line is removed, a Hann window applied, and the periodogram scanned every 0.002 Hz
    over 0.05-0.5 Hz; a parabola through the top three points places the peak.
    """
    if len(beat_times_s) != len(rr_ms):
        raise ValueError(f"{len(beat_times_s)} beat times for {len(rr_ms)} intervals")
    cleaned = clean_rr(rr_ms)
    times = [beat_times_s[i] for i in cleaned.kept_indices]
    if len(times) < MIN_BREATHING_BEATS or times[-1] - times[0] < MIN_BREATHING_SPAN_S:
        return None
    signal = _hann(_detrend(_resample(times, cleaned.kept, RESAMPLE_HZ)))
    frequencies, powers = _periodogram(signal, RESAMPLE_HZ, BREATH_MIN_HZ, BREATH_MAX_HZ)
    total = sum(powers)
    if total <= 0.0:
        return None
    top = max(range(len(powers)), key=powers.__getitem__)
    peak_hz = frequencies[top] + _parabolic_offset(powers, top) * SPECTRUM_STEP_HZ
    near = sum(
        p
        for f, p in zip(frequencies, powers, strict=True)
        if abs(f - peak_hz) <= PEAK_SHARE_HALF_WIDTH_HZ
    )
    share = near / total
    if share < min_peak_share:
        return None
    return BreathingEstimate(rate_bpm=peak_hz * SECONDS_PER_MINUTE, peak_share=share)


def breathing_rate_from_rr(beat_times_s: Sequence[float], rr_ms: Sequence[float]) -> float | None:
    """Breaths a minute from respiratory sinus arrhythmia; None when the window is too short
    (under 30 s or 20 clean beats) or holds no clear rhythm. Cleans the intervals itself."""
    estimate = estimate_breathing(beat_times_s, rr_ms)
    return None if estimate is None else estimate.rate_bpm


def breath_following_score(estimated_rate: float | None, paced_rate: float | None) -> float | None:
    """1.0 when breathing matched the pace (within 0.5 a minute), 0.0 from 3 a minute off."""
    if estimated_rate is None or paced_rate is None:
        return None
    off = abs(estimated_rate - paced_rate)
    span = SCORE_ZERO_BEYOND_BPM - SCORE_FULL_WITHIN_BPM
    return max(0.0, min(1.0, 1.0 - (off - SCORE_FULL_WITHIN_BPM) / span))


def phase_following_score(
    beat_times_s: Sequence[float],
    rr_ms: Sequence[float],
    inhale_cues_s: Sequence[float],
    exhale_cues_s: Sequence[float],
) -> float | None:
    """How closely heart rate rose after breath-in cues and fell after breath-out cues.

    The cues make a reference wave (+1 from a breath-in cue, -1 from a breath-out cue);
    the best correlation with the detrended heart rate over lags of 0-4 s, scaled so 0.6
    and above counts as full marks. Unlike the rate score it tells breathing with the
    pacer from breathing at the same rate out of step. None without enough data or cues.
    """
    cleaned = clean_rr(rr_ms)
    times = [beat_times_s[i] for i in cleaned.kept_indices]
    if len(times) < MIN_BREATHING_BEATS or not inhale_cues_s or not exhale_cues_s:
        return None
    grid_start = times[0]
    heart = _detrend([-rr for rr in _resample(times, cleaned.kept, RESAMPLE_HZ)])
    cues = sorted([(t, 1.0) for t in inhale_cues_s] + [(t, -1.0) for t in exhale_cues_s])
    cue_times = [t for t, _ in cues]
    best: float | None = None
    lag_steps = round(PHASE_MAX_LAG_S / PHASE_LAG_STEP_S)
    for step in range(lag_steps + 1):
        lag = step * PHASE_LAG_STEP_S
        reference: list[float] = []
        for k in range(len(heart)):
            index = bisect.bisect_right(cue_times, grid_start + k / RESAMPLE_HZ - lag) - 1
            reference.append(cues[index][1] if index >= 0 else 0.0)
        r = _correlation(heart, reference)
        if r is not None and (best is None or r > best):
            best = r
    if best is None:
        return None
    return max(0.0, min(1.0, best / PHASE_CORRELATION_FOR_FULL_SCORE))


@dataclass(frozen=True)
class StepPhysiology:
    """Figures for one step of a routine (or any stretch of beats)."""

    beats: int  # intervals kept after cleaning
    rejected: int
    differences: int  # successive differences behind the RMSSD
    mean_hr: float | None
    rmssd: float | None
    breathing_rate: float | None
    score: float | None  # breath-following by rate
    phase_score: float | None = None  # breath-following by phase, when the cues are known


def analyse_step(
    beat_times_s: Sequence[float],
    rr_ms: Sequence[float],
    paced_rate: float | None = None,
    *,
    inhale_cues_s: Sequence[float] = (),
    exhale_cues_s: Sequence[float] = (),
) -> StepPhysiology:
    """All figures for one stretch of beats.

    With enough beats but no clear breathing rhythm, the rate is None and the rate score
    0.0: breathing that irregular did not follow a steady pacer.
    """
    cleaned = clean_rr(rr_ms)
    estimate = estimate_breathing(beat_times_s, rr_ms, min_peak_share=0.0)
    rhythmic = estimate is not None and estimate.peak_share >= MIN_PEAK_SHARE
    breathing = estimate.rate_bpm if estimate is not None and rhythmic else None
    if estimate is None or paced_rate is None:
        score = None
    else:
        score = breath_following_score(breathing, paced_rate) if rhythmic else 0.0
    phase = (
        phase_following_score(beat_times_s, rr_ms, inhale_cues_s, exhale_cues_s)
        if inhale_cues_s and exhale_cues_s
        else None
    )
    return StepPhysiology(
        beats=len(cleaned.kept),
        rejected=cleaned.rejected,
        differences=len(cleaned.successive_differences()),
        mean_hr=mean_hr(cleaned.kept),
        rmssd=rmssd(cleaned),
        breathing_rate=breathing,
        score=score,
        phase_score=phase,
    )


def combine_steps(steps: Sequence[StepPhysiology]) -> StepPhysiology:
    """A session's figures from its steps: heart rate and breathing rate weighted by beats,
    RMSSD pooled over the steps' differences, scores the beat-weighted mean of scored steps."""
    beats = sum(s.beats for s in steps)
    differences = sum(s.differences for s in steps if s.rmssd is not None)
    return StepPhysiology(
        beats=beats,
        rejected=sum(s.rejected for s in steps),
        differences=sum(s.differences for s in steps),
        mean_hr=_weighted(
            [(MS_PER_MINUTE / s.mean_hr, s.beats) for s in steps if s.mean_hr], invert=True
        ),
        rmssd=(
            math.sqrt(
                sum(s.rmssd**2 * s.differences for s in steps if s.rmssd is not None) / differences
            )
            if differences
            else None
        ),
        breathing_rate=_weighted(
            [(s.breathing_rate, s.beats) for s in steps if s.breathing_rate is not None]
        ),
        score=_weighted([(s.score, s.beats) for s in steps if s.score is not None]),
        phase_score=_weighted(
            [(s.phase_score, s.beats) for s in steps if s.phase_score is not None]
        ),
    )


def _weighted(pairs: Sequence[tuple[float, int]], *, invert: bool = False) -> float | None:
    weight = sum(w for _, w in pairs)
    if weight <= 0:
        return None
    mean = sum(v * w for v, w in pairs) / weight
    # Heart rate averages properly as the mean interval, turned back into a rate.
    return MS_PER_MINUTE / mean if invert else mean


def _resample(times: Sequence[float], values: Sequence[float], hz: float) -> list[float]:
    step = 1.0 / hz
    count = math.floor((times[-1] - times[0]) * hz) + 1
    out: list[float] = []
    j = 0
    for k in range(count):
        t = times[0] + k * step
        while j < len(times) - 2 and times[j + 1] < t:
            j += 1
        t0, t1 = times[j], times[j + 1]
        fraction = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
        out.append(values[j] + (values[j + 1] - values[j]) * fraction)
    return out


def _detrend(values: Sequence[float]) -> list[float]:
    n = len(values)
    x_mean = (n - 1) / 2.0
    y_mean = statistics.fmean(values)
    sxx = sum((k - x_mean) ** 2 for k in range(n))
    slope = sum((k - x_mean) * (v - y_mean) for k, v in enumerate(values)) / sxx if sxx else 0.0
    return [v - y_mean - slope * (k - x_mean) for k, v in enumerate(values)]


def _hann(values: Sequence[float]) -> list[float]:
    n = len(values)
    if n < 2:
        return list(values)
    return [v * 0.5 * (1.0 - math.cos(2.0 * math.pi * k / (n - 1))) for k, v in enumerate(values)]


def _periodogram(
    signal: Sequence[float], hz: float, low_hz: float, high_hz: float
) -> tuple[list[float], list[float]]:
    frequencies: list[float] = []
    powers: list[float] = []
    count = round((high_hz - low_hz) / SPECTRUM_STEP_HZ) + 1
    for m in range(count):
        f = low_hz + m * SPECTRUM_STEP_HZ
        rotation = cmath.exp(-2j * math.pi * f / hz)
        phasor = 1.0 + 0j
        total = 0j
        for value in signal:
            total += value * phasor
            phasor *= rotation
        frequencies.append(f)
        powers.append(abs(total) ** 2)
    return frequencies, powers


def _parabolic_offset(powers: Sequence[float], top: int) -> float:
    if top == 0 or top == len(powers) - 1:
        return 0.0
    left, centre, right = powers[top - 1], powers[top], powers[top + 1]
    denominator = left - 2.0 * centre + right
    return 0.0 if denominator == 0.0 else 0.5 * (left - right) / denominator


def _correlation(a: Sequence[float], b: Sequence[float]) -> float | None:
    mean_a, mean_b = statistics.fmean(a), statistics.fmean(b)
    sab = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    saa = sum((x - mean_a) ** 2 for x in a)
    sbb = sum((y - mean_b) ** 2 for y in b)
    if saa <= 0.0 or sbb <= 0.0:
        return None
    return sab / math.sqrt(saa * sbb)
