"""The battery level."""

from __future__ import annotations

import pytest

from companion.ble.gatt_values import BATTERY_LEVEL_NAME, decode_battery_level
from companion.errors import MalformedPacketError

try:  # tests/ is not a package today; this keeps working if it becomes one
    from tests.data import ble_vectors as v
except ModuleNotFoundError:
    from data import ble_vectors as v


@pytest.mark.parametrize(
    ("data", "percent"), [(v.BATTERY_FULL, 100), (v.BATTERY_EMPTY, 0), (bytearray(b"\x2a"), 42)]
)
def test_battery_level_decodes_the_percentage(data: bytes, percent: int) -> None:
    assert decode_battery_level(data) == percent


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (v.BATTERY_ABOVE_100, "101 is above 100 percent"),
        (v.BATTERY_NO_BYTES, "expected exactly 1 byte, got 0"),
        (v.BATTERY_TWO_BYTES, "expected exactly 1 byte, got 2"),
    ],
)
def test_battery_level_outside_one_byte_of_0_to_100_is_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacketError) as caught:
        decode_battery_level(data)
    assert (caught.value.characteristic, caught.value.reason, caught.value.data) == (
        BATTERY_LEVEL_NAME,
        reason,
        data,
    )
