"""Artefacts injected into clean RR series, with the truth of where each one went.

Three kinds, as a wrist or chest sensor produces them:

* **ectopic**: a premature beat, ``prematurity`` (20-40 %) early, then a compensatory
  pause, so the two intervals around it add up to the two they replace;
* **missed**: a beat not detected, two intervals reported as one;
* **extra**: a spurious beat splitting one interval at 30-70 %.

Events are placed at random, at least ``MIN_GAP`` intervals apart, from a seed.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass

MIN_GAP = 8
PREMATURITY = (0.20, 0.40)
EXTRA_SPLIT = (0.3, 0.7)


class Kind(enum.StrEnum):
    ECTOPIC = "ectopic"
    MISSED = "missed"
    EXTRA = "extra"


@dataclass(frozen=True)
class Injected:
    rr_ms: tuple[float, ...]
    events: tuple[tuple[Kind, tuple[int, ...]], ...]  # each event's intervals in rr_ms

    @property
    def artefact_indices(self) -> frozenset[int]:
        return frozenset(i for _, where in self.events for i in where)

    def caught(self, kept_indices: Sequence[int], kind: Kind) -> tuple[int, int]:
        """(events of ``kind`` whose every interval was rejected, events of ``kind``)."""
        kept = set(kept_indices)
        mine = [where for k, where in self.events if k is kind]
        return sum(1 for where in mine if not kept.intersection(where)), len(mine)

    def good_lost(self, kept_indices: Sequence[int]) -> int:
        """Intervals that were not artefacts and were rejected all the same."""
        kept = set(kept_indices)
        bad = self.artefact_indices
        return sum(1 for i in range(len(self.rr_ms)) if i not in kept and i not in bad)


def inject(
    clean_rr_ms: Sequence[float],
    rate: float,
    seed: int,
    kinds: Sequence[Kind] = tuple(Kind),
    prematurity: tuple[float, float] = PREMATURITY,
) -> Injected:
    """About ``rate`` events per interval of ``clean_rr_ms``, kinds drawn evenly."""
    rng = random.Random(f"artefacts:{seed}")
    count = max(1, round(rate * len(clean_rr_ms)))
    slots = list(range(MIN_GAP, len(clean_rr_ms) - MIN_GAP, MIN_GAP))
    chosen = sorted(rng.sample(slots, min(count, len(slots))))
    out: list[float] = []
    events: list[tuple[Kind, tuple[int, ...]]] = []
    source = list(clean_rr_ms)
    i = 0
    for at in chosen:
        out.extend(source[i:at])
        kind = rng.choice(list(kinds))
        here = len(out)
        a, b = source[at], source[at + 1]
        if kind is Kind.ECTOPIC:
            early = a * rng.uniform(*prematurity)
            out.extend([a - early, b + early])
            events.append((kind, (here, here + 1)))
        elif kind is Kind.MISSED:
            out.append(a + b)
            events.append((kind, (here,)))
        else:
            first = a * rng.uniform(*EXTRA_SPLIT)
            out.extend([first, a - first, b])
            events.append((kind, (here, here + 1)))
        i = at + 2
    out.extend(source[i:])
    return Injected(tuple(out), tuple(events))
