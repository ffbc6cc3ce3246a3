"""How long to wait before trying to reach the band again: a pure function of the failure."""

from __future__ import annotations

from companion.errors import DeviceNotFoundError

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 8.0
# A band that is not advertising will not appear sooner for being asked often.
NOT_FOUND_MIN_DELAY_S = 1.0


def reconnect_delay(error: BaseException, attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th consecutive failure (1-based)."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2.0 ** (attempt - 1))
    if isinstance(error, DeviceNotFoundError):
        delay = max(delay, NOT_FOUND_MIN_DELAY_S)
    return delay
