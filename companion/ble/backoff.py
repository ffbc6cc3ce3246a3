"""How long to wait before trying to reach the band again: a pure function of the failure."""

from __future__ import annotations

from companion.backoff import Backoff
from companion.errors import DeviceNotFoundError

RECONNECT = Backoff(first_s=0.5, max_s=8.0)
# A band that is not advertising will not appear sooner for being asked often.
NOT_FOUND_MIN_DELAY_S = 1.0


def reconnect_delay(error: BaseException, attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th consecutive failure (1-based)."""
    delay = RECONNECT.delay_s(attempt)
    if isinstance(error, DeviceNotFoundError):
        delay = max(delay, NOT_FOUND_MIN_DELAY_S)
    return delay
