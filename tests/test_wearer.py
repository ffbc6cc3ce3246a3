"""The simulated wearer: deterministic, breathes as its mode says, its heart follows the breath."""

from __future__ import annotations

import itertools
import statistics

import pytest

from companion.ble.wearer import (
    ArtefactKind,
    Beat,
    BreathPhase,
    Wearer,
    WearerMode,
)
from companion.cues import CueName
from companion.heart import physiology
from tests.data import signals


def test_same_seed_and_cues_give_the_same_beats() -> None:
    first = signals.record(WearerMode.FOLLOW_CUES, seed=3, duration_s=60.0)
    second = signals.record(WearerMode.FOLLOW_CUES, seed=3, duration_s=60.0)
    assert first.beats == second.beats


def test_different_seeds_give_different_beats() -> None:
    first = signals.record(WearerMode.FOLLOW_CUES, seed=3, duration_s=60.0)
    second = signals.record(WearerMode.FOLLOW_CUES, seed=4, duration_s=60.0)
    assert first.rr_ms != second.rr_ms


def test_beats_do_not_depend_on_how_often_the_band_asks() -> None:
    every_second = signals.record(WearerMode.FOLLOW_CUES, seed=5, duration_s=60.0, poll_s=1.0)
    every_quarter = signals.record(WearerMode.FOLLOW_CUES, seed=5, duration_s=60.0, poll_s=0.25)
    assert every_quarter.beats == every_second.beats


@pytest.mark.parametrize(
    ("mode", "low", "high"),
    [
        (WearerMode.FOLLOW_CUES, 5.9, 6.1),  # the pacer's 4 s in, 6 s out
        (WearerMode.OWN_PACE, 10.0, 12.0),  # its own 11 a minute, cues ignored
        (WearerMode.RESTLESS, 14.5, 19.5),  # fast and irregular
    ],
)
def test_breathing_rate_follows_the_mode(mode: WearerMode, low: float, high: float) -> None:
    rec = signals.record(mode, seed=1, duration_s=180.0)
    rate = rec.wearer.breathing_rate_truth(0.0, rec.duration_s)
    assert rate is not None
    assert low <= rate <= high


def test_following_wearer_is_in_the_cued_phase_shortly_after_each_cue() -> None:
    rec = signals.record(WearerMode.FOLLOW_CUES, seed=2, duration_s=120.0)
    expected = {CueName.BREATH_IN: BreathPhase.INHALE, CueName.BREATH_OUT: BreathPhase.EXHALE}
    felt = [(rec.wearer.breath_phase_at(t + 1.5), expected[name]) for t, name in rec.cues]
    assert [phase for phase, _ in felt] == [want for _, want in felt]


def test_following_wearer_reacts_after_a_short_delay_not_before() -> None:
    wearer = Wearer(0, mode=WearerMode.FOLLOW_CUES)
    wearer.beats_until(20.0)
    phase_before = wearer.breath_phase_at(20.0)
    cue = CueName.BREATH_OUT if phase_before is BreathPhase.INHALE else CueName.BREATH_IN
    wearer.feel_cue(20.0, cue)
    assert wearer.breath_phase_at(20.1) is phase_before
    assert wearer.breath_phase_at(21.1) is phase_before.opposite


def test_unknown_vibrations_do_not_change_breathing() -> None:
    plain = Wearer(0)
    buzzed = Wearer(0)
    buzzed.feel_cue(5.0, "strong")
    assert buzzed.beats_until(30.0) == plain.beats_until(30.0)


def test_heart_rate_rises_on_the_breath_in_and_falls_on_the_breath_out() -> None:
    rec = signals.record(WearerMode.FOLLOW_CUES, seed=4, duration_s=180.0, artefact_rate=0.0)
    # A beat's hr_bpm is the rate when its interval began: t_s - rr_s.
    by_phase = {
        phase: [b.hr_bpm for b in rec.beats if rec.wearer.breath_phase_at(b.t_s - b.rr_s) is phase]
        for phase in BreathPhase
    }
    rising = statistics.fmean(by_phase[BreathPhase.INHALE])
    falling = statistics.fmean(by_phase[BreathPhase.EXHALE])
    assert rising - falling > 3.0


def test_restless_wearer_has_a_faster_heart_and_more_artefacts() -> None:
    calm = signals.record(WearerMode.OWN_PACE, seed=6, duration_s=300.0)
    restless = signals.record(WearerMode.RESTLESS, seed=6, duration_s=300.0)
    assert statistics.fmean(b.hr_bpm for b in restless.beats) > statistics.fmean(
        b.hr_bpm for b in calm.beats
    )
    assert restless.artefact_intervals > calm.artefact_intervals


def test_reported_intervals_tile_time_even_with_artefacts() -> None:
    rec = signals.record(
        WearerMode.FOLLOW_CUES, seed=7, duration_s=120.0, artefact_rate=0.1, ectopic_rate=0.05
    )
    starts = [b.t_s - b.rr_s for b in rec.beats[1:]]
    ends = [b.t_s for b in rec.beats[:-1]]
    assert starts == pytest.approx(ends)
    assert {b.artefact for b in rec.beats} == {None, *ArtefactKind}


def test_missed_beat_reports_two_true_intervals_as_one() -> None:
    rec = signals.record(WearerMode.FOLLOW_CUES, seed=8, duration_s=120.0, artefact_rate=0.1)
    missed = [b for b in rec.beats if b.artefact is ArtefactKind.MISSED_BEAT]
    assert missed
    for beat in missed:
        true = rec.wearer.true_rr_s(beat.t_s - beat.rr_s + 1e-9, beat.t_s)
        assert len(true) == 2
        assert sum(true) == pytest.approx(beat.rr_s)


def test_extra_beat_splits_one_true_interval_into_two_short_ones() -> None:
    rec = signals.record(WearerMode.FOLLOW_CUES, seed=8, duration_s=120.0, artefact_rate=0.1)
    pairs = [
        (a, b)
        for a, b in zip(rec.beats, rec.beats[1:], strict=False)
        if a.artefact is b.artefact is ArtefactKind.EXTRA_BEAT and a.hr_bpm == b.hr_bpm
    ]
    assert pairs
    for first, second in pairs:
        true = rec.wearer.true_rr_s(first.t_s - first.rr_s + 1e-9, second.t_s)
        assert true == [pytest.approx(first.rr_s + second.rr_s)]
        assert 0.3 <= first.rr_s / true[0] <= 0.7


def test_no_beats_are_reported_without_skin_contact_but_the_heart_goes_on() -> None:
    wearer = Wearer(9, artefact_rate=0.0)
    before = wearer.beats_until(30.0)
    wearer.contact = False
    during = wearer.beats_until(60.0)
    wearer.contact = True
    after = wearer.beats_until(90.0)
    assert before and after
    assert during == []
    assert len(wearer.true_rr_s(30.0, 60.0)) > 20
    assert after[0].t_s > 60.0


def test_heart_rate_comes_from_the_last_reported_beats() -> None:
    wearer = Wearer(10, artefact_rate=0.0)
    beats = wearer.beats_until(30.0)
    last_five = beats[-5:]
    assert wearer.heart_rate_bpm(5) == pytest.approx(
        60.0 / statistics.fmean(b.rr_s for b in last_five)
    )


def test_heart_rate_before_any_beat_is_the_resting_baseline() -> None:
    assert Wearer(11, baseline_bpm=58.0, drift_bpm=0.0).heart_rate_bpm() == pytest.approx(58.0)


@pytest.mark.parametrize(
    ("start", "hours", "drain", "expected"),
    [
        (100.0, 0.0, 1.0, 100),
        (100.0, 10.0, 1.0, 90),
        (15.0, 2.5, 2.0, 10),
        (3.0, 10.0, 1.0, 0),  # never below empty
    ],
)
def test_battery_drains_slowly_with_time(
    start: float, hours: float, drain: float, expected: int
) -> None:
    wearer = Wearer(12, battery_percent=start, battery_drain_per_hour=drain)
    wearer.beats_until(hours * 3600.0)
    assert wearer.battery_percent == expected


@pytest.mark.parametrize(("value", "expected"), [(4, 4), (-5, 0), (150, 100)])
def test_battery_can_be_set_for_the_low_battery_fault(value: int, expected: int) -> None:
    wearer = Wearer(13)
    wearer.battery_percent = value
    assert wearer.battery_percent == expected


def test_beats_carry_the_true_heart_rate_of_their_interval() -> None:
    beats = Wearer(14, artefact_rate=0.0, rr_noise_ms=0.0).beats_until(20.0)
    assert [b.rr_s for b in beats] == pytest.approx([60.0 / b.hr_bpm for b in beats])
    assert all(isinstance(b, Beat) and b.artefact is None for b in beats)


def test_late_cue_acts_from_the_last_time_beats_were_made() -> None:
    wearer = Wearer(15, mode=WearerMode.FOLLOW_CUES)
    wearer.beats_until(30.0)
    phase = wearer.breath_phase_at(30.0)
    cue = CueName.BREATH_OUT if phase is BreathPhase.INHALE else CueName.BREATH_IN
    wearer.feel_cue(25.0, cue)  # reported after beats up to 30 s were already made
    assert wearer.breath_phase_at(29.9) is phase
    assert wearer.breath_phase_at(30.1) is phase.opposite


# --- closer to people: Mayer waves, ectopic beats, spontaneous breathing, exertion ---------


def test_ectopic_beats_come_early_and_the_pause_keeps_the_sinus_rhythm() -> None:
    rec = signals.record(
        WearerMode.FOLLOW_CUES, seed=9, duration_s=300.0, artefact_rate=0.0, ectopic_rate=0.02
    )
    beats = list(rec.beats)
    pairs = [
        (a, b)
        for a, b in itertools.pairwise(beats)
        if a.artefact is ArtefactKind.ECTOPIC_BEAT and b.artefact is ArtefactKind.ECTOPIC_BEAT
    ]
    assert len(pairs) >= 3
    for premature, pause in pairs:
        assert premature.rr_s < 0.82 * pause.rr_s
        true = rec.wearer.true_rr_s(premature.t_s - premature.rr_s + 1e-9, pause.t_s)
        assert len(true) == 2
        assert premature.rr_s + pause.rr_s == pytest.approx(sum(true))


def test_mayer_waves_swing_the_heart_near_a_tenth_of_a_hertz() -> None:
    """With breathing's RSA off, the slow swing is what is left in the heart rhythm."""
    rec = signals.record(
        WearerMode.OWN_PACE, seed=10, duration_s=600.0, artefact_rate=0.0, ectopic_rate=0.0,
        rsa_amplitude_bpm=0.0, drift_bpm=0.0, mayer_amplitude_bpm=3.0,
    )  # fmt: skip
    estimate = physiology.estimate_breathing(rec.beat_times_s, rec.rr_ms, min_peak_share=0.0)
    assert estimate is not None
    assert 0.08 <= estimate.rate_bpm / 60.0 <= 0.12


@pytest.mark.parametrize("seed", range(5))
def test_spontaneous_breathing_is_twelve_to_twenty_a_minute_and_ignores_cues(seed: int) -> None:
    rec = signals.record(WearerMode.SPONTANEOUS, seed=seed, duration_s=180.0)
    truth = rec.wearer.breathing_rate_truth(0.0, rec.duration_s)
    assert truth is not None
    assert 11.0 <= truth <= 21.0


def test_exertion_raises_the_heart_towards_its_target_and_rest_brings_it_back() -> None:
    wearer = Wearer(11, artefact_rate=0.0, ectopic_rate=0.0)
    wearer.beats_until(60.0)
    calm = wearer.heart_rate_bpm()
    wearer.exert(130.0)
    assert wearer.exerting
    wearer.beats_until(150.0)
    exerted = wearer.heart_rate_bpm()
    wearer.rest()
    wearer.beats_until(400.0)
    rested = wearer.heart_rate_bpm()
    assert calm < 75.0
    assert exerted > 120.0
    assert rested < 80.0
    assert not wearer.exerting


@pytest.mark.parametrize("target", [0.0, 10.0, 500.0])
def test_exertion_to_an_impossible_heart_rate_is_refused(target: float) -> None:
    with pytest.raises(ValueError, match="out of range"):
        Wearer(12).exert(target)
