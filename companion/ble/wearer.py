"""The simulated person behind the virtual band: breathing, a heart that follows it, and a sensor.

Pure and deterministic for a given seed: time is passed in (seconds on any monotonic
scale), never read. The band tells the wearer which vibrations it felt (``feel_cue``) and
asks for the heartbeats up to now (``beats_until``); tests ask for the truth
(``breath_phase_at``, ``breathing_rate_truth``, ``true_rr_s``).

The model, in short:

* Breathing alternates inhale and exhale. Lung volume follows the current phase with a
  first-order lag, so it stays continuous whenever a phase switches, even on a cue.
* Instantaneous heart rate = baseline + mode offset + slow drift (an Ornstein-Uhlenbeck
  random walk) + respiratory sinus arrhythmia (RSA: proportional to lung volume, so the
  heart speeds up while breathing in and slows while breathing out).
* Mayer waves: a slow swing of heart rate near 0.1 Hz (the blood-pressure rhythm), whose
  frequency wanders a little, as in people; it competes with breathing in the spectrum.
* Exertion on command (``exert``, ``rest``): heart rate climbs towards a target over
  about 20 s and settles back over about 40 s; RSA weakens as it climbs.
* Each beat-to-beat interval is 60 / heart rate plus a little white noise.
* Now and then an ectopic beat: a premature beat (20-40 % early) and a full compensatory
  pause, so the beat after it comes when the sinus rhythm would have brought it.
* The sensor now and then misses a beat (one reported interval about twice as long) or
  sees an extra one (one interval split into two short ones), and reports nothing while
  it has no skin contact.

Each source of randomness has its own generator, so the output does not depend on how
often the band asks for beats.
"""

from __future__ import annotations

import bisect
import enum
import logging
import math
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from companion.ble.resonance_curve import ResonanceCurve
from companion.cues import CueName

_LOGGER = logging.getLogger(__name__)

# First-order lag of lung volume behind the breathing phase: a 4 s inhale nearly fills.
LUNG_TIME_CONSTANT_S = 1.0
INITIAL_LUNG_VOLUME = 0.5
# Someone following cues waits this long for the next one before breathing on their own.
FOLLOW_PATIENCE_S = 12.0
REACTION_MEAN_S = 0.4
REACTION_SD_S = 0.1
REACTION_MIN_S = 0.15
REACTION_MAX_S = 1.0
# Extra beats split an interval at a point in this range; both parts are then far enough
# from the true interval that a plausible sensor glitch looks like one.
EXTRA_BEAT_SPLIT = (0.3, 0.7)
# No phase of a breath is shorter than this fraction of its mean, however jittery.
MIN_PHASE_FRACTION = 0.4
RR_FLOOR_S = 0.3
RR_CEILING_S = 2.0
RECENT_BEATS_KEPT = 32
SECONDS_PER_HOUR = 3600.0
# How quickly a new pace's resonance gain takes hold (first-order time constant).
RESONANCE_BUILD_UP_S = 10.0


class WearerMode(enum.StrEnum):
    FOLLOW_CUES = "follow_cues"
    OWN_PACE = "own_pace"
    RESTLESS = "restless"
    SPONTANEOUS = "spontaneous"  # breathing 12-20 a minute, weak RSA, ignoring cues


class BreathPhase(enum.StrEnum):
    INHALE = "inhale"
    EXHALE = "exhale"

    @property
    def opposite(self) -> BreathPhase:
        return BreathPhase.EXHALE if self is BreathPhase.INHALE else BreathPhase.INHALE


class ArtefactKind(enum.StrEnum):
    MISSED_BEAT = "missed_beat"
    EXTRA_BEAT = "extra_beat"
    ECTOPIC_BEAT = "ectopic_beat"  # the heart's own: a premature beat and its pause


# What a band with only alert levels gives for hold-end, pain, safety and the like: a strong
# buzz the wearer cannot tell apart, and no breath cue.
STRONG_BUZZ: Final = "strong"
# A str key, so anything the wearer feels (a cue, or a strong buzz) is looked up by it.
CUE_PHASES: Final[Mapping[str, BreathPhase]] = {
    CueName.BREATH_IN: BreathPhase.INHALE,
    CueName.BREATH_OUT: BreathPhase.EXHALE,
}


@dataclass(frozen=True)
class Beat:
    """One beat as the sensor reports it: the interval that ended at ``t_s``."""

    t_s: float
    rr_s: float
    hr_bpm: float  # the true instantaneous heart rate when this interval began
    artefact: ArtefactKind | None = None


@dataclass(frozen=True)
class _ModeTraits:
    breaths_per_min: float
    pace_jitter: float  # relative standard deviation of each phase's length
    inhale_fraction: float
    hr_offset_bpm: float
    rsa_scale: float
    artefact_scale: float


_TRAITS: dict[WearerMode, _ModeTraits] = {
    WearerMode.FOLLOW_CUES: _ModeTraits(11.0, 0.08, 0.4, 0.0, 1.0, 1.0),
    WearerMode.OWN_PACE: _ModeTraits(11.0, 0.08, 0.4, 0.0, 1.0, 1.0),
    WearerMode.RESTLESS: _ModeTraits(17.0, 0.25, 0.4, 12.0, 0.6, 4.0),
    # The pace is drawn per seed from SPONTANEOUS_PACE_PER_MIN unless given.
    WearerMode.SPONTANEOUS: _ModeTraits(16.0, 0.12, 0.4, 4.0, 0.3, 1.0),
}
SENSOR_ARTEFACTS = (ArtefactKind.MISSED_BEAT, ArtefactKind.EXTRA_BEAT)
SPONTANEOUS_PACE_PER_MIN = (12.0, 20.0)
MAYER_HZ = (0.085, 0.115)  # each wearer's own, drawn per seed
MAYER_WANDER_HZ = 0.02  # how far the frequency wanders around it
MAYER_WANDER_TIME_CONSTANT_S = 20.0
ECTOPIC_PREMATURITY = (0.20, 0.40)
EXERTION_RISE_S = 20.0
EXERTION_FALL_S = 40.0
# RSA fades with exertion: at this many bpm above baseline it is half as strong.
RSA_HALVED_AT_BPM = 40.0


class Wearer:
    """A person wearing the band. Feed it time in non-decreasing order."""

    def __init__(
        self,
        seed: int,
        *,
        baseline_bpm: float = 62.0,
        rsa_amplitude_bpm: float = 5.0,
        drift_bpm: float = 2.0,
        drift_time_constant_s: float = 90.0,
        rr_noise_ms: float = 8.0,
        artefact_rate: float = 0.005,
        mode: WearerMode = WearerMode.FOLLOW_CUES,
        own_pace_per_min: float | None = None,
        battery_percent: float = 100.0,
        battery_drain_per_hour: float = 1.0,
        start_s: float = 0.0,
        history_s: float = SECONDS_PER_HOUR,
        resonance: ResonanceCurve | None = None,
        mayer_amplitude_bpm: float = 1.5,
        ectopic_rate: float = 0.002,
    ) -> None:
        traits = _TRAITS[mode]
        self.mode = mode
        self._traits = traits
        self._slow_rng = random.Random(f"wearer:{seed}:slow")
        self._ectopic_rng = random.Random(f"wearer:{seed}:ectopic")
        own_pace = own_pace_per_min or traits.breaths_per_min
        if mode is WearerMode.SPONTANEOUS and own_pace_per_min is None:
            own_pace = self._slow_rng.uniform(*SPONTANEOUS_PACE_PER_MIN)
        self._pace_per_min = own_pace
        self._mayer_bpm = mayer_amplitude_bpm
        self._mayer_hz = self._slow_rng.uniform(*MAYER_HZ)
        self._mayer_offset_hz = 0.0
        self._mayer_phase = self._slow_rng.uniform(0.0, 2.0 * math.pi)
        self._ectopic_rate = ectopic_rate
        self._premature_by_s = 0.0  # the pause still owed after a premature beat
        self._exertion_target_bpm = 0.0
        self._exertion_bpm = 0.0
        self._baseline_bpm = baseline_bpm + traits.hr_offset_bpm
        self._rsa_bpm = rsa_amplitude_bpm * traits.rsa_scale
        self._drift_sd_bpm = drift_bpm
        self._drift_tau_s = drift_time_constant_s
        self._rr_noise_s = rr_noise_ms / 1000.0
        self._artefact_rate = min(1.0, artefact_rate * traits.artefact_scale)
        self._history_s = history_s
        # None: the same RSA at every pace (no baroreflex resonance).
        self._resonance = resonance
        self._resonance_gain = 1.0

        self._breath_rng = random.Random(f"wearer:{seed}:breath")
        self._heart_rng = random.Random(f"wearer:{seed}:heart")
        self._sensor_rng = random.Random(f"wearer:{seed}:sensor")
        self._cue_rng = random.Random(f"wearer:{seed}:cue")

        # Breathing: every switch of phase with the lung volume (0..1) at that moment, and the
        # next switch the wearer would make on their own.
        self._phase = BreathPhase.EXHALE
        self._horizon_s = start_s
        self._switch_times: list[float] = [start_s]
        self._switch_phases: list[BreathPhase] = [BreathPhase.EXHALE]
        self._switch_volumes: list[float] = [INITIAL_LUNG_VOLUME]
        self._next_switch_s = start_s + self._own_phase_length(BreathPhase.EXHALE)

        # Heart: time of the last true beat, the next interval once drawn, the drift state.
        self._last_beat_s = start_s
        self._next_rr_s: float | None = None
        self._next_hr_bpm = self._baseline_bpm
        self._drift_bpm = 0.0
        self._true_beats: deque[tuple[float, float]] = deque()
        self._carried_rr_s: float | None = None
        self._recent: deque[Beat] = deque(maxlen=RECENT_BEATS_KEPT)

        self._contact = True
        self._battery = float(battery_percent)
        self._battery_drain_per_s = battery_drain_per_hour / SECONDS_PER_HOUR
        self._battery_at_s = start_s

    # --- what the band sets and reads -----------------------------------------------------

    @property
    def contact(self) -> bool:
        return self._contact

    @contact.setter
    def contact(self, value: bool) -> None:
        if not value:
            # Whatever the sensor half-saw before losing the skin is gone.
            self._carried_rr_s = None
            self._recent.clear()
        self._contact = value

    @property
    def battery_percent(self) -> int:
        return max(0, min(100, math.ceil(self._battery)))

    @battery_percent.setter
    def battery_percent(self, value: float) -> None:
        self._battery = max(0.0, min(100.0, float(value)))

    def exert(self, target_bpm: float) -> None:
        """Start exerting: the heart climbs towards ``target_bpm`` over about 20 s."""
        if not 30.0 <= target_bpm <= 220.0:
            raise ValueError(f"a heart rate of {target_bpm:g} bpm is out of range (30-220)")
        self._exertion_target_bpm = max(0.0, target_bpm - self._baseline_bpm)

    def rest(self) -> None:
        """Stop exerting: the heart settles back over about 40 s."""
        self._exertion_target_bpm = 0.0

    @property
    def exerting(self) -> bool:
        return self._exertion_target_bpm > 0.0

    def heart_rate_bpm(self, window_beats: int = 5) -> float:
        """The heart rate a band would display: from the last reported beats, else the truth."""
        recent = list(self._recent)[-window_beats:] if window_beats > 0 else []
        if not recent:
            return self._next_hr_bpm
        return 60.0 / (sum(beat.rr_s for beat in recent) / len(recent))

    def feel_cue(self, now_s: float, felt: CueName | Literal["strong"]) -> None:
        """The band vibrated; a wearer who follows cues changes breath after a short reaction."""
        phase = CUE_PHASES.get(felt)
        if phase is None or self.mode is not WearerMode.FOLLOW_CUES:
            _LOGGER.debug("wearer ignores cue %s at %.2f s", felt, now_s)
            return
        reaction = _gauss_clipped(
            self._cue_rng, REACTION_MEAN_S, REACTION_SD_S, REACTION_MIN_S, REACTION_MAX_S
        )
        # Breathing up to the horizon is settled (beats were made from it); a late cue acts now.
        at = max(now_s + reaction, self._horizon_s)
        self._advance_breathing(at)
        if phase is self._phase:
            self._next_switch_s = at + FOLLOW_PATIENCE_S
        else:
            self._switch(at, phase, cued=True)

    def beats_until(self, now_s: float) -> list[Beat]:
        """Every beat the sensor reports from the previous call up to ``now_s``."""
        self._advance_breathing(now_s)
        self._drain_battery(now_s)
        reported: list[Beat] = []
        while True:
            if self._next_rr_s is None:
                self._draw_next_interval()
            assert self._next_rr_s is not None
            beat_s = self._last_beat_s + self._next_rr_s
            if beat_s > now_s:
                break
            reported.extend(self._sense(beat_s, self._next_rr_s, self._next_hr_bpm))
            self._true_beats.append((beat_s, self._next_rr_s))
            self._last_beat_s = beat_s
            self._next_rr_s = None
        self._forget_before(now_s - self._history_s)
        self._recent.extend(reported)
        return reported

    # --- truth, for checks ------------------------------------------------------------------

    def breath_phase_at(self, t_s: float) -> BreathPhase:
        """The phase at ``t_s``; beyond the latest time the wearer was told about, a guess."""
        index = bisect.bisect_right(self._switch_times, t_s) - 1
        return self._switch_phases[max(0, index)]

    def inhale_starts(self, t0_s: float, t1_s: float) -> list[float]:
        return [
            t
            for t, phase in zip(self._switch_times, self._switch_phases, strict=True)
            if phase is BreathPhase.INHALE and t0_s <= t <= t1_s
        ]

    def breathing_rate_truth(self, t0_s: float, t1_s: float) -> float | None:
        """Breaths a minute over the whole breaths between the first and last inhale in range."""
        starts = self.inhale_starts(t0_s, t1_s)
        if len(starts) < 2:
            return None
        return 60.0 * (len(starts) - 1) / (starts[-1] - starts[0])

    def true_rr_s(self, t0_s: float, t1_s: float) -> list[float]:
        """The artefact-free intervals of the beats that fell in (t0_s, t1_s]."""
        return [rr for t, rr in self._true_beats if t0_s < t <= t1_s]

    # --- breathing --------------------------------------------------------------------------

    def _own_phase_length(self, phase: BreathPhase) -> float:
        cycle_s = 60.0 / self._pace_per_min
        share = self._traits.inhale_fraction
        mean_s = cycle_s * (share if phase is BreathPhase.INHALE else 1.0 - share)
        factor = max(MIN_PHASE_FRACTION, 1.0 + self._traits.pace_jitter * self._breath_rng.gauss())
        return mean_s * factor

    def _lung_volume(self, t_s: float) -> float:
        # From the switch in force at t_s: breathing may already be settled beyond it.
        index = max(0, bisect.bisect_right(self._switch_times, t_s) - 1)
        target = 1.0 if self._switch_phases[index] is BreathPhase.INHALE else 0.0
        elapsed = max(0.0, t_s - self._switch_times[index])
        decay = math.exp(-elapsed / LUNG_TIME_CONSTANT_S)
        return target + (self._switch_volumes[index] - target) * decay

    def _switch(self, at_s: float, phase: BreathPhase, *, cued: bool) -> None:
        volume = self._lung_volume(at_s)
        self._phase = phase
        self._switch_times.append(at_s)
        self._switch_phases.append(phase)
        self._switch_volumes.append(volume)
        if cued:
            self._next_switch_s = at_s + FOLLOW_PATIENCE_S
        else:
            self._next_switch_s = at_s + self._own_phase_length(phase)

    def _advance_breathing(self, t_s: float) -> None:
        while self._next_switch_s <= t_s:
            self._switch(self._next_switch_s, self._phase.opposite, cued=False)
        self._horizon_s = max(self._horizon_s, t_s)

    # --- heart and sensor -------------------------------------------------------------------

    def _draw_next_interval(self) -> None:
        t_s = self._last_beat_s
        previous_rr = self._true_beats[-1][1] if self._true_beats else 60.0 / self._baseline_bpm
        # Ornstein-Uhlenbeck step: mean-reverting, with stationary spread drift_sd.
        keep = math.exp(-previous_rr / self._drift_tau_s)
        spread = self._drift_sd_bpm * math.sqrt(1.0 - keep * keep)
        self._drift_bpm = self._drift_bpm * keep + spread * self._heart_rng.gauss()
        rsa = self._rsa_bpm * (2.0 * self._lung_volume(t_s) - 1.0)
        rsa *= self._resonance_gain_at(t_s, previous_rr)
        exertion = self._exertion_step(previous_rr)
        rsa /= 1.0 + exertion / RSA_HALVED_AT_BPM
        hr = self._baseline_bpm + self._drift_bpm + rsa + exertion + self._mayer_step(previous_rr)
        rr = 60.0 / hr + self._rr_noise_s * self._heart_rng.gauss()
        self._next_hr_bpm = hr
        self._next_rr_s = min(RR_CEILING_S, max(RR_FLOOR_S, rr))

    def _resonance_gain_at(self, t_s: float, step_s: float) -> float:
        """The RSA gain of the pace breathed over the last whole breath, reached gradually
        (the resonance builds up over a few breaths, it does not switch)."""
        if self._resonance is None:
            return 1.0
        index = bisect.bisect_right(self._switch_times, t_s) - 1
        cycle_s = self._switch_times[index] - self._switch_times[index - 2] if index >= 2 else 0.0
        pace = 60.0 / cycle_s if cycle_s > 0 else self._pace_per_min
        settle = 1.0 - math.exp(-step_s / RESONANCE_BUILD_UP_S)
        target = self._resonance.gain(pace)
        self._resonance_gain += (target - self._resonance_gain) * settle
        return self._resonance_gain

    def _exertion_step(self, step_s: float) -> float:
        target = self._exertion_target_bpm
        tau = EXERTION_RISE_S if target > self._exertion_bpm else EXERTION_FALL_S
        self._exertion_bpm += (target - self._exertion_bpm) * (1.0 - math.exp(-step_s / tau))
        return self._exertion_bpm

    def _mayer_step(self, step_s: float) -> float:
        """The Mayer wave's contribution now; its frequency wanders (Ornstein-Uhlenbeck)."""
        if self._mayer_bpm <= 0.0:
            return 0.0
        keep = math.exp(-step_s / MAYER_WANDER_TIME_CONSTANT_S)
        spread = MAYER_WANDER_HZ * math.sqrt(1.0 - keep * keep)
        self._mayer_offset_hz = self._mayer_offset_hz * keep + spread * self._slow_rng.gauss()
        self._mayer_phase += 2.0 * math.pi * (self._mayer_hz + self._mayer_offset_hz) * step_s
        return self._mayer_bpm * math.sin(self._mayer_phase)

    def _heart_beat(self, beat_s: float, rr_s: float) -> tuple[float, float, bool]:
        """The beat as the heart made it: (time, interval, ectopic?). A premature beat comes
        early; the next beat keeps the sinus rhythm's time, so its interval is longer."""
        if self._premature_by_s > 0.0:
            owed, self._premature_by_s = self._premature_by_s, 0.0
            return beat_s, rr_s + owed, True
        if self._ectopic_rng.random() < self._ectopic_rate:
            early = rr_s * self._ectopic_rng.uniform(*ECTOPIC_PREMATURITY)
            self._premature_by_s = early
            return beat_s - early, rr_s - early, True
        return beat_s, rr_s, False

    def _sense(self, beat_s: float, rr_s: float, hr_bpm: float) -> list[Beat]:
        glitch = self._sensor_rng.random() < self._artefact_rate
        kind = self._sensor_rng.choice(SENSOR_ARTEFACTS) if glitch else None
        split = self._sensor_rng.uniform(*EXTRA_BEAT_SPLIT) if glitch else 0.0
        beat_s, rr_s, ectopic = self._heart_beat(beat_s, rr_s)
        if not self._contact:
            return []
        if ectopic and kind is None and self._carried_rr_s is None:
            return [Beat(beat_s, rr_s, hr_bpm, ArtefactKind.ECTOPIC_BEAT)]
        if self._carried_rr_s is not None:
            merged = self._carried_rr_s + rr_s
            self._carried_rr_s = None
            return [Beat(beat_s, merged, hr_bpm, ArtefactKind.MISSED_BEAT)]
        if kind is ArtefactKind.MISSED_BEAT:
            self._carried_rr_s = rr_s
            return []
        if kind is ArtefactKind.EXTRA_BEAT:
            first = rr_s * split
            return [
                Beat(beat_s - rr_s + first, first, hr_bpm, ArtefactKind.EXTRA_BEAT),
                Beat(beat_s, rr_s - first, hr_bpm, ArtefactKind.EXTRA_BEAT),
            ]
        return [Beat(beat_s, rr_s, hr_bpm)]

    def _drain_battery(self, now_s: float) -> None:
        elapsed = max(0.0, now_s - self._battery_at_s)
        self._battery = max(0.0, self._battery - elapsed * self._battery_drain_per_s)
        self._battery_at_s = max(self._battery_at_s, now_s)

    def _forget_before(self, t_s: float) -> None:
        while self._true_beats and self._true_beats[0][0] < t_s:
            self._true_beats.popleft()
        # Keep the switch in force at t_s so the phase there is still known.
        cut = bisect.bisect_right(self._switch_times, t_s) - 1
        if cut > 0:
            del self._switch_times[:cut]
            del self._switch_phases[:cut]
            del self._switch_volumes[:cut]


def _gauss_clipped(rng: random.Random, mean: float, sd: float, low: float, high: float) -> float:
    return min(high, max(low, rng.gauss(mean, sd)))
