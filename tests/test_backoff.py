"""The one backoff policy: doubling from the first delay up to a cap, for link and store."""

from __future__ import annotations

import pytest

from companion.backoff import Backoff
from companion.ble.backoff import reconnect_delay
from companion.errors import DeviceNotFoundError


@pytest.mark.parametrize(
    ("attempt", "delay_s"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0), (5_000, 8.0)],
)
def test_delays_double_up_to_the_cap_however_long_the_failure_lasts(
    attempt: int, delay_s: float
) -> None:
    assert Backoff(first_s=0.5, max_s=8.0).delay_s(attempt) == delay_s


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="counts from 1"):
        Backoff(first_s=0.5, max_s=8.0).delay_s(0)


@pytest.mark.parametrize(
    ("error", "attempt", "delay_s"),
    [
        (TimeoutError(), 1, 0.5),
        (DeviceNotFoundError("band"), 1, 1.0),  # a band not advertising: no quicker than 1 s
        (DeviceNotFoundError("band"), 4, 4.0),
        (OSError(), 2_000, 8.0),
    ],
)
def test_the_band_reconnects_by_the_same_policy(
    error: BaseException, attempt: int, delay_s: float
) -> None:
    assert reconnect_delay(error, attempt) == delay_s
