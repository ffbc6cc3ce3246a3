"""Generated signals with a known truth, for the physiology and wearer tests.

Nothing here is stored: every signal is made from a seed when a test asks for it.
Run ``.venv/bin/python tests/data/signals.py`` to print the error table quoted in
docs/physiology.md.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
from dataclasses import dataclass

from companion.ble.wearer import (
    ArtefactKind,
    Beat,
    Wearer,
    WearerMode,
)
from companion.cues import CueName
from companion.heart import physiology

PACED_INHALE_S = 4.0
PACED_EXHALE_S = 6.0
PACED_RATE = 60.0 / (PACED_INHALE_S + PACED_EXHALE_S)
BAND_POLL_S = 1.0


def paced_cues(
    duration_s: float, inhale_s: float = PACED_INHALE_S, exhale_s: float = PACED_EXHALE_S
) -> list[tuple[float, str]]:
    """The vibrations a pacer sends: breathe in, then breathe out, from t = 0 to duration."""
    cues: list[tuple[float, str]] = []
    t = 0.0
    while t < duration_s:
        cues.append((t, CueName.BREATH_IN))
        if t + inhale_s < duration_s:
            cues.append((t + inhale_s, CueName.BREATH_OUT))
        t += inhale_s + exhale_s
    return cues


@dataclass(frozen=True)
class Recording:
    wearer: Wearer
    beats: tuple[Beat, ...]
    cues: tuple[tuple[float, str], ...]
    duration_s: float

    @property
    def beat_times_s(self) -> list[float]:
        return [b.t_s for b in self.beats]

    @property
    def rr_ms(self) -> list[float]:
        return [b.rr_s * 1000.0 for b in self.beats]

    @property
    def artefact_intervals(self) -> int:
        return sum(1 for b in self.beats if b.artefact is not None)

    @property
    def true_rr_ms(self) -> list[float]:
        return [rr * 1000.0 for rr in self.wearer.true_rr_s(0.0, self.duration_s)]

    def cue_times(self, name: str) -> list[float]:
        return [t for t, cue in self.cues if cue == name]


def record(
    mode: WearerMode,
    seed: int,
    duration_s: float = 180.0,
    *,
    poll_s: float = BAND_POLL_S,
    inhale_s: float = PACED_INHALE_S,
    exhale_s: float = PACED_EXHALE_S,
    **wearer_options: float,
) -> Recording:
    """Drive a wearer the way the virtual band does: cues as they come, beats every poll."""
    wearer = Wearer(seed, mode=mode, **wearer_options)
    cues = paced_cues(duration_s, inhale_s, exhale_s)
    beats: list[Beat] = []
    pending = list(cues)
    steps = math.floor(duration_s / poll_s)
    for k in range(1, steps + 1):
        now = k * poll_s
        while pending and pending[0][0] <= now:
            t, name = pending.pop(0)
            wearer.feel_cue(t, name)
        beats.extend(wearer.beats_until(now))
    return Recording(wearer, tuple(beats), tuple(cues), steps * poll_s)


def sine_tachogram(
    breaths_per_min: float,
    duration_s: float,
    *,
    mean_rr_ms: float = 1000.0,
    swing_ms: float = 60.0,
    noise_ms: float = 0.0,
    seed: int = 0,
) -> tuple[list[float], list[float]]:
    """RR intervals whose length swings sinusoidally at the breathing rate: (beat times, rr)."""
    rng = random.Random(seed)
    times: list[float] = []
    rr_ms: list[float] = []
    t = 0.0
    while True:
        rr = mean_rr_ms + swing_ms * math.sin(2.0 * math.pi * breaths_per_min / 60.0 * t)
        rr += rng.gauss(0.0, noise_ms) if noise_ms else 0.0
        t += rr / 1000.0
        if t > duration_s:
            return times, rr_ms
        times.append(t)
        rr_ms.append(rr)


def white_noise_tachogram(
    duration_s: float, *, mean_rr_ms: float = 1000.0, noise_ms: float = 30.0, seed: int = 0
) -> tuple[list[float], list[float]]:
    """RR intervals with no rhythm at all: (beat times, rr)."""
    return sine_tachogram(
        1.0, duration_s, mean_rr_ms=mean_rr_ms, swing_ms=0.0, noise_ms=noise_ms, seed=seed
    )


# --- the error table for docs/physiology.md ------------------------------------------------

MEASURE_SEEDS = range(20)
MEASURE_DURATIONS_S = (120.0, 300.0)
STRESS_ARTEFACT_RATES = (0.02, 0.05, 0.1)
STRESS_RSA_BPM = (10.0, 15.0)
NOISE_LEVELS_MS = (10.0, 30.0, 60.0)


@dataclass(frozen=True)
class ModeErrors:
    label: str
    duration_s: float
    runs: int
    no_estimate: int
    rate_mean_abs_error: float
    rate_max_abs_error: float
    rmssd_max_rel_error: float
    artefacts: int
    rejected: int
    extra_or_missed_caught: int


def measure(
    mode: WearerMode, duration_s: float, label: str = "", **wearer_options: float
) -> ModeErrors:
    rate_errors: list[float] = []
    rmssd_errors: list[float] = []
    no_estimate = artefacts = rejected = caught = 0
    for seed in MEASURE_SEEDS:
        rec = record(mode, seed, duration_s, **wearer_options)
        estimate = physiology.breathing_rate_from_rr(rec.beat_times_s, rec.rr_ms)
        truth = rec.wearer.breathing_rate_truth(0.0, duration_s)
        if estimate is None or truth is None:
            no_estimate += 1
        else:
            rate_errors.append(abs(estimate - truth))
        cleaned = physiology.clean_rr(rec.rr_ms)
        measured = physiology.rmssd(cleaned)
        true_rmssd = physiology.rmssd(rec.true_rr_ms)
        if measured is not None and true_rmssd:
            rmssd_errors.append(abs(measured - true_rmssd) / true_rmssd)
        artefacts += rec.artefact_intervals
        rejected += cleaned.rejected
        kept = set(cleaned.kept_indices)
        caught += sum(
            1 for i, b in enumerate(rec.beats) if b.artefact is not None and i not in kept
        )
    return ModeErrors(
        label=label or mode.value,
        duration_s=duration_s,
        runs=len(MEASURE_SEEDS),
        no_estimate=no_estimate,
        rate_mean_abs_error=statistics.fmean(rate_errors) if rate_errors else math.nan,
        rate_max_abs_error=max(rate_errors, default=math.nan),
        rmssd_max_rel_error=max(rmssd_errors, default=math.nan),
        artefacts=artefacts,
        rejected=rejected,
        extra_or_missed_caught=caught,
    )


def main() -> None:
    out = sys.stdout
    out.write(
        "| mode | window | runs | no estimate | rate MAE /min | rate max err /min "
        "| RMSSD max rel err | artefact intervals | caught | rejected |\n"
    )
    out.write("|---|---|---|---|---|---|---|---|---|---|\n")
    cases: list[tuple[WearerMode, float, str, dict[str, float]]] = [
        (mode, duration, "", {}) for mode in WearerMode for duration in MEASURE_DURATIONS_S
    ]
    cases += [
        (
            WearerMode.FOLLOW_CUES,
            120.0,
            f"follow_cues, artefact_rate {rate}",
            {"artefact_rate": rate},
        )
        for rate in STRESS_ARTEFACT_RATES
    ]
    cases += [
        (
            WearerMode.FOLLOW_CUES,
            120.0,
            f"follow_cues, RSA +-{amp:.0f} bpm",
            {"rsa_amplitude_bpm": amp},
        )
        for amp in STRESS_RSA_BPM
    ]
    for mode, duration, label, options in cases:
        e = measure(mode, duration, label, **options)
        out.write(
            f"| {e.label} | {e.duration_s:.0f} s | {e.runs} | {e.no_estimate} "
            f"| {e.rate_mean_abs_error:.2f} | {e.rate_max_abs_error:.2f} "
            f"| {100 * e.rmssd_max_rel_error:.1f} % | {e.artefacts} "
            f"| {e.extra_or_missed_caught} | {e.rejected} |\n"
        )
    noise_shares: list[float] = []
    for seed in MEASURE_SEEDS:
        for noise_ms in NOISE_LEVELS_MS:
            times, rr = white_noise_tachogram(120.0, noise_ms=noise_ms, seed=seed)
            estimate = physiology.estimate_breathing(times, rr, min_peak_share=0.0)
            if estimate is not None:
                noise_shares.append(estimate.peak_share)
    out.write(
        f"white-noise peak share over {len(noise_shares)} windows: max {max(noise_shares):.2f}\n"
    )
    out.write(f"artefact kinds: {', '.join(k.value for k in ArtefactKind)}\n")


if __name__ == "__main__":
    main()
