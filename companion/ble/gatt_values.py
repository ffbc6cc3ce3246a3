"""Small standard GATT values: the battery level.

A pure decoder: a value that cannot be meant as written raises MalformedPacketError.
"""

from __future__ import annotations

from typing import Final

from companion.errors import MalformedPacketError

BATTERY_LEVEL_NAME: Final = "Battery Level (0x2A19)"

# Battery Service 1.0, 3.1: a percentage; 101-255 are reserved.
BATTERY_LEVEL_MAX_PERCENT: Final = 100
UINT8_SIZE: Final = 1


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
