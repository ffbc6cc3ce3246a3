"""The resonance assessment, run on virtual time against simulated wearers whose resonance
pace is known (companion.ble.resonance_curve), straight from the wearer model."""

from __future__ import annotations

import dataclasses

import pytest

from companion.ble.resonance_curve import ResonanceCurve, beats_following
from companion.ble.wearer import Wearer, WearerMode
from companion.heart.resonance import (
    ASSESSMENT_PACES_PER_MIN,
    BlockQuality,
    PaceScore,
    Verdict,
    assess,
    assessment_blocks,
    block_cues,
    pace_pattern,
    score_block,
)
from companion.heart.resonance_json import AssessmentJson, PaceJson

BLOCKS = assessment_blocks()
CUES = block_cues(BLOCKS)
END_S = BLOCKS[-1].end_s + 5.0


def _beats(wearer: Wearer) -> tuple[list[float], list[float]]:
    return beats_following(wearer, CUES, END_S)


def test_curve_peaks_at_the_resonance_pace_and_falls_either_side() -> None:
    curve = ResonanceCurve(5.5)
    gains = {pace: curve.gain(pace) for pace in (3.0, 4.5, 5.0, 5.5, 6.0, 6.5, 12.0)}
    assert gains[5.5] == pytest.approx(1.0 + curve.boost)
    assert gains[3.0] < gains[4.5] < gains[5.0] < gains[5.5]
    assert gains[5.5] > gains[6.0] > gains[6.5] > gains[12.0]
    assert gains[12.0] < 0.5 * gains[5.5]


def test_curve_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="resonance_per_min"):
        ResonanceCurve(0.0)
    with pytest.raises(ValueError, match="boost"):
        ResonanceCurve(5.5, boost=-1.0)


def test_a_wearer_with_resonance_swings_most_at_its_pace() -> None:
    times, rr = _beats(Wearer(7, resonance=ResonanceCurve(5.5)))
    swings = {b.pace_per_min: score_block(b, times, rr).swing_bpm for b in BLOCKS}
    assert max(swings, key=lambda pace: swings[pace] or 0.0) == 5.5


def test_the_assessment_schedule_paces_inhale_shorter_than_exhale() -> None:
    assert [b.pace_per_min for b in BLOCKS] == list(ASSESSMENT_PACES_PER_MIN)
    for block in BLOCKS:
        assert block.inhale_len_s < block.exhale_len_s
        assert 100.0 <= block.end_s - block.start_s <= 140.0
    assert pace_pattern(6.0) == (4.0, 6.0)


@pytest.mark.parametrize("resonance", [4.5, 5.5, 6.5])
def test_the_answer_is_within_half_a_breath_of_the_wearers_resonance(resonance: float) -> None:
    # Mayer waves near 0.1 Hz beat with the breath and can blur a block's figures: then the
    # assessment says "try again" rather than guess. Every answer is right; most answer.
    answers = []
    for seed in range(1, 7):
        times, rr = _beats(Wearer(seed, resonance=ResonanceCurve(resonance)))
        result = assess(BLOCKS, times, rr)
        if not result.answered:
            assert result.pace_per_min is None and result.confidence == 0.0
            continue
        assert result.pace_per_min is not None
        assert abs(result.pace_per_min - resonance) <= 0.5, (seed, result.message)
        assert 0.0 < result.confidence <= 1.0
        assert result.inhale_s is not None and result.exhale_s is not None
        assert result.inhale_s < result.exhale_s
        assert f"{result.pace_per_min:g} breaths a minute" in result.message
        answers.append(result.pace_per_min)
    assert len(answers) >= 4


@pytest.mark.parametrize("seed", range(6))
def test_a_wearer_without_a_resonance_peak_gets_no_clear_answer(seed: int) -> None:
    times, rr = _beats(Wearer(seed))
    result = assess(BLOCKS, times, rr)
    assert not result.answered
    assert result.pace_per_min is None and result.confidence == 0.0
    assert result.message.startswith("No clear answer, try again")


def test_too_many_artefacts_give_no_answer_and_mark_every_pace() -> None:
    times, rr = _beats(Wearer(3, resonance=ResonanceCurve(5.5), artefact_rate=0.25))
    result = assess(BLOCKS, times, rr)
    assert result.verdict is Verdict.TOO_FEW_GOOD_PACES
    assert all(p.quality is BlockQuality.TOO_MANY_ARTEFACTS for p in result.paces)
    assert all(p.score is None for p in result.paces)


def test_a_block_with_a_lost_link_is_marked_and_never_chosen() -> None:
    times, rr = _beats(Wearer(2, resonance=ResonanceCurve(5.5)))
    lost = next(b for b in BLOCKS if b.pace_per_min == 5.5)
    gap = (lost.start_s + 40.0, lost.start_s + 80.0)
    kept = [(t, r) for t, r in zip(times, rr, strict=True) if not gap[0] < t <= gap[1]]
    result = assess(BLOCKS, [t for t, _ in kept], [r for _, r in kept])
    marked = next(p for p in result.paces if p.pace_per_min == 5.5)
    assert marked.quality is BlockQuality.GAPS
    assert result.pace_per_min != 5.5
    if result.answered:
        assert result.pace_per_min is not None and abs(result.pace_per_min - 5.5) <= 0.5


def test_a_wearer_breathing_on_its_own_did_not_follow_the_paces() -> None:
    wearer = Wearer(4, resonance=ResonanceCurve(5.5), mode=WearerMode.OWN_PACE)
    result = assess(BLOCKS, *_beats(wearer))
    assert not result.answered
    assert sum(p.quality is BlockQuality.NOT_FOLLOWED for p in result.paces) >= 3


def test_no_beats_at_all_is_no_answer_not_an_error() -> None:
    result = assess(BLOCKS, [], [])
    assert result.verdict is Verdict.TOO_FEW_GOOD_PACES
    assert all(p.quality is BlockQuality.TOO_FEW_BEATS for p in result.paces)


def test_mismatched_times_and_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="beat times"):
        assess(BLOCKS, [1.0, 2.0], [1000.0])


def test_the_result_as_json_names_each_pace_and_its_quality() -> None:
    times, rr = _beats(Wearer(1, resonance=ResonanceCurve(6.5)))
    shown = assess(BLOCKS, times, rr).to_json()
    assert shown["verdict"] == "answered"
    assert shown["pace_per_min"] == 6.5
    assert [p["pace_per_min"] for p in shown["paces"]] == list(ASSESSMENT_PACES_PER_MIN)
    assert {p["quality"] for p in shown["paces"]} == {"good"}
    assert all(isinstance(p["phase_deg"], float) for p in shown["paces"])


def test_each_pace_is_written_as_its_figures_to_three_decimals_and_typed_key_by_key() -> None:
    times, rr = _beats(Wearer(1, resonance=ResonanceCurve(6.5)))
    result = assess(BLOCKS, times, rr)
    shown = result.to_json()
    # The JSON types name exactly what is written: each pace's figures, nothing else.
    assert set(shown) == set(AssessmentJson.__annotations__)
    assert set(PaceJson.__annotations__) == {f.name for f in dataclasses.fields(PaceScore)}
    for score, pace in zip(result.paces, shown["paces"], strict=True):
        assert set(pace) == set(PaceJson.__annotations__)
        assert pace["quality"] == score.quality.value
        assert pace["beats_kept"] == score.beats_kept
        assert pace["swing_bpm"] == round(score.swing_bpm or -1.0, 3)
    assert shown["confidence"] == round(result.confidence, 3)
