"""A simulated wearer's baroreflex resonance: how much the heart swings at each breathing pace.

Breathing slowly at about six a minute drives heart rate and blood pressure into a
resonance of the baroreflex loop: the heart-rate swing (respiratory sinus arrhythmia)
is largest at one pace, different for each person (usually 4.5-7 a minute), and smaller
either side (Vaschillo, Lehrer, Rishe & Konstantinov 2002, "Heart rate variability
biofeedback as a method for assessing baroreflex function", Appl Psychophysiol
Biofeedback 27(1):1-27; Vaschillo, Vaschillo & Lehrer 2006, "Characteristics of resonance
in heart rate variability stimulated by biofeedback", same journal 31(2):129-142). Their
curves of heart-rate amplitude against breathing frequency rise to a single peak near
0.1 Hz, two to three times the amplitude far from it.

The model is the magnitude of a second-order band-pass filter centred on the person's
resonance pace, scaled so the swing far from resonance is the wearer's usual RSA and the
swing at resonance is ``1 + boost`` times it. It is a shape chosen to look like those
curves, not fitted to them. Pure; the wearer (``companion.ble.wearer``) multiplies its RSA
by ``ResonanceCurve.gain`` at the pace it is breathing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from companion.cues import CueName

# The peak's sharpness: the band-pass quality factor. At 3, a pace one breath a minute
# from a 5.5 resonance keeps about 80 % of the peak swing, a pace at 12 a minute about 40 %.
DEFAULT_QUALITY = 3.0
# At resonance the swing is (1 + boost) times the swing far from it.
DEFAULT_BOOST = 2.0


@dataclass(frozen=True)
class ResonanceCurve:
    """RSA gain by breathing pace, peaking at ``resonance_per_min``."""

    resonance_per_min: float
    quality: float = DEFAULT_QUALITY
    boost: float = DEFAULT_BOOST

    def __post_init__(self) -> None:
        for name in ("resonance_per_min", "quality"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        if not math.isfinite(self.boost) or self.boost < 0:
            raise ValueError(f"boost must be zero or more, not {self.boost!r}")

    def band_pass(self, pace_per_min: float) -> float:
        """The band-pass magnitude, 1 at resonance and towards 0 far from it."""
        if pace_per_min <= 0 or not math.isfinite(pace_per_min):
            return 0.0
        ratio = pace_per_min / self.resonance_per_min
        detuning = self.quality * (ratio - 1.0 / ratio)
        return 1.0 / math.sqrt(1.0 + detuning * detuning)

    def gain(self, pace_per_min: float) -> float:
        """How many times the wearer's usual RSA the heart swings at this pace."""
        return 1.0 + self.boost * self.band_pass(pace_per_min)


class _CueFollower(Protocol):
    def feel_cue(self, now_s: float, felt: CueName) -> None: ...

    def beats_until(self, now_s: float) -> Sequence[_Beat]: ...


class _Beat(Protocol):
    @property
    def t_s(self) -> float: ...

    @property
    def rr_s(self) -> float: ...


def beats_following(
    wearer: _CueFollower, cues: Iterable[tuple[float, CueName]], until_s: float
) -> tuple[list[float], list[float]]:
    """Beat times (s) and RR intervals (ms) of a wearer who feels ``cues`` ((time, name),
    in time order) and is followed to ``until_s``: a routine on virtual time, for tests and
    benches, with no band or radio in between."""
    times: list[float] = []
    rr_ms: list[float] = []
    for at_s, name in [*cues, (until_s, None)]:
        for beat in wearer.beats_until(at_s):
            times.append(beat.t_s)
            rr_ms.append(beat.rr_s * 1000.0)
        if name is not None:
            wearer.feel_cue(at_s, name)
    return times, rr_ms


# The virtual band's wearer: resonance at 5.5 a minute, so `companion session --simulate
# --routine resonance` has a known answer to find.
SIMULATED_RESONANCE = ResonanceCurve(5.5)
