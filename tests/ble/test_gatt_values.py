"""Battery level, body sensor location and Device Information strings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.ble import uuids
from companion.ble.gatt_values import (
    BATTERY_LEVEL_NAME,
    BODY_SENSOR_LOCATION_NAME,
    BodySensorLocation,
    BodySensorLocationReading,
    DeviceInformation,
    decode_battery_level,
    decode_body_sensor_location,
    decode_utf8_string,
)
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


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (v.SENSOR_LOCATION_WRIST, BodySensorLocationReading(BodySensorLocation.WRIST, 2)),
        (bytes([6]), BodySensorLocationReading(BodySensorLocation.FOOT, 6)),
        (v.SENSOR_LOCATION_UNKNOWN_7, BodySensorLocationReading(BodySensorLocation.OTHER, 7)),
        (bytes([0xFF]), BodySensorLocationReading(BodySensorLocation.OTHER, 0xFF)),
    ],
)
def test_body_sensor_location_maps_unknown_values_to_other_keeping_the_raw_value(
    data: bytes, expected: BodySensorLocationReading
) -> None:
    assert decode_body_sensor_location(data) == expected


@pytest.mark.parametrize("data", [v.SENSOR_LOCATION_NO_BYTES, v.SENSOR_LOCATION_TWO_BYTES])
def test_body_sensor_location_of_other_than_one_byte_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedPacketError) as caught:
        decode_body_sensor_location(data)
    assert (caught.value.characteristic, caught.value.data) == (BODY_SENSOR_LOCATION_NAME, data)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (v.DIS_NUL_PADDED, "InfiniTime"),
        (v.DIS_PLAIN, "1.14.0"),
        (v.DIS_UTF8, "Café"),
        (v.DIS_INVALID_UTF8, "ab\ufffd\ufffdcd"),
        (v.DIS_EMPTY, ""),
        (b"a\x00b\x00", "a\x00b"),
    ],
)
def test_device_information_strings_drop_trailing_nuls_and_replace_bad_utf8(
    data: bytes, text: str
) -> None:
    assert decode_utf8_string(data) == text


@given(st.binary(max_size=64))
def test_device_information_strings_never_raise(data: bytes) -> None:
    assert isinstance(decode_utf8_string(data), str)


def test_device_information_collects_the_strings_by_uuid_and_ignores_other_keys() -> None:
    values = {
        uuids.MANUFACTURER_NAME_STRING: b"Pine64\x00",
        "2a24": b"PineTime",
        "0x2A26": b"1.14.0",
        uuids.BATTERY_LEVEL: b"\x50",
        "not a uuid": b"x",
    }
    assert DeviceInformation.from_values(values) == DeviceInformation(
        manufacturer_name="Pine64", model_number="PineTime", firmware_revision="1.14.0"
    )
