"""How long to wait before trying again after consecutive failures: one policy, pure.

The band link's reconnects (``companion.ble.backoff``) and the recorder's store retries
both wait by it: the first delay, doubled after each further failure, up to a cap.
"""

from __future__ import annotations

from dataclasses import dataclass

# Past this many doublings every delay is at its cap; stopping here keeps the arithmetic
# finite however long a failure lasts (2.0 ** 1024 overflows).
_MAX_DOUBLINGS = 64


@dataclass(frozen=True)
class Backoff:
    first_s: float
    max_s: float

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th consecutive failure (1-based)."""
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        return min(self.max_s, self.first_s * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
