"""A person's resonance breathing pace from an assessment's heartbeats. Pure; no I/O.

The assessment paces breathing in blocks at several slow paces (7 down to 4.5 a minute).
Each block is scored from its clean RR intervals by the measures of the resonance
frequency protocol (Lehrer, Vaschillo & Vaschillo 2000, "Resonant frequency biofeedback
training to increase cardiac variability", Appl Psychophysiol Biofeedback 25(3):177-191;
Shaffer & Meehan 2020, "A practical guide to resonance frequency assessment for heart
rate variability biofeedback", Front Neurosci 14:570400):

* ``swing_bpm``: the peak-to-trough heart-rate swing of each breath, averaged (with its
  standard error, which says how much the figure would move on another try);
* ``amplitude_bpm``: the amplitude of the heart-rate oscillation at the paced frequency
  (the spectral power within ``BAND_HALF_WIDTH_HZ`` of it, as an amplitude);
* ``peak_per_min``: where the heart-rate spectrum actually peaks in 2-12 a minute, which
  says whether the heart followed the pace at all;
* ``phase_deg``: the phase of heart rate against lung volume at the paced frequency
  (positive: heart rate leads); near 0 at resonance in those papers. Reported, not ranked
  on: the simulated wearer does not model it.

A block whose data is too poor (too many rejected beats, gaps from a lost link or lost
contact, too few breaths, a heart that did not follow the pace) is marked so and never
chosen. The answer is the pace with the best mean of the two size measures (each over its
largest, each pace averaged with its neighbours), and only when it is clear: enough good
blocks, the two measures agreeing within half a breath a minute, and its swing above every
pace more than half a breath away by ``MIN_SEPARATION_Z`` standard errors and
``MIN_CONTRAST`` of its size (``EDGE_MIN_CONTRAST`` at the slowest or fastest pace).
Otherwise "no clear answer, try again".
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from companion.cues import CueName
from companion.heart.physiology import clean_rr

if TYPE_CHECKING:
    from companion.heart.resonance_json import AssessmentJson, PaceJson

Floats = npt.NDArray[np.float64]

SECONDS_PER_MINUTE = 60.0
MS_PER_MINUTE = 60_000.0

# The exercise id of a paced-breathing block in the routine (companion/routines/data).
PACED_BREATHING = "paced-breathing"
ASSESSMENT_PACES_PER_MIN = (7.0, 6.5, 6.0, 5.5, 5.0, 4.5)
INHALE_FRACTION = 0.4  # inhale shorter than exhale, as the default 4 s in, 6 s out

# The heart takes a few breaths to settle into a new pace: the start of a block is skipped.
SETTLE_S = 15.0
MAX_REJECTED_FRACTION = 0.15
MIN_COVERAGE = 0.8  # kept intervals must cover this share of the scored time (no gaps)
MIN_BREATHS = 5
MIN_BEATS_PER_BREATH = 3
# The heart-rate spectrum must peak within this of the pace: else the heart (and most
# likely the breath) did not follow it.
MAX_PEAK_OFFSET_PER_MIN = 1.0
RESAMPLE_HZ = 4.0
SPECTRUM_STEP_HZ = 0.001
SPECTRUM_LOW_HZ = 2.0 / SECONDS_PER_MINUTE
SPECTRUM_HIGH_HZ = 12.0 / SECONDS_PER_MINUTE
BAND_HALF_WIDTH_HZ = 0.015

MIN_USABLE_PACES = 4
HALF_BREATH_PER_MIN = 0.5
# Paces this close count as neighbours (the grid is half a breath; float slack).
NEIGHBOUR_PER_MIN = HALF_BREATH_PER_MIN + 0.05
MIN_SEPARATION_Z = 3.0
# ... and by this share of its own swing: a flat curve with a slight tilt (slower breaths
# fill the lungs a little more) must not read as a peak at its end.
MIN_CONTRAST = 0.12
# At the slowest or fastest pace tried, the far side of a peak is not seen, and swings
# grow a little at slower breathing anyway: an answer there must stand out far more.
EDGE_MIN_CONTRAST = 0.22
OUTLIER_SPREADS = 3.0  # a breath's swing this many robust deviations from the median
FULL_CONFIDENCE_Z = 6.0


class BlockQuality(enum.StrEnum):
    GOOD = "good"
    TOO_FEW_BEATS = "too_few_beats"
    TOO_MANY_ARTEFACTS = "too_many_artefacts"
    GAPS = "gaps"
    TOO_FEW_BREATHS = "too_few_breaths"
    NOT_FOLLOWED = "not_followed"


class Verdict(enum.StrEnum):
    ANSWERED = "answered"
    TOO_FEW_GOOD_PACES = "too_few_good_paces"
    MEASURES_DISAGREE = "measures_disagree"
    NO_CLEAR_PEAK = "no_clear_peak"


_VERDICT_WORDS = {
    Verdict.TOO_FEW_GOOD_PACES: "too few paces had clean enough heartbeats "
    "(check the band sits snugly and stays in range)",
    Verdict.MEASURES_DISAGREE: "the heart-rate measures pointed to different paces",
    Verdict.NO_CLEAR_PEAK: "no pace stood out from the others",
}


@dataclass(frozen=True)
class PaceBlock:
    """One block of paced breathing: its pace, when it ran and its breath cues (seconds on
    the same clock as the beat times)."""

    pace_per_min: float
    start_s: float
    end_s: float
    inhale_s: tuple[float, ...]
    exhale_s: tuple[float, ...]
    inhale_len_s: float = 0.0  # the pattern, kept so an answer can be adopted as it was paced
    exhale_len_s: float = 0.0


@dataclass(frozen=True)
class PaceScore:
    pace_per_min: float
    quality: BlockQuality
    beats_kept: int
    beats_rejected: int
    breaths: int
    swing_bpm: float | None = None
    swing_se_bpm: float | None = None
    amplitude_bpm: float | None = None
    peak_per_min: float | None = None
    phase_deg: float | None = None
    score: float | None = None  # 0..1 among the good blocks; None when not good

    @property
    def good(self) -> bool:
        return self.quality is BlockQuality.GOOD

    def to_json(self) -> PaceJson:
        return {
            "pace_per_min": round(self.pace_per_min, 3),
            "quality": self.quality,
            "beats_kept": self.beats_kept,
            "beats_rejected": self.beats_rejected,
            "breaths": self.breaths,
            "swing_bpm": _rounded(self.swing_bpm),
            "swing_se_bpm": _rounded(self.swing_se_bpm),
            "amplitude_bpm": _rounded(self.amplitude_bpm),
            "peak_per_min": _rounded(self.peak_per_min),
            "phase_deg": _rounded(self.phase_deg),
            "score": _rounded(self.score),
        }


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    pace_per_min: float | None  # None unless answered
    confidence: float  # 0..1; 0 when not answered
    paces: tuple[PaceScore, ...]
    at_edge: bool = False  # the answer is the slowest or fastest pace tried
    inhale_s: float | None = None  # the answer's pattern, as it was paced
    exhale_s: float | None = None

    @property
    def answered(self) -> bool:
        return self.verdict is Verdict.ANSWERED

    @property
    def message(self) -> str:
        if not self.answered or self.pace_per_min is None:
            return f"No clear answer, try again: {_VERDICT_WORDS[self.verdict]}."
        edge = ""
        if self.at_edge:
            slower = self.pace_per_min <= min(p.pace_per_min for p in self.paces)
            edge = f" (the {'slowest' if slower else 'fastest'} pace tried)"
        return (
            f"Your resonance pace: {self.pace_per_min:g} breaths a minute{edge}, "
            f"confidence {self.confidence:.0%}. A guide for practice, not a measurement."
        )

    def to_json(self) -> AssessmentJson:
        return {
            "verdict": self.verdict,
            "pace_per_min": self.pace_per_min,
            "confidence": round(self.confidence, 3),
            "at_edge": self.at_edge,
            "inhale_s": self.inhale_s,
            "exhale_s": self.exhale_s,
            "message": self.message,
            "paces": [score.to_json() for score in self.paces],
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- the schedule --------------------------------------------------------------------------


def pace_pattern(
    pace_per_min: float, inhale_fraction: float = INHALE_FRACTION
) -> tuple[float, float]:
    """Inhale and exhale seconds (to 0.1 s) for a pace, inhale the shorter."""
    cycle = SECONDS_PER_MINUTE / pace_per_min
    inhale = round(cycle * inhale_fraction, 1)
    return inhale, round(cycle - inhale, 1)


def assessment_blocks(
    paces: Sequence[float] = ASSESSMENT_PACES_PER_MIN,
    *,
    block_s: float = 120.0,
    rest_s: float = 20.0,
    start_s: float = 60.0,
) -> tuple[PaceBlock, ...]:
    """The blocks of an assessment laid out from ``start_s``: each pace for about ``block_s``
    (whole breaths), a rest of about ``rest_s`` at the coming pace before each. For tests
    and benches; a routine's blocks come from what happened
    (``breathing_watch.blocks_from_run``)."""
    blocks: list[PaceBlock] = []
    t = start_s
    for pace in paces:
        inhale, exhale = pace_pattern(pace)
        cycle = inhale + exhale
        t += max(1, round(rest_s / cycle)) * cycle
        breaths = max(1, round(block_s / cycle))
        starts = [t + i * cycle for i in range(breaths)]
        blocks.append(
            PaceBlock(
                pace_per_min=round(SECONDS_PER_MINUTE / cycle, 1),
                start_s=t,
                end_s=t + breaths * cycle,
                inhale_s=tuple(starts),
                exhale_s=tuple(s + inhale for s in starts),
                inhale_len_s=inhale,
                exhale_len_s=exhale,
            )
        )
        t += breaths * cycle
    return tuple(blocks)


def block_cues(blocks: Sequence[PaceBlock], rest_s: float = 20.0) -> list[tuple[float, CueName]]:
    """Breath cues for ``blocks`` and for the rests before them (at the coming pace), in
    time order, as the wearer feels them."""
    cues: list[tuple[float, CueName]] = []
    for block in blocks:
        cycle = block.inhale_len_s + block.exhale_len_s
        before = max(1, round(rest_s / cycle))
        rest_starts = [block.start_s - (before - i) * cycle for i in range(before)]
        for start in [*rest_starts, *block.inhale_s]:
            cues.append((start, CueName.BREATH_IN))
            cues.append((start + block.inhale_len_s, CueName.BREATH_OUT))
    return sorted(cues)


# --- scoring ---------------------------------------------------------------------------------


def score_block(
    block: PaceBlock, beat_times_s: Sequence[float], rr_ms: Sequence[float]
) -> PaceScore:
    """A block's figures and whether its data is good enough to choose it."""
    times_all = np.asarray(beat_times_s, dtype=np.float64)
    rr_all = np.asarray(rr_ms, dtype=np.float64)
    if times_all.size != rr_all.size:
        raise ValueError(f"{times_all.size} beat times for {rr_all.size} intervals")
    begin = block.start_s + SETTLE_S
    inside = (times_all > begin) & (times_all <= block.end_s)
    times, rr = times_all[inside], rr_all[inside]
    cleaned = clean_rr([float(v) for v in rr])
    kept_at = np.asarray(cleaned.kept_indices, dtype=np.int64)
    kept_times = times[kept_at] if kept_at.size else times[:0]
    kept_rr = np.asarray(cleaned.kept, dtype=np.float64)
    base = PaceScore(
        block.pace_per_min, BlockQuality.TOO_FEW_BEATS, int(kept_rr.size), cleaned.rejected, 0
    )
    span = block.end_s - begin
    cycle = SECONDS_PER_MINUTE / block.pace_per_min
    breath_starts = [s for s in block.inhale_s if s >= begin and s + cycle <= block.end_s + 1e-6]
    if span <= 0 or kept_rr.size < MIN_BREATHS * MIN_BEATS_PER_BREATH:
        return base
    if cleaned.rejected > MAX_REJECTED_FRACTION * max(1, rr.size):
        return replace(base, quality=BlockQuality.TOO_MANY_ARTEFACTS)
    if float(kept_rr.sum()) / 1000.0 < MIN_COVERAGE * span:
        return replace(base, quality=BlockQuality.GAPS)
    hr = np.asarray(MS_PER_MINUTE / kept_rr, dtype=np.float64)
    swings = _swings(kept_times, hr, breath_starts, cycle)
    if swings.size < MIN_BREATHS:
        return replace(base, quality=BlockQuality.TOO_FEW_BREATHS, breaths=int(swings.size))
    grid = np.arange(kept_times[0], kept_times[-1], 1.0 / RESAMPLE_HZ)
    signal = _detrend(np.asarray(np.interp(grid, kept_times, hr), dtype=np.float64))
    pace_hz = block.pace_per_min / SECONDS_PER_MINUTE
    amplitude, peak_hz = _amplitude_and_peak(signal, pace_hz)
    followed = abs(peak_hz - pace_hz) * SECONDS_PER_MINUTE <= MAX_PEAK_OFFSET_PER_MIN
    return replace(
        base,
        quality=BlockQuality.GOOD if followed else BlockQuality.NOT_FOLLOWED,
        breaths=int(swings.size),
        swing_bpm=float(swings.mean()),
        swing_se_bpm=float(swings.std(ddof=1) / math.sqrt(swings.size)),
        amplitude_bpm=amplitude,
        peak_per_min=peak_hz * SECONDS_PER_MINUTE,
        phase_deg=_phase_deg(grid, signal, block, pace_hz),
    )


def _swings(times: Floats, hr: Floats, starts: Sequence[float], cycle_s: float) -> Floats:
    """Peak-to-trough heart rate within each whole breath that has enough kept beats."""
    swings = []
    for start in starts:
        within = hr[(times >= start) & (times < start + cycle_s)]
        expected = cycle_s * float(np.mean(hr)) / SECONDS_PER_MINUTE
        if within.size >= max(MIN_BEATS_PER_BREATH, 0.6 * expected):
            swings.append(float(within.max() - within.min()))
    values = np.asarray(swings, dtype=np.float64)
    if values.size < MIN_BREATHS:
        return values
    # A breath holding a glitch the cleaning let through swings far more than the others.
    median = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - median)))
    within = np.abs(values - median) <= max(OUTLIER_SPREADS * spread, 0.1 * median)
    return np.asarray(values[within], dtype=np.float64)


def _detrend(values: Floats) -> Floats:
    x = np.arange(values.size, dtype=np.float64)
    slope, intercept = np.polyfit(x, values, 1)
    return np.asarray(values - (slope * x + intercept), dtype=np.float64)


def _amplitude_and_peak(signal: Floats, pace_hz: float) -> tuple[float, float]:
    """The oscillation's amplitude (bpm) within ``BAND_HALF_WIDTH_HZ`` of the pace, and the
    frequency where the spectrum peaks in 2-12 a minute."""
    windowed = signal * np.hanning(signal.size)
    length = max(signal.size, math.ceil(RESAMPLE_HZ / SPECTRUM_STEP_HZ))
    power = np.abs(np.fft.rfft(windowed, n=length)) ** 2
    frequencies = np.fft.rfftfreq(length, 1.0 / RESAMPLE_HZ)
    total = float(power[1:].sum())
    if total <= 0.0:
        return 0.0, pace_hz
    near = np.abs(frequencies - pace_hz) <= BAND_HALF_WIDTH_HZ
    share = float(power[near].sum()) / total
    amplitude = math.sqrt(2.0 * share * float(np.mean(signal * signal)))
    band = (frequencies >= SPECTRUM_LOW_HZ) & (frequencies <= SPECTRUM_HIGH_HZ)
    peak_hz = float(frequencies[band][int(np.argmax(power[band]))])
    return amplitude, peak_hz


def _lung_volume(grid: Floats, block: PaceBlock) -> Floats:
    """A triangle wave from the cues: 0 to 1 over each inhale, back to 0 over the exhale."""
    cues = sorted([(t, 1.0) for t in block.inhale_s] + [(t, 0.0) for t in block.exhale_s])
    times = np.asarray([t for t, _ in cues], dtype=np.float64)
    # At each cue the volume is where the previous phase left it: 0 at a breath-in cue,
    # 1 at a breath-out cue.
    levels = np.asarray([1.0 - goal for _, goal in cues], dtype=np.float64)
    return np.asarray(np.interp(grid, times, levels), dtype=np.float64)


def _phase_deg(grid: Floats, signal: Floats, block: PaceBlock, pace_hz: float) -> float | None:
    if len(block.inhale_s) < 2 or not block.exhale_s:
        return None
    breath = _lung_volume(grid, block)
    breath = breath - breath.mean()
    rotor = np.exp(-2j * math.pi * pace_hz * grid)
    heart_c = complex(np.dot(signal, rotor))
    breath_c = complex(np.dot(breath, rotor))
    if abs(heart_c) == 0.0 or abs(breath_c) == 0.0:
        return None
    return math.degrees(np.angle(heart_c * breath_c.conjugate()))


# --- the answer ------------------------------------------------------------------------------


def assess(
    blocks: Sequence[PaceBlock], beat_times_s: Sequence[float], rr_ms: Sequence[float]
) -> Assessment:
    """Score every block and say which pace, if any, is this person's resonance pace."""
    scores = [score_block(block, beat_times_s, rr_ms) for block in blocks]
    good = [s for s in scores if s.good]
    if len(good) < MIN_USABLE_PACES:
        return Assessment(Verdict.TOO_FEW_GOOD_PACES, None, 0.0, tuple(scores))
    smooth = _smoothed(good)
    top_swing = max(f.swing for f in smooth.values()) or 1.0
    top_amplitude = max(f.amplitude for f in smooth.values()) or 1.0
    ranked = {
        pace: 0.5 * f.swing / top_swing + 0.5 * f.amplitude / top_amplitude
        for pace, f in smooth.items()
    }
    scores = [replace(s, score=ranked[s.pace_per_min]) if s.good else s for s in scores]
    best = max(ranked, key=lambda pace: ranked[pace])
    by_swing = max(smooth, key=lambda pace: smooth[pace].swing)
    by_amplitude = max(smooth, key=lambda pace: smooth[pace].amplitude)
    if abs(by_swing - by_amplitude) > NEIGHBOUR_PER_MIN:
        return Assessment(Verdict.MEASURES_DISAGREE, None, 0.0, tuple(scores))
    tried = [b.pace_per_min for b in blocks]
    at_edge = best in (min(tried), max(tried))
    separation, contrast = _separation(best, good)
    needed = EDGE_MIN_CONTRAST if at_edge else MIN_CONTRAST
    if separation < MIN_SEPARATION_Z or contrast < needed:
        return Assessment(Verdict.NO_CLEAR_PEAK, None, 0.0, tuple(scores))
    block = next(b for b in blocks if b.pace_per_min == best)
    return Assessment(
        Verdict.ANSWERED,
        best,
        min(1.0, separation / FULL_CONFIDENCE_Z),
        tuple(scores),
        at_edge=at_edge,
        inhale_s=block.inhale_len_s or None,
        exhale_s=block.exhale_len_s or None,
    )


@dataclass(frozen=True)
class _Smoothed:
    swing: float
    amplitude: float


def _smoothed(good: Sequence[PaceScore]) -> dict[float, _Smoothed]:
    """Each good pace's figures averaged with its good neighbours (weights 1-2-1): a pace
    is judged with the paces half a breath either side, so one noisy block cannot make a
    peak, and a peak that falls between two tried paces shows at the nearer of them."""
    smoothed: dict[float, _Smoothed] = {}
    for centre in good:
        weights: list[tuple[float, PaceScore]] = []
        for other in good:
            distance = abs(other.pace_per_min - centre.pace_per_min)
            if distance <= NEIGHBOUR_PER_MIN:
                weights.append((2.0 if other is centre else 1.0, other))
        total = sum(w for w, _ in weights)
        smoothed[centre.pace_per_min] = _Smoothed(
            swing=sum(w * (o.swing_bpm or 0.0) for w, o in weights) / total,
            amplitude=sum(w * (o.amplitude_bpm or 0.0) for w, o in weights) / total,
        )
    return smoothed


def _separation(best: float, good: Sequence[PaceScore]) -> tuple[float, float]:
    """How far the best pace's own swing stands above that of every good pace more than
    half a breath a minute away (a broad peak may tie its neighbours): the fewest standard
    errors, and the smallest share of its own swing."""
    top = next(s for s in good if s.pace_per_min == best)
    far = [s for s in good if abs(s.pace_per_min - best) > NEIGHBOUR_PER_MIN]
    swing, se = top.swing_bpm or 0.0, top.swing_se_bpm or 0.0
    if not far or swing <= 0:
        return 0.0, 0.0
    z = min(
        (swing - (f.swing_bpm or 0.0)) / (math.hypot(se, f.swing_se_bpm or 0.0) or 1e-9)
        for f in far
    )
    contrast = min((swing - (f.swing_bpm or 0.0)) / swing for f in far)
    return z, contrast
