"""Where a session's heart-rate record has holes, and why. Pure: plain values in and out.

A heart-rate value is live for ``STALE_AFTER_S`` (3 s) after it arrived. Wherever two
worn samples (heart rate above 0, contact not reported off) are further apart than that,
or the session's start or end is, the record has a gap. Its reason, by what explains it:

* ``link-lost``: the band's link was reported lost at some point of the gap, or was
  still lost when it began;
* ``no-contact``: the band kept sending but said it was off the skin (or sent 0 bpm);
* ``no-samples``: nothing at all arrived.

Offsets are seconds from the session's start.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

STALE_AFTER_S = 3.0
LINK_LOST = "lost"
LINK_UP = ("connected", "reconnected")


class GapReason(enum.StrEnum):
    LINK_LOST = "link-lost"
    NO_CONTACT = "no-contact"
    NO_SAMPLES = "no-samples"


@dataclass(frozen=True, slots=True)
class Gap:
    start_s: float
    end_s: float
    reason: GapReason


@dataclass(frozen=True, slots=True)
class SamplePoint:
    t: float  # wall seconds, as stored
    hr: int
    contact: bool | None

    @property
    def worn(self) -> bool:
        return self.hr > 0 and self.contact is not False


def find_gaps(
    started_at: float,
    ended_at: float | None,
    samples: Sequence[SamplePoint],
    link_events: Sequence[tuple[float, str]],
) -> list[Gap]:
    """The gaps of a session, oldest first. ``samples`` and ``link_events`` ((wall time,
    state)) must be in time order; a session still running ends at its last sample."""
    end = ended_at if ended_at is not None else (samples[-1].t if samples else started_at)
    worn = [s.t for s in samples if s.worn and started_at <= s.t <= end]
    edges = [started_at, *worn, end]
    gaps: list[Gap] = []
    for left, right in itertools.pairwise(edges):
        if right - left <= STALE_AFTER_S:
            continue
        gaps.append(
            Gap(
                start_s=round(left - started_at, 3),
                end_s=round(right - started_at, 3),
                reason=_reason(left, right, samples, link_events),
            )
        )
    return gaps


def _reason(
    left: float,
    right: float,
    samples: Sequence[SamplePoint],
    link_events: Sequence[tuple[float, str]],
) -> GapReason:
    lost_before = False
    for t, state in link_events:
        if t > right:
            break
        if t < left:
            lost_before = state == LINK_LOST if state in (LINK_LOST, *LINK_UP) else lost_before
        elif state == LINK_LOST:
            return GapReason.LINK_LOST
    if lost_before:
        return GapReason.LINK_LOST
    if any(left < s.t < right and not s.worn for s in samples):
        return GapReason.NO_CONTACT
    return GapReason.NO_SAMPLES
