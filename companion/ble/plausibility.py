"""Which heart figures a band sends can be real: a pure screen between the codec and the bus.

A packet can be well formed and still impossible: 0 or 65535 bpm, or a 64 s gap between
beats. Such values are never published as readings (and so never stored or shown); they
are counted as dropped with the reason. The ranges are generous on purpose: a trained
athlete asleep can sit near 30 bpm and nobody doing gentle exercises in bed goes near
the top. Telling a *plausible* but wrong beat (a missed or ectopic beat) from a real one
is the RR cleaning's job in ``companion.heart.physiology``, not this screen's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

HEART_RATE_MIN_BPM: Final = 20
HEART_RATE_MAX_BPM: Final = 250
# The same span as beat-to-beat intervals: 60 000 / 250 = 240 ms, 60 000 / 20 = 3000 ms.
RR_MIN_MS: Final = 240.0
RR_MAX_MS: Final = 3000.0


@dataclass(frozen=True)
class Screened:
    """What may be published (``hr`` None: nothing) and why anything was left out."""

    hr: int | None
    rr_ms: tuple[float, ...]
    problems: tuple[str, ...]


def screen(hr: int, rr_ms: tuple[float, ...]) -> Screened:
    problems: list[str] = []
    plausible_hr: int | None = hr
    if not HEART_RATE_MIN_BPM <= hr <= HEART_RATE_MAX_BPM:
        plausible_hr = None
        problems.append(
            f"heart rate {hr} bpm outside {HEART_RATE_MIN_BPM}-{HEART_RATE_MAX_BPM} bpm"
        )
    kept = tuple(rr for rr in rr_ms if RR_MIN_MS <= rr <= RR_MAX_MS)
    if len(kept) < len(rr_ms):
        removed = ", ".join(f"{rr:.0f}" for rr in rr_ms if rr not in kept)
        problems.append(f"RR {removed} ms outside {RR_MIN_MS:.0f}-{RR_MAX_MS:.0f} ms")
    return Screened(hr=plausible_hr, rr_ms=kept, problems=tuple(problems))
