"""Heart and breath figures from beat-to-beat (RR) intervals. Pure; see docs/physiology.md.

* ``clean_rr`` drops intervals no heart produces at rest, sensor glitches (a missed or an
  extra beat) and ectopic beats (a premature beat and its compensatory pause), counting why.
* ``mean_hr``, ``rmssd``, ``resting_hr`` and ``heart_figures`` summarise the heart.
* ``estimate_breathing`` finds the breathing rate in respiratory sinus arrhythmia (the
  heart speeds up on each breath in and slows on each breath out, so the RR series
  oscillates at the breathing rate) and says how sure it is; it withholds the rate
  rather than report a rhythm that is not breathing (Mayer waves, noise, the band edge).
* ``breath_following_score`` and ``phase_following_score`` say how well breathing
  followed the pacer; ``analyse_step`` and ``combine_steps`` bundle the lot.

numpy does the arithmetic: a 40-minute session's cleaning and spectrum take milliseconds.
"""

from __future__ import annotations

import enum
import itertools
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]

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
# Two short neighbours (each over 20 % short), alone between longer ones, whose sum is
# within this of the median are one interval split by an extra beat (the interval split
# may itself have been long); within OUTLIER_FRACTION they are, alone or not.
SPLIT_SUM_FRACTION = 0.35
NEIGHBOURS_EACH_SIDE = 5
MIN_NEIGHBOURS = 4
MIN_RMSSD_DIFFERENCES = 10

# Ectopic beats: a premature beat shortens one interval and the compensatory pause
# lengthens the next, the two adding up to about two ordinary ones. Each successive
# difference is divided by a threshold that follows the series, as Lipponen & Tarvainen
# (2019, "A robust algorithm for heart rate variability time series artefact correction
# using novel beat classification", J Med Eng Technol 43(3)) do: alpha times the quartile
# deviation of |dRR| over 91 beats. Their alpha of 5.2 caught under half of the beats
# premature by 20-25 % in pyhrv's and systole's series, so the pair is told by a lower
# threshold together with the compensatory sum, which breathing never produces.
ECTOPIC_ALPHA = 1.5
ECTOPIC_WINDOW_BEATS = 91
ECTOPIC_SHORT_FRACTION = 0.15  # the premature interval, below the neighbours' median
ECTOPIC_LONG_FRACTION = 0.05  # the pause, above it
ECTOPIC_SUM_FRACTION = 0.20  # the pair within this of two ordinary intervals
ECTOPIC_MIN_THRESHOLD_MS = 20.0  # a very even series still has beat-to-beat jitter

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
# Quality gates (see docs/physiology.md for the real recordings that set them).
EDGE_GUARD_HZ = 0.01  # a peak this close to the band's edge is the slope beyond it
RIVAL_MIN_DISTANCE_HZ = 0.04  # another local peak at least this far away ...
RIVAL_MAX_RATIO = 0.5  # ... holding half the top peak's power makes the rhythm ambiguous
MIN_RSA_AMPLITUDE_MS = 3.0  # an oscillation smaller than this is not told from noise
MAX_REJECTED_FRACTION = 0.2  # more rejected beats than this: too few clean beats
MIN_CYCLES = 6.0  # a rhythm seen fewer times than this in the window is not told from chance
# Below 9 a minute, Mayer waves (the blood-pressure rhythm near 0.1 Hz) and slower swings
# compete with breathing: a peak there counts only when it dominates the band, as slow
# paced breathing does (0.8-0.95 on the simulated wearer). On a real resting recording
# such peaks held 0.23-0.65 while the person breathed 14-23 a minute.
LOW_ZONE_HIGH_HZ = 0.15
LOW_ZONE_MIN_SHARE = 0.8
MIN_CONFIDENCE = 0.3

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
    ECTOPIC = "ectopic"


@dataclass(frozen=True)
class CleanedRR:
    """The intervals kept (in order, with their positions in the input) and what was dropped."""

    kept: tuple[float, ...]
    kept_indices: tuple[int, ...]
    out_of_range: int = 0
    outliers: int = 0
    ectopic: int = 0  # intervals of ectopic beats not already caught as outliers

    @property
    def rejected(self) -> int:
        return self.out_of_range + self.outliers + self.ectopic

    @property
    def reasons(self) -> dict[RejectReason, int]:
        return {
            RejectReason.OUT_OF_RANGE: self.out_of_range,
            RejectReason.OUTLIER: self.outliers,
            RejectReason.ECTOPIC: self.ectopic,
        }

    def successive_differences(self) -> tuple[float, ...]:
        """Differences only between intervals that were neighbours before cleaning."""
        kept = np.asarray(self.kept, dtype=np.float64)
        indices = np.asarray(self.kept_indices, dtype=np.int64)
        if kept.size < 2:
            return ()
        adjacent = np.diff(indices) == 1
        return tuple(float(d) for d in np.diff(kept)[adjacent])


def clean_rr(rr_ms: Sequence[float]) -> CleanedRR:
    """Drop impossible intervals, then sensor glitches (see ``OUTLIER_FRACTION``), then
    ectopic beats (see ``ECTOPIC_ALPHA``): both intervals around a premature beat go.

    The median is over up to five plausible intervals either side (not only earlier
    accepted ones), so one bad interval at the start cannot become the reference and a
    real change of pace is followed within a few beats.
    """
    values = np.asarray(rr_ms, dtype=np.float64)
    plausible_at = np.flatnonzero((values >= RR_MIN_MS) & (values <= RR_MAX_MS))
    plausible = values[plausible_at]
    glitch, median = _glitches(plausible)
    # Where an impossible interval was dropped, the neighbours are not what they seem.
    dropped_before = np.diff(plausible_at, prepend=-1) > 1
    dropped_after = np.diff(plausible_at, append=values.size) > 1
    ectopic = _ectopic_intervals(plausible, median, glitch, dropped_before | dropped_after)
    ectopic &= ~glitch
    keep = ~(glitch | ectopic)
    return CleanedRR(
        kept=tuple(float(v) for v in plausible[keep]),
        kept_indices=tuple(int(i) for i in plausible_at[keep]),
        out_of_range=int(values.size - plausible.size),
        outliers=int(glitch.sum()),
        ectopic=int(ectopic.sum()),
    )


def _glitches(values: Floats) -> tuple[Flags, Floats]:
    """Which intervals are glitches, and the median of each one's neighbours."""
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.bool_), values
    median, counts = _neighbour_medians(values, NEIGHBOURS_EACH_SIDE)
    judged = counts >= MIN_NEIGHBOURS
    median = np.where(judged, median, np.nan)
    with np.errstate(invalid="ignore"):
        off = (values - median) / median
        far = np.abs(off) > FAR_OUTLIER_FRACTION
        suspect = np.abs(off) > OUTLIER_FRACTION
        before = np.concatenate([[np.nan], values[:-1]])
        after = np.concatenate([values[1:], [np.nan]])
        # A missing neighbour (at either end) counts as unlike, as "all of none" is true.
        unlike_before = np.isnan(before) | (np.abs(values - before) / before > ADJACENT_FRACTION)
        unlike_after = np.isnan(after) | (np.abs(values - after) / after > ADJACENT_FRACTION)
        short = np.asarray((1.0 - OUTLIER_FRACTION) * median, dtype=np.float64)
        near, wide = OUTLIER_FRACTION * median, SPLIT_SUM_FRACTION * median
        # The wider tolerance only for a pair standing alone: deep slow breathing makes
        # runs of alike short beats, an extra beat makes two.
        before2 = np.concatenate([[np.nan, np.nan], values])[:n]
        after2 = np.concatenate([values[2:], [np.nan, np.nan]])[:n]
        alone_with_before = ~_run_on(before2, before, short) & ~_run_on(after, values, short)
        alone_with_after = ~_run_on(before, values, short) & ~_run_on(after2, after, short)
        sum_before = np.abs(values + before - median)
        sum_after = np.abs(values + after - median)
        split_before = (before < short) & (
            (sum_before <= near) | ((sum_before <= wide) & alone_with_before)
        )
        split_after = (after < short) & (
            (sum_after <= near) | ((sum_after <= wide) & alone_with_after)
        )
        split = (values < short) & (split_before | split_after)
        glitch = far | (suspect & ((unlike_before & unlike_after) | split))
    return np.asarray(judged & glitch, dtype=np.bool_), median


def _run_on(outer: Floats, inner: Floats, short: Floats) -> Flags:
    """Whether ``outer`` continues a run of short beats from ``inner``: short as well, and
    alike (within ADJACENT_FRACTION), as the beats of a slow breath are."""
    alike = np.abs(outer - inner) <= ADJACENT_FRACTION * inner
    return np.asarray((outer < short) & alike, dtype=np.bool_)


def _ectopic_intervals(values: Floats, median: Floats, glitch: Flags, beside_drop: Flags) -> Flags:
    """Both intervals around each ectopic beat: a short interval then a long one, each
    a large change by the series' own measure (Lipponen & Tarvainen's normalised dRR),
    that add up to about two ordinary intervals (the compensatory pause). When the glitch
    rules caught one half alone (a pause far from the median), a sharp change into or out
    of it marks its partner. ``beside_drop`` marks intervals next to an impossible one
    that was dropped: no pair is made across it."""
    n = values.size
    flagged = np.zeros(n, dtype=np.bool_)
    if n < 4:
        return flagged
    drr = np.diff(values, prepend=values[0])
    drr[0] = drr[1:].mean()
    spread = _rolling_quartile_deviation(np.abs(drr), ECTOPIC_WINDOW_BEATS)
    threshold = np.maximum(ECTOPIC_ALPHA * spread, ECTOPIC_MIN_THRESHOLD_MS)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = drr / threshold
        first, second, usual = values[:-1], values[1:], median[:-1]
        pair = (
            (normalised[:-1] < -1.0)
            & (normalised[1:] > 1.0)
            & (first < (1.0 - ECTOPIC_SHORT_FRACTION) * usual)
            & (second > (1.0 + ECTOPIC_LONG_FRACTION) * usual)
            & (np.abs(first + second - 2.0 * usual) <= ECTOPIC_SUM_FRACTION * 2.0 * usual)
        )
        # A premature beat follows an ordinary interval; two short ones in a row are the
        # halves of a split interval (an extra beat) and the long one after it is good.
        before_first = np.concatenate([[np.nan], values[:-2]])
        pair &= ~(before_first < (1.0 - ECTOPIC_SHORT_FRACTION) * usual)
    glitch_before = np.concatenate([[False], glitch[:-1]])
    glitch_after = np.concatenate([glitch[1:], [False]])
    lone = glitch & ~glitch_before & ~glitch_after & ~beside_drop
    # Half of a split interval (an extra beat) is no premature beat, and nothing is paired
    # across a dropped interval.
    pair &= ~(glitch[:-1] & ~lone[:-1]) & ~(glitch[1:] & ~lone[1:])
    pair &= ~beside_drop[:-1] & ~beside_drop[1:]
    flagged[:-1] |= pair
    flagged[1:] |= pair
    with np.errstate(invalid="ignore"):
        # Around a pair, the ordinary interval is best told by the beats either side of it
        # (the neighbours' median leans towards a long pause).
        outside = (
            np.concatenate([[np.nan], values[:-2]]) + np.concatenate([values[2:], [np.nan]])
        ) / 2.0
        ordinary = np.where(np.isnan(outside), usual, outside)
        compensated = (
            np.abs(first + second - 2.0 * ordinary) <= ECTOPIC_SUM_FRACTION * 2.0 * ordinary
        )
        long_glitch = lone & (values > median)
        short_glitch = lone & (values < median)
        # The premature interval before a lone long glitch ...
        before = long_glitch[1:] & (normalised[:-1] < -1.0) & compensated
        before &= values[:-1] < (1.0 - ECTOPIC_LONG_FRACTION) * ordinary
        # ... and the pause after a lone short one.
        after = short_glitch[:-1] & (normalised[1:] > 1.0) & compensated
        after &= values[1:] > (1.0 + ECTOPIC_LONG_FRACTION) * ordinary
    flagged[:-1] |= before
    flagged[1:] |= after
    return flagged


def _rolling_quartile_deviation(values: Floats, width: int) -> Floats:
    """Half the interquartile range over a centred window (shorter at the ends)."""
    half = width // 2
    n = values.size
    out = np.empty(n)
    if n > 2 * half:
        windows = np.lib.stride_tricks.sliding_window_view(values, 2 * half + 1)
        q1, q3 = np.quantile(windows, [0.25, 0.75], axis=1)
        out[half : n - half] = (q3 - q1) / 2.0
    ends = np.fromiter(
        itertools.chain(range(min(half, n)), range(max(half, n - half), n)), dtype=np.int64
    )
    if ends.size:
        # The shorter windows at the ends, padded out with NaN, in one call.
        padded = np.concatenate([np.full(half, np.nan), values, np.full(half, np.nan)])
        rows = np.sort(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)[ends])
        out[ends] = (_sorted_row_quantile(rows, 0.75) - _sorted_row_quantile(rows, 0.25)) / 2.0
    return out


def _sorted_row_quantile(rows: Floats, q: float) -> Floats:
    """numpy's linear quantile of each sorted row, its NaNs (sorted last) left out; one
    call for all rows where ``nanquantile`` would loop over them."""
    valid = np.count_nonzero(~np.isnan(rows), axis=1)
    position = q * (valid - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, valid - 1)
    at = np.arange(rows.shape[0])
    below, above = rows[at, low], rows[at, high]
    return np.asarray(below + (above - below) * (position - low), dtype=np.float64)


def _neighbour_medians(values: Floats, side: int) -> tuple[Floats, npt.NDArray[np.int64]]:
    """The median of up to ``side`` intervals either side of each (not itself), and how
    many there were. Full windows at once; the few at the ends one by one."""
    n = values.size
    medians = np.full(n, np.nan)
    counts = np.zeros(n, dtype=np.int64)
    if n > 2 * side:
        windows = np.lib.stride_tricks.sliding_window_view(values, 2 * side + 1)
        neighbours = np.delete(windows, side, axis=1)
        medians[side : n - side] = np.median(neighbours, axis=1)
        counts[side : n - side] = 2 * side
    for i in itertools.chain(range(min(side, n)), range(max(side, n - side), n)):
        around = np.concatenate([values[max(0, i - side) : i], values[i + 1 : i + side + 1]])
        counts[i] = around.size
        if around.size:
            medians[i] = np.median(around)
    return medians, counts


def mean_hr(rr_ms: Sequence[float]) -> float | None:
    """Beats a minute over the intervals given (time-weighted, so 60000 / mean interval)."""
    if not len(rr_ms):
        return None
    return MS_PER_MINUTE / float(np.mean(np.asarray(rr_ms, dtype=np.float64)))


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
    times = first_beat_s + np.cumsum(np.asarray(rr_ms, dtype=np.float64)) / 1000.0
    return tuple(float(t) for t in times)


# --- heart figures of a session -----------------------------------------------------------


def packet_beat_times(
    arrivals_s: Sequence[float], packets: Sequence[Sequence[float]]
) -> tuple[list[float], list[float]]:
    """(beat times, intervals) of RR packets as a band sends them: each packet's last
    interval ended at about its arrival, the earlier ones before it in turn."""
    times: list[float] = []
    intervals: list[float] = []
    for arrival, packet in zip(arrivals_s, packets, strict=True):
        # Plain Python: packets hold one or two intervals, too few for numpy to pay.
        ends: list[float] = []
        end = arrival
        for rr in reversed(packet):
            ends.append(end)
            end -= rr / 1000.0
        times.extend(reversed(ends))
        intervals.extend(packet)
    return times, intervals


@dataclass(frozen=True)
class HeartFigures:
    """A session's heart figures from clean beats (or clean samples where there is no RR)."""

    hr_min: float | None
    hr_mean: float | None
    hr_max: float | None
    rmssd_ms: float | None
    beats_kept: int
    beats_rejected: int
    breathing: BreathingEstimate | None

    @property
    def breathing_rate_bpm(self) -> float | None:
        """The breathing rate, only when the estimate is confident."""
        b = self.breathing
        return b.rate_bpm if b is not None and b.confident else None

    @property
    def breathing_confidence(self) -> float | None:
        return None if self.breathing is None else self.breathing.confidence


def heart_figures(
    beat_times_s: Sequence[float],
    rr_ms: Sequence[float],
    hr_samples: Sequence[float] = (),
) -> HeartFigures:
    """Min, mean and max heart rate, RMSSD, beats kept and rejected, and breathing.

    With RR intervals the heart rate is from the kept intervals: the mean is 60000 over
    the mean interval, the extremes those of single beats (so they include the swing of
    each breath, which a band's display smooths a little). Without
    RR, ``hr_samples`` (bpm, as reported) are cleaned the same way as the intervals they
    stand for, so one glitched reading never becomes the lowest or highest.
    """
    if len(rr_ms):
        cleaned = clean_rr(rr_ms)
        kept = np.asarray(cleaned.kept, dtype=np.float64)
        return HeartFigures(
            hr_min=MS_PER_MINUTE / float(kept.max()) if kept.size else None,
            hr_mean=mean_hr(cleaned.kept),
            hr_max=MS_PER_MINUTE / float(kept.min()) if kept.size else None,
            rmssd_ms=rmssd(cleaned),
            beats_kept=len(cleaned.kept),
            beats_rejected=cleaned.rejected,
            breathing=estimate_breathing(beat_times_s, rr_ms, cleaned=cleaned),
        )
    bpm = np.asarray(hr_samples, dtype=np.float64)
    bpm = bpm[bpm > 0]
    if bpm.size == 0:
        return HeartFigures(None, None, None, None, 0, 0, None)
    as_intervals = [MS_PER_MINUTE / float(v) for v in bpm]
    kept_bpm = np.asarray([MS_PER_MINUTE / v for v in clean_rr(as_intervals).kept])
    if kept_bpm.size == 0:
        return HeartFigures(None, None, None, None, 0, 0, None)
    return HeartFigures(
        hr_min=float(kept_bpm.min()),
        hr_mean=float(kept_bpm.mean()),
        hr_max=float(kept_bpm.max()),
        rmssd_ms=None,
        beats_kept=0,
        beats_rejected=0,
        breathing=None,
    )


# --- breathing ----------------------------------------------------------------------------


class Withheld(enum.StrEnum):
    """Why a breathing rate was not given."""

    TOO_FEW_BEATS = "too_few_beats"
    TOO_FEW_CYCLES = "too_few_cycles"
    BAND_EDGE = "band_edge"
    WEAK_PEAK = "weak_peak"
    RIVAL_PEAK = "rival_peak"
    LOW_ZONE = "low_zone"
    LOW_RSA = "low_rsa"
    LOW_CONFIDENCE = "low_confidence"


@dataclass(frozen=True)
class BreathingEstimate:
    """The strongest rhythm in the breathing band and how far it can be trusted.

    ``withheld`` names the first quality gate it failed; only an estimate with none
    (``confident``) is a breathing rate to show or score.
    """

    rate_bpm: float
    peak_share: float  # the peak's share of the power in the breathing band
    confidence: float = 1.0  # 0..1
    amplitude_ms: float = 0.0  # the oscillation's amplitude in the RR series
    rival_ratio: float = 0.0  # the strongest other peak's power over the top peak's
    withheld: Withheld | None = None

    @property
    def confident(self) -> bool:
        return self.withheld is None


def estimate_breathing(
    beat_times_s: Sequence[float],
    rr_ms: Sequence[float],
    *,
    min_peak_share: float = MIN_PEAK_SHARE,
    cleaned: CleanedRR | None = None,
) -> BreathingEstimate | None:
    """The dominant rhythm of the RR tachogram within the breathing band, with its quality
    (``cleaned``: ``clean_rr(rr_ms)`` when the caller has it already).

    None when the window is under 30 s or holds under 20 clean beats. The cleaned
    tachogram is resampled evenly at 4 Hz by linear interpolation, a straight line is
    removed, a Hann window applied, and the periodogram taken every 0.002 Hz over
    0.05-0.5 Hz; a parabola through the top three points places the peak. Then the
    gates, in order: too many rejected beats; fewer than six cycles in the window; a peak
    at the band's edge; a peak holding under ``min_peak_share`` of the band's power; a
    rival peak half as strong; a peak below 9 a minute (among the Mayer waves) that does
    not dominate; an oscillation under 3 ms; low confidence.
    """
    if len(beat_times_s) != len(rr_ms):
        raise ValueError(f"{len(beat_times_s)} beat times for {len(rr_ms)} intervals")
    if cleaned is None:
        cleaned = clean_rr(rr_ms)
    times = np.asarray(beat_times_s, dtype=np.float64)[np.asarray(cleaned.kept_indices, dtype=int)]
    if times.size < MIN_BREATHING_BEATS or times[-1] - times[0] < MIN_BREATHING_SPAN_S:
        return None
    signal = _detrend(_resample(times, np.asarray(cleaned.kept), RESAMPLE_HZ))
    frequencies, powers = _periodogram(signal * np.hanning(signal.size), RESAMPLE_HZ)
    total = float(powers.sum())
    if total <= 0.0:
        return None
    top = int(np.argmax(powers))
    peak_hz = float(frequencies[top]) + _parabolic_offset(powers, top) * SPECTRUM_STEP_HZ
    near = np.abs(frequencies - peak_hz) <= PEAK_SHARE_HALF_WIDTH_HZ
    share = float(powers[near].sum()) / total
    amplitude = math.sqrt(2.0 * share * float(np.mean(signal * signal)))
    rival = _rival_ratio(frequencies, powers, top)
    confidence = _confidence(share, rival, amplitude)
    rejected_fraction = cleaned.rejected / max(1, len(rr_ms))
    withheld: Withheld | None = None
    if rejected_fraction > MAX_REJECTED_FRACTION:
        withheld = Withheld.TOO_FEW_BEATS
    elif (times[-1] - times[0]) * peak_hz < MIN_CYCLES:
        withheld = Withheld.TOO_FEW_CYCLES
    elif peak_hz < BREATH_MIN_HZ + EDGE_GUARD_HZ or peak_hz > BREATH_MAX_HZ - EDGE_GUARD_HZ:
        withheld = Withheld.BAND_EDGE
    elif share < min_peak_share:
        withheld = Withheld.WEAK_PEAK
    elif rival >= RIVAL_MAX_RATIO:
        withheld = Withheld.RIVAL_PEAK
    elif peak_hz < LOW_ZONE_HIGH_HZ and share < LOW_ZONE_MIN_SHARE:
        withheld = Withheld.LOW_ZONE
    elif amplitude < MIN_RSA_AMPLITUDE_MS:
        withheld = Withheld.LOW_RSA
    elif confidence < MIN_CONFIDENCE:
        withheld = Withheld.LOW_CONFIDENCE
    return BreathingEstimate(
        rate_bpm=peak_hz * SECONDS_PER_MINUTE,
        peak_share=share,
        confidence=confidence if withheld is None else min(confidence, MIN_CONFIDENCE),
        amplitude_ms=amplitude,
        rival_ratio=rival,
        withheld=withheld,
    )


def _rival_ratio(frequencies: Floats, powers: Floats, top: int) -> float:
    """The strongest local maximum at least ``RIVAL_MIN_DISTANCE_HZ`` from the top peak,
    over the top peak's power."""
    inner = powers[1:-1]
    local = np.zeros(powers.size, dtype=np.bool_)
    local[1:-1] = (inner >= powers[:-2]) & (inner >= powers[2:])
    far = np.abs(frequencies - frequencies[top]) >= RIVAL_MIN_DISTANCE_HZ
    rivals = powers[local & far]
    return float(rivals.max() / powers[top]) if rivals.size and powers[top] > 0 else 0.0


def _confidence(share: float, rival: float, amplitude_ms: float) -> float:
    """How clearly one rhythm stands out: the peak's share, less what a rival takes, less
    when the oscillation is small beside the noise floor."""
    size = min(1.0, amplitude_ms / (2.0 * MIN_RSA_AMPLITUDE_MS))
    return max(0.0, min(1.0, share * (1.0 - rival) * size))


def breathing_rate_from_rr(beat_times_s: Sequence[float], rr_ms: Sequence[float]) -> float | None:
    """Breaths a minute from respiratory sinus arrhythmia; None when the window is too short
    (under 30 s or 20 clean beats) or the estimate is not confident. Cleans the intervals
    itself."""
    estimate = estimate_breathing(beat_times_s, rr_ms)
    return estimate.rate_bpm if estimate is not None and estimate.confident else None


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
    times = np.asarray(beat_times_s, dtype=np.float64)[np.asarray(cleaned.kept_indices, dtype=int)]
    if times.size < MIN_BREATHING_BEATS or not len(inhale_cues_s) or not len(exhale_cues_s):
        return None
    heart = _detrend(-_resample(times, np.asarray(cleaned.kept), RESAMPLE_HZ))
    cues = sorted([(t, 1.0) for t in inhale_cues_s] + [(t, -1.0) for t in exhale_cues_s])
    cue_times = np.asarray([t for t, _ in cues])
    cue_signs = np.asarray([0.0] + [s for _, s in cues])  # index 0: before the first cue
    grid = times[0] + np.arange(heart.size) / RESAMPLE_HZ
    best: float | None = None
    lag_steps = round(PHASE_MAX_LAG_S / PHASE_LAG_STEP_S)
    for step in range(lag_steps + 1):
        lag = step * PHASE_LAG_STEP_S
        reference = cue_signs[np.searchsorted(cue_times, grid - lag, side="right")]
        r = _correlation(heart, reference)
        if r is not None and (best is None or r > best):
            best = r
    if best is None:
        return None
    return max(0.0, min(1.0, best / PHASE_CORRELATION_FOR_FULL_SCORE))


def following_score(
    breathing: BreathingEstimate | None, paced_rate: float | None, phase: float | None = None
) -> float | None:
    """Breath-following from a confident estimate only; None means "not enough signal".

    By rate, and no better than by phase when the cues are known (breathing at the pace
    but out of step did not follow it)."""
    if breathing is None or not breathing.confident:
        return None
    by_rate = breath_following_score(breathing.rate_bpm, paced_rate)
    if by_rate is None:
        return phase
    return by_rate if phase is None else min(by_rate, phase)


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

    The breathing rate and the rate score come only from a confident estimate; without
    one both are None ("not enough signal"), never a score made from a guess.
    """
    cleaned = clean_rr(rr_ms)
    estimate = estimate_breathing(beat_times_s, rr_ms)
    confident = estimate is not None and estimate.confident
    breathing = estimate.rate_bpm if estimate is not None and confident else None
    score = breath_following_score(breathing, paced_rate)
    phase = (
        phase_following_score(beat_times_s, rr_ms, inhale_cues_s, exhale_cues_s)
        if inhale_cues_s and exhale_cues_s and confident
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


def _resample(times: Floats, values: Floats, hz: float) -> Floats:
    count = math.floor((times[-1] - times[0]) * hz) + 1
    grid = times[0] + np.arange(count) / hz
    return np.asarray(np.interp(grid, times, values), dtype=np.float64)


def _detrend(values: Floats) -> Floats:
    if values.size < 2:
        return np.asarray(values - values.mean(), dtype=np.float64)
    x = np.arange(values.size, dtype=np.float64)
    slope, intercept = np.polyfit(x, values, 1)
    return np.asarray(values - (slope * x + intercept), dtype=np.float64)


def _periodogram(signal: Floats, hz: float) -> tuple[Floats, Floats]:
    """Power every ``SPECTRUM_STEP_HZ`` over the breathing band, by a zero-padded FFT whose
    bins fall on that grid."""
    bins_per_step = max(1, math.ceil(signal.size * SPECTRUM_STEP_HZ / hz))
    length = round(hz / SPECTRUM_STEP_HZ) * bins_per_step
    spectrum = np.abs(np.fft.rfft(signal, n=length)) ** 2
    first = round(BREATH_MIN_HZ / SPECTRUM_STEP_HZ)
    last = round(BREATH_MAX_HZ / SPECTRUM_STEP_HZ)
    steps = np.arange(first, last + 1)
    frequencies = np.asarray(steps * SPECTRUM_STEP_HZ, dtype=np.float64)
    return frequencies, np.asarray(spectrum[steps * bins_per_step], dtype=np.float64)


def _parabolic_offset(powers: Floats, top: int) -> float:
    if top == 0 or top == powers.size - 1:
        return 0.0
    left, centre, right = float(powers[top - 1]), float(powers[top]), float(powers[top + 1])
    denominator = left - 2.0 * centre + right
    return 0.0 if denominator == 0.0 else 0.5 * (left - right) / denominator


def _correlation(a: Floats, b: Floats) -> float | None:
    da, db = a - a.mean(), b - b.mean()
    saa, sbb = float(np.dot(da, da)), float(np.dot(db, db))
    if saa <= 0.0 or sbb <= 0.0:
        return None
    return float(np.dot(da, db)) / math.sqrt(saa * sbb)
