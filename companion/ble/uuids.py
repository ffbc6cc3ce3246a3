"""Every GATT UUID the companion uses, spelled the way bleak reports them.

bleak gives full 128-bit UUIDs in lowercase, so every constant here is in that form and
``normalize_uuid`` turns the short forms people write (``"180d"``, ``"0x2A37"``) into it.
"""

from __future__ import annotations

import re
from typing import Final

# Bluetooth Core Spec, Vol 3 Part B 2.5.1: 16- and 32-bit UUIDs are offsets into this base.
_SIG_BASE_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"
_SHORT_UUID_HEX_DIGITS: Final = (4, 8)
_FULL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX: Final = re.compile(r"[0-9a-f]+")


def sig_uuid(short: int) -> str:
    """The full UUID of a Bluetooth SIG assigned number (e.g. 0x180D)."""
    if not 0 <= short <= 0xFFFFFFFF:
        raise ValueError(f"a SIG UUID is a 16- or 32-bit number, not {short:#x}")
    return f"{short:08x}{_SIG_BASE_SUFFIX}"


def normalize_uuid(text: str) -> str:
    """Full lowercase 128-bit form of ``text``: 16-bit, 32-bit (``0x`` optional) or full.

    Raises ValueError for anything else, so a typo in a profile is caught at load time.
    """
    cleaned = text.strip().lower()
    if cleaned.startswith("0x"):
        cleaned = cleaned[2:]
    if len(cleaned) in _SHORT_UUID_HEX_DIGITS and _HEX.fullmatch(cleaned):
        return sig_uuid(int(cleaned, 16))
    if _FULL_UUID.fullmatch(cleaned):
        return cleaned
    raise ValueError(
        f"{text!r} is not a UUID; write a 16-bit one like '180d' "
        "or a full one like '6e400001-b5a3-f393-e0a9-e50e24dcca9e'"
    )


# --- Bluetooth SIG services and characteristics ------------------------------------------

HEART_RATE_SERVICE: Final = sig_uuid(0x180D)
HEART_RATE_MEASUREMENT: Final = sig_uuid(0x2A37)
BODY_SENSOR_LOCATION: Final = sig_uuid(0x2A38)
HEART_RATE_CONTROL_POINT: Final = sig_uuid(0x2A39)

BATTERY_SERVICE: Final = sig_uuid(0x180F)
BATTERY_LEVEL: Final = sig_uuid(0x2A19)

DEVICE_INFORMATION_SERVICE: Final = sig_uuid(0x180A)
MANUFACTURER_NAME_STRING: Final = sig_uuid(0x2A29)
MODEL_NUMBER_STRING: Final = sig_uuid(0x2A24)
SERIAL_NUMBER_STRING: Final = sig_uuid(0x2A25)
FIRMWARE_REVISION_STRING: Final = sig_uuid(0x2A26)
HARDWARE_REVISION_STRING: Final = sig_uuid(0x2A27)
SOFTWARE_REVISION_STRING: Final = sig_uuid(0x2A28)

IMMEDIATE_ALERT_SERVICE: Final = sig_uuid(0x1802)
ALERT_LEVEL: Final = sig_uuid(0x2A06)

ALERT_NOTIFICATION_SERVICE: Final = sig_uuid(0x1811)
NEW_ALERT: Final = sig_uuid(0x2A46)

# --- Vendor services -------------------------------------------------------------------

# Nordic UART Service: the central writes to RX and subscribes to TX (names are from the
# peripheral's point of view). Espruino devices such as Bangle.js run their REPL over it.
NORDIC_UART_SERVICE: Final = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
NORDIC_UART_RX: Final = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
NORDIC_UART_TX: Final = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
