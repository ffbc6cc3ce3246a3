"""Small standard GATT values: battery level, body sensor location, device information.

Pure decoders. A value that cannot be meant as written raises MalformedPacketError; text
never raises, because a garbled model name is still worth showing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from companion.ble import uuids
from companion.errors import MalformedPacketError

BATTERY_LEVEL_NAME: Final = "Battery Level (0x2A19)"
BODY_SENSOR_LOCATION_NAME: Final = "Body Sensor Location (0x2A38)"

# Battery Service 1.0, 3.1: a percentage; 101-255 are reserved.
BATTERY_LEVEL_MAX_PERCENT: Final = 100
UINT8_SIZE: Final = 1
_NUL: Final = b"\x00"


def decode_battery_level(data: bytes | bytearray | memoryview) -> int:
    """Battery level in percent (0..100)."""
    raw = bytes(data)
    if len(raw) != UINT8_SIZE:
        raise MalformedPacketError(
            BATTERY_LEVEL_NAME, f"expected exactly 1 byte, got {len(raw)}", raw
        )
    level = raw[0]
    if level > BATTERY_LEVEL_MAX_PERCENT:
        raise MalformedPacketError(
            BATTERY_LEVEL_NAME, f"{level} is above {BATTERY_LEVEL_MAX_PERCENT} percent", raw
        )
    return level


class BodySensorLocation(enum.IntEnum):
    """Heart Rate Service 1.0, 3.2.1."""

    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6


@dataclass(frozen=True)
class BodySensorLocationReading:
    """Where the sensor sits; ``raw`` keeps a value newer than our table (shown as OTHER)."""

    location: BodySensorLocation
    raw: int


def decode_body_sensor_location(data: bytes | bytearray | memoryview) -> BodySensorLocationReading:
    raw = bytes(data)
    if len(raw) != UINT8_SIZE:
        raise MalformedPacketError(
            BODY_SENSOR_LOCATION_NAME, f"expected exactly 1 byte, got {len(raw)}", raw
        )
    value = raw[0]
    try:
        location = BodySensorLocation(value)
    except ValueError:
        location = BodySensorLocation.OTHER
    return BodySensorLocationReading(location=location, raw=value)


def decode_utf8_string(data: bytes | bytearray | memoryview) -> str:
    """A Device Information string: trailing NUL padding dropped, bad UTF-8 replaced."""
    return bytes(data).rstrip(_NUL).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class DeviceInformation:
    """What the Device Information Service (0x180A) told us; None where it had nothing."""

    manufacturer_name: str | None = None
    model_number: str | None = None
    serial_number: str | None = None
    hardware_revision: str | None = None
    firmware_revision: str | None = None
    software_revision: str | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, bytes | bytearray | memoryview]) -> DeviceInformation:
        """Build from raw characteristic values keyed by UUID (any form ``normalize_uuid`` takes).

        Keys that are not Device Information strings are ignored.
        """
        fields: dict[str, str] = {}
        for key, value in values.items():
            try:
                uuid = uuids.normalize_uuid(key)
            except ValueError:
                continue
            field_name = DEVICE_INFORMATION_FIELDS.get(uuid)
            if field_name is not None:
                fields[field_name] = decode_utf8_string(value)
        return cls(**fields)


DEVICE_INFORMATION_FIELDS: Final[Mapping[str, str]] = {
    uuids.MANUFACTURER_NAME_STRING: "manufacturer_name",
    uuids.MODEL_NUMBER_STRING: "model_number",
    uuids.SERIAL_NUMBER_STRING: "serial_number",
    uuids.HARDWARE_REVISION_STRING: "hardware_revision",
    uuids.FIRMWARE_REVISION_STRING: "firmware_revision",
    uuids.SOFTWARE_REVISION_STRING: "software_revision",
}
