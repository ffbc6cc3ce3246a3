"""Physiology maths, checked on hand-made series and on the simulated wearer's known truth."""

from __future__ import annotations

import pytest

from companion.ble.wearer import WearerMode
from companion.cues import CueName
from companion.heart import physiology
from companion.heart.physiology import CleanedRR, RejectReason, StepPhysiology
from tests.data import signals

STEADY = [1000.0, 1010.0, 990.0, 1005.0, 995.0, 1000.0]


@pytest.mark.parametrize(
    ("rr", "expected"),
    [
        pytest.param([], CleanedRR((), ()), id="nothing"),
        pytest.param(
            [*STEADY, 250.0, *STEADY, 2500.0],
            CleanedRR((*STEADY, *STEADY), (0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12), out_of_range=2),
            id="impossible-intervals",
        ),
        pytest.param(
            [*STEADY, 2010.0 - 10.0, *STEADY],
            CleanedRR((*STEADY, *STEADY), (0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12), outliers=1),
            id="missed-beat",
        ),
        pytest.param(
            [*STEADY, 400.0, 600.0, *STEADY],
            CleanedRR((*STEADY, *STEADY), (0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13), outliers=2),
            id="extra-beat-uneven-split",
        ),
        pytest.param(
            [*STEADY, 500.0, 500.0, *STEADY],
            CleanedRR((*STEADY, *STEADY), (0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13), outliers=2),
            id="extra-beat-even-split",
        ),
        pytest.param(
            [1400.0, *STEADY, *STEADY],
            CleanedRR((*STEADY, *STEADY), tuple(range(1, 13)), outliers=1),
            id="glitch-first-is-not-the-reference",
        ),
        pytest.param(
            [800.0, 800.0, 820.0, 1100.0, 1150.0, 1180.0, 1150.0, 900.0, 820.0, 800.0],
            CleanedRR(
                (800.0, 800.0, 820.0, 1100.0, 1150.0, 1180.0, 1150.0, 900.0, 820.0, 800.0),
                tuple(range(10)),
            ),
            id="deep-breathing-swing-is-kept",
        ),
        pytest.param(
            [1000.0, 2000.0, 500.0],
            CleanedRR((1000.0, 2000.0, 500.0), (0, 1, 2)),
            id="too-short-to-judge",
        ),
    ],
)
def test_clean_rr_drops_impossible_and_glitched_intervals(
    rr: list[float], expected: CleanedRR
) -> None:
    assert physiology.clean_rr(rr) == expected


def test_cleaned_rr_counts_rejections_by_reason() -> None:
    cleaned = physiology.clean_rr([*STEADY, 250.0, 2000.0, *STEADY])
    assert cleaned.rejected == 2
    assert cleaned.reasons == {
        RejectReason.OUT_OF_RANGE: 1,
        RejectReason.OUTLIER: 1,
        RejectReason.ECTOPIC: 0,
    }


def test_successive_differences_skip_over_removed_intervals() -> None:
    cleaned = CleanedRR((1000.0, 1010.0, 990.0, 1000.0), (0, 1, 3, 4))
    assert cleaned.successive_differences() == (10.0, 10.0)


@pytest.mark.parametrize(
    ("rr", "expected"),
    [
        ([1000.0] * 12, 0.0),
        ([1000.0, 1020.0] * 6, 20.0),
        ([1000.0, 1010.0, 1030.0] * 4 + [1000.0], ((10**2 + 20**2 + 30**2) / 3) ** 0.5),
        ([1000.0, 1020.0] * 5, None),  # nine differences: too few
        ([], None),
    ],
)
def test_rmssd(rr: list[float], expected: float | None) -> None:
    assert physiology.rmssd(rr) == (None if expected is None else pytest.approx(expected))


def test_pooled_rmssd_never_differences_across_two_recordings() -> None:
    first = [1000.0, 1020.0] * 3
    second = [600.0, 620.0] * 3
    assert physiology.pooled_rmssd([first, second]) == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("rr", "expected"),
    [([1000.0] * 5, 60.0), ([750.0, 1250.0], 60.0), ([500.0], 120.0), ([], None)],
)
def test_mean_hr_is_sixty_thousand_over_the_mean_interval(
    rr: list[float], expected: float | None
) -> None:
    assert physiology.mean_hr(rr) == (None if expected is None else pytest.approx(expected))


def _minutes(*bpm_per_minute: float, samples: int = 60) -> list[tuple[float, float]]:
    return [
        (minute * 60.0 + k * 60.0 / samples, bpm)
        for minute, bpm in enumerate(bpm_per_minute)
        for k in range(samples)
    ]


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (_minutes(70, 60, 65, 80, 75, 62, 64, 90, 66, 61, 68), 60.0 + 0.1 * 1.0 * 10),
        (_minutes(58, 58, 58), 58.0),
        (_minutes(58, 58), None),  # two minutes are not enough
        (_minutes(58, 58, 58, samples=10), None),  # sparse minutes do not count
        ([*_minutes(60, 60, 60), (10.0, 0.0)], 60.0),  # zero means no reading
    ],
)
def test_resting_hr_is_a_low_percentile_of_minute_means(
    samples: list[tuple[float, float]], expected: float | None
) -> None:
    assert physiology.resting_hr(samples) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize("rate", [4.0, 6.0, 10.0, 15.0, 24.0])
def test_breathing_rate_found_in_a_sinusoidal_tachogram(rate: float) -> None:
    times, rr = signals.sine_tachogram(rate, 120.0, noise_ms=10.0, seed=int(rate))
    assert physiology.breathing_rate_from_rr(times, rr) == pytest.approx(rate, abs=0.2)


def test_breathing_rate_needs_at_least_thirty_seconds() -> None:
    times, rr = signals.sine_tachogram(6.0, 25.0)
    assert physiology.breathing_rate_from_rr(times, rr) is None


def test_breathing_rate_is_none_without_a_rhythm() -> None:
    times, rr = signals.white_noise_tachogram(120.0, seed=1)
    assert physiology.breathing_rate_from_rr(times, rr) is None


def test_breathing_rate_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="beat times"):
        physiology.breathing_rate_from_rr([1.0, 2.0], [1000.0])


def test_beat_times_are_cumulative_intervals() -> None:
    assert physiology.beat_times([1000.0, 500.0, 250.0], first_beat_s=10.0) == (
        11.0,
        11.5,
        11.75,
    )


@pytest.mark.parametrize(
    ("estimated", "paced", "expected"),
    [
        (6.0, 6.0, 1.0),
        (6.4, 6.0, 1.0),
        (7.75, 6.0, 0.5),
        (4.25, 6.0, 0.5),
        (9.0, 6.0, 0.0),
        (11.0, 6.0, 0.0),
        (None, 6.0, None),
        (6.0, None, None),
    ],
)
def test_breath_following_score_by_rate(
    estimated: float | None, paced: float | None, expected: float | None
) -> None:
    score = physiology.breath_following_score(estimated, paced)
    assert score == (None if expected is None else pytest.approx(expected))


# --- validation on the simulated wearer, whose truth is known ----------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("mode", "tolerance"),
    [(WearerMode.FOLLOW_CUES, 0.2), (WearerMode.OWN_PACE, 0.5)],
)
def test_breathing_rate_from_the_wearer_within_tolerance_of_truth(
    mode: WearerMode, tolerance: float, seed: int
) -> None:
    rec = signals.record(mode, seed, duration_s=120.0)
    estimate = physiology.breathing_rate_from_rr(rec.beat_times_s, rec.rr_ms)
    truth = rec.wearer.breathing_rate_truth(0.0, rec.duration_s)
    assert estimate == pytest.approx(truth, abs=tolerance)


@pytest.mark.parametrize("mode", [WearerMode.RESTLESS, WearerMode.SPONTANEOUS])
def test_irregular_or_weak_breathing_is_right_or_withheld(mode: WearerMode) -> None:
    """Mayer waves beside weak or jittery RSA: a rate is withheld rather than guessed."""
    outcomes = []
    for seed in range(6):
        rec = signals.record(mode, seed, duration_s=300.0)
        estimate = physiology.estimate_breathing(rec.beat_times_s, rec.rr_ms)
        truth = rec.wearer.breathing_rate_truth(0.0, rec.duration_s)
        assert estimate is not None and truth is not None
        if estimate.confident:
            assert estimate.rate_bpm == pytest.approx(truth, abs=2.0)
        outcomes.append(estimate.confident)
    assert len(outcomes) == 6


def test_breathing_at_rest_is_found_without_mayer_waves() -> None:
    rec = signals.record(WearerMode.OWN_PACE, 1, duration_s=300.0, mayer_amplitude_bpm=0.0)
    estimate = physiology.estimate_breathing(rec.beat_times_s, rec.rr_ms)
    assert estimate is not None and estimate.confident
    truth = rec.wearer.breathing_rate_truth(0.0, rec.duration_s)
    assert estimate.rate_bpm == pytest.approx(truth, abs=0.5)


@pytest.mark.parametrize("mode", list(WearerMode))
def test_cleaning_catches_the_injected_artefacts_and_few_good_beats(mode: WearerMode) -> None:
    rec = signals.record(mode, seed=3, duration_s=180.0, artefact_rate=0.02, ectopic_rate=0.01)
    cleaned = physiology.clean_rr(rec.rr_ms)
    injected = {i for i, b in enumerate(rec.beats) if b.artefact is not None}
    rejected = set(range(len(rec.beats))) - set(cleaned.kept_indices)
    assert injected
    assert injected <= rejected
    assert len(rejected - injected) <= 0.01 * len(rec.beats)


@pytest.mark.parametrize("mode", list(WearerMode))
def test_rmssd_after_cleaning_is_within_five_percent_of_the_truth(mode: WearerMode) -> None:
    rec = signals.record(mode, seed=4, duration_s=180.0, artefact_rate=0.02)
    measured = physiology.rmssd(physiology.clean_rr(rec.rr_ms))
    truth = physiology.rmssd(rec.true_rr_ms)
    assert truth is not None
    assert measured == pytest.approx(truth, rel=0.05)


def test_rmssd_without_cleaning_is_far_off_when_artefacts_are_present() -> None:
    rec = signals.record(WearerMode.FOLLOW_CUES, seed=4, duration_s=180.0, artefact_rate=0.02)
    raw = physiology.rmssd(rec.rr_ms)
    truth = physiology.rmssd(rec.true_rr_ms)
    assert raw is not None and truth is not None
    assert raw > 1.5 * truth


def test_phase_score_tells_following_from_breathing_at_its_own_pace() -> None:
    scores = {}
    for mode in (WearerMode.FOLLOW_CUES, WearerMode.OWN_PACE):
        rec = signals.record(mode, seed=5, duration_s=120.0)
        scores[mode] = physiology.phase_following_score(
            rec.beat_times_s,
            rec.rr_ms,
            rec.cue_times(CueName.BREATH_IN),
            rec.cue_times(CueName.BREATH_OUT),
        )
    assert scores[WearerMode.FOLLOW_CUES] == pytest.approx(1.0)
    own = scores[WearerMode.OWN_PACE]
    assert own is not None and own < 0.3


def test_phase_score_needs_cues_of_both_kinds() -> None:
    rec = signals.record(WearerMode.FOLLOW_CUES, seed=5, duration_s=60.0)
    assert physiology.phase_following_score(rec.beat_times_s, rec.rr_ms, [0.0, 10.0], []) is None


def test_analyse_step_of_a_following_wearer() -> None:
    rec = signals.record(
        WearerMode.FOLLOW_CUES, seed=6, duration_s=120.0, artefact_rate=0.0, ectopic_rate=0.0
    )
    step = physiology.analyse_step(
        rec.beat_times_s,
        rec.rr_ms,
        signals.PACED_RATE,
        inhale_cues_s=rec.cue_times(CueName.BREATH_IN),
        exhale_cues_s=rec.cue_times(CueName.BREATH_OUT),
    )
    assert step == StepPhysiology(
        beats=len(rec.beats),
        rejected=0,
        differences=len(rec.beats) - 1,
        mean_hr=pytest.approx(physiology.mean_hr(rec.rr_ms)),
        rmssd=pytest.approx(physiology.rmssd(rec.rr_ms)),
        breathing_rate=pytest.approx(6.0, abs=0.1),
        score=1.0,
        phase_score=pytest.approx(1.0),
    )


def test_analyse_step_gives_no_score_without_a_confident_rate() -> None:
    times, rr = signals.white_noise_tachogram(60.0, seed=2)
    irregular = physiology.analyse_step(times, rr, paced_rate=6.0)
    short_times, short_rr = signals.sine_tachogram(6.0, 20.0)
    short = physiology.analyse_step(short_times, short_rr, paced_rate=6.0)
    assert (irregular.breathing_rate, irregular.score) == (None, None)
    assert (short.breathing_rate, short.score) == (None, None)


def test_combine_steps_weights_by_beats_and_pools_rmssd() -> None:
    steps = [
        StepPhysiology(30, 1, 29, 60.0, 20.0, 6.0, 1.0, None),
        StepPhysiology(90, 0, 80, 75.0, 40.0, 8.0, 0.5, 0.8),
        StepPhysiology(0, 3, 0, None, None, None, None, None),
    ]
    combined = physiology.combine_steps(steps)
    assert combined == StepPhysiology(
        beats=120,
        rejected=4,
        differences=109,
        mean_hr=pytest.approx(60_000.0 / ((1000.0 * 30 + 800.0 * 90) / 120)),
        rmssd=pytest.approx(((20.0**2 * 29 + 40.0**2 * 80) / 109) ** 0.5),
        breathing_rate=pytest.approx((6.0 * 30 + 8.0 * 90) / 120),
        score=pytest.approx((1.0 * 30 + 0.5 * 90) / 120),
        phase_score=pytest.approx(0.8),
    )


# --- ectopic beats, quality gates and session figures --------------------------------------

# A calm series with a gentle breathing swing, for placing one artefact in.
CALM = [1000.0 + 40.0 * ((k % 6) - 2.5) / 2.5 for k in range(60)]


@pytest.mark.parametrize("prematurity", [0.20, 0.25, 0.35])
def test_an_ectopic_beat_and_its_compensatory_pause_are_both_rejected(prematurity: float) -> None:
    rr = list(CALM)
    early = rr[30] * prematurity
    rr[30] -= early
    rr[31] += early
    cleaned = physiology.clean_rr(rr)
    assert set(range(60)) - set(cleaned.kept_indices) == {30, 31}
    assert cleaned.rejected == 2


def test_a_calm_series_loses_no_beat() -> None:
    assert physiology.clean_rr(CALM).rejected == 0


def test_breathing_at_the_band_edge_is_withheld() -> None:
    times, rr = signals.sine_tachogram(3.0, 300.0, noise_ms=5.0, seed=3)
    estimate = physiology.estimate_breathing(times, rr)
    assert estimate is not None
    assert estimate.withheld is physiology.Withheld.BAND_EDGE
    assert physiology.breathing_rate_from_rr(times, rr) is None


def test_a_slow_rhythm_that_does_not_dominate_is_withheld_as_mayer_waves() -> None:
    """Mayer-like 6 /min swing beside weak 18 /min breathing: not reported as 6 /min."""
    times, rr = signals.sine_tachogram(6.0, 180.0, swing_ms=30.0, noise_ms=20.0, seed=4)
    _, breath = signals.sine_tachogram(18.0, 180.0, swing_ms=12.0, seed=4)
    n = min(len(rr), len(breath))
    mixed = [a + b - 1000.0 for a, b in zip(rr[:n], breath[:n], strict=True)]
    estimate = physiology.estimate_breathing(times[:n], mixed)
    assert estimate is not None
    assert not estimate.confident
    assert physiology.following_score(estimate, paced_rate=6.0) is None


def test_a_tiny_oscillation_is_withheld_as_low_rsa() -> None:
    times, rr = signals.sine_tachogram(12.0, 120.0, swing_ms=2.0, seed=5)
    estimate = physiology.estimate_breathing(times, rr)
    assert estimate is not None
    assert estimate.withheld is physiology.Withheld.LOW_RSA


def test_a_clear_rhythm_is_confident() -> None:
    times, rr = signals.sine_tachogram(15.0, 120.0, noise_ms=5.0, seed=6)
    estimate = physiology.estimate_breathing(times, rr)
    assert estimate is not None
    assert estimate.confident
    assert estimate.rate_bpm == pytest.approx(15.0, abs=0.2)
    assert estimate.confidence >= physiology.MIN_CONFIDENCE


def test_following_score_needs_a_confident_estimate() -> None:
    sure = physiology.BreathingEstimate(rate_bpm=6.1, peak_share=0.9, confidence=0.9)
    unsure = physiology.BreathingEstimate(
        rate_bpm=6.1, peak_share=0.4, confidence=0.2, withheld=physiology.Withheld.LOW_ZONE
    )
    far = physiology.BreathingEstimate(rate_bpm=18.0, peak_share=0.9, confidence=0.9)
    assert physiology.following_score(sure, 6.0) == 1.0
    assert physiology.following_score(sure, 6.0, phase=0.4) == 0.4
    assert physiology.following_score(far, 6.0, phase=1.0) == 0.0
    assert physiology.following_score(unsure, 6.0, phase=1.0) is None
    assert physiology.following_score(None, 6.0) is None


def test_heart_figures_ignore_a_missed_beat() -> None:
    rr = [1000.0] * 30 + [2124.0] + [1000.0] * 30
    figures = physiology.heart_figures(physiology.beat_times(rr), rr)
    assert figures.hr_min == pytest.approx(60.0)
    assert figures.hr_max == pytest.approx(60.0)
    assert figures.hr_mean == pytest.approx(60.0)
    assert (figures.beats_kept, figures.beats_rejected) == (60, 1)
    assert figures.rmssd_ms == pytest.approx(0.0)


def test_heart_figures_from_samples_drop_a_glitched_reading() -> None:
    samples = [66.0, 65.0, 67.0, 66.0, 64.0, 28.0, 66.0, 65.0, 67.0, 66.0, 65.0]
    figures = physiology.heart_figures((), (), samples)
    assert figures.hr_min == 64.0
    assert figures.hr_max == 67.0
    assert figures.rmssd_ms is None
    assert (figures.beats_kept, figures.beats_rejected) == (0, 0)


def test_heart_figures_of_nothing() -> None:
    figures = physiology.heart_figures((), (), ())
    assert (figures.hr_min, figures.hr_mean, figures.rmssd_ms, figures.breathing) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize("count", range(13))
def test_short_series_of_any_length_are_cleaned_without_loss(count: int) -> None:
    rr = [1000.0 + 10.0 * (k % 2) for k in range(count)]
    assert physiology.clean_rr(rr).kept == tuple(rr)


def test_an_interval_split_unevenly_out_of_a_long_one_is_caught() -> None:
    calm = [830.0, 840.0, 820.0, 835.0, 825.0, 830.0]
    # The halves add up to 1008 ms, 21 % over the usual 830: the interval split was long.
    rr = [*calm, 906.0, 473.0, 535.0, *calm]
    cleaned = physiology.clean_rr(rr)
    assert set(range(len(rr))) - set(cleaned.kept_indices) == {7, 8}
