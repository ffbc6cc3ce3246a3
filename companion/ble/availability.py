"""Is the computer's own Bluetooth usable at all? Low-level failures in a typed family.

bleak on Linux talks to BlueZ over the D-Bus system bus; when any part of that is
missing, the failure surfaces as a socket error from dbus_fast, a D-Bus error name, or
bleak's own "not available" error. :func:`bluetooth_unavailable` turns each into a
:class:`BluetoothUnavailableError` that says which part is missing and what to do, or
returns None when the failure is about a band rather than the computer (worth retrying).

The classifier is pure: it looks at exception types, names and attributes only. bleak and
dbus_fast are imported inside it, so importing this module costs nothing.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Iterator

from companion.errors import CompanionError

_LOGGER = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0
OTHER_WAYS = "or use the virtual band with --simulate, or a USB dongle with --hci usb:0"


class Missing(enum.StrEnum):
    """Which part of the operating system's Bluetooth path is missing."""

    SYSTEM_BUS = "no D-Bus system bus"
    BLUEZ = "BlueZ (org.bluez) is not running"
    ADAPTER = "no Bluetooth adapter"
    CENTRAL_ROLE = "the Bluetooth adapter cannot act as a Bluetooth LE central"
    POWERED_OFF = "the Bluetooth adapter is switched off"
    PERMISSION = "not allowed to use Bluetooth"
    UNKNOWN = "Bluetooth is not available"


_FIXES = {
    Missing.SYSTEM_BUS: "install and start BlueZ: "
    "apt install bluez, then systemctl start bluetooth",
    Missing.BLUEZ: "start BlueZ: sudo systemctl start bluetooth",
    Missing.ADAPTER: "plug in a Bluetooth adapter",
    Missing.CENTRAL_ROLE: "use a Bluetooth 4.0 (LE) adapter",
    Missing.POWERED_OFF: "switch it on: bluetoothctl power on",
    Missing.PERMISSION: "add yourself to the bluetooth group: "
    "sudo usermod -aG bluetooth $USER, then log in again",
    Missing.UNKNOWN: "run companion doctor to see what is wrong",
}

# D-Bus error names and what each says is missing.
_DBUS_ERRORS = {
    "org.freedesktop.DBus.Error.ServiceUnknown": Missing.BLUEZ,
    "org.freedesktop.DBus.Error.NameHasNoOwner": Missing.BLUEZ,
    "org.freedesktop.DBus.Error.AccessDenied": Missing.PERMISSION,
    "org.freedesktop.DBus.Error.AuthFailed": Missing.PERMISSION,
    "org.bluez.Error.NotReady": Missing.POWERED_OFF,
    "org.bluez.Error.NotPermitted": Missing.PERMISSION,
}


class BluetoothUnavailableError(CompanionError):
    """The OS Bluetooth path cannot be used; ``missing`` says which part, ``advice`` the fix."""

    def __init__(self, missing: Missing, detail: str = "") -> None:
        self.missing = missing
        self.detail = detail
        self.advice = f"{_FIXES[missing]}; {OTHER_WAYS}; companion doctor checks everything"
        super().__init__(missing.value)

    @property
    def short(self) -> str:
        """A few words for a status line: what is missing and the first fix."""
        return f"{self.missing.value}: {_FIXES[self.missing]}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _classify_one(exc: BaseException) -> Missing | None:
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakBluetoothNotAvailableReason,
        BleakDBusError,
    )
    from dbus_fast.errors import AuthError, DBusError, InvalidAddressError

    if isinstance(exc, BleakBluetoothNotAvailableError):
        reasons = BleakBluetoothNotAvailableReason
        return {
            reasons.NO_BLUETOOTH: Missing.ADAPTER,
            reasons.NO_BLE_CENTRAL_ROLE: Missing.CENTRAL_ROLE,
            reasons.POWERED_OFF: Missing.POWERED_OFF,
            reasons.DENIED_BY_USER: Missing.PERMISSION,
            reasons.DENIED_BY_SYSTEM: Missing.PERMISSION,
            reasons.DENIED_BY_UNKNOWN: Missing.PERMISSION,
        }.get(exc.reason, Missing.UNKNOWN)
    if isinstance(exc, BleakDBusError):
        return _DBUS_ERRORS.get(exc.dbus_error)
    if isinstance(exc, DBusError):
        return _DBUS_ERRORS.get(str(exc.type))
    if isinstance(exc, AuthError):
        return Missing.PERMISSION
    if isinstance(exc, InvalidAddressError):
        return Missing.SYSTEM_BUS
    # The OS path's only socket is the system bus: a missing or refused socket is the bus.
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError) and exc.filename is None:
        return Missing.SYSTEM_BUS
    if isinstance(exc, PermissionError):
        return Missing.PERMISSION
    return None


def bluetooth_unavailable(exc: BaseException) -> BluetoothUnavailableError | None:
    """The typed error for a failure of the OS Bluetooth path, or None when ``exc`` does
    not say the computer's Bluetooth is missing (a band out of range, a timeout)."""
    if isinstance(exc, BluetoothUnavailableError):
        return exc
    for link in _chain(exc):
        missing = _classify_one(link)
        if missing is not None:
            detail = str(link).splitlines()[0] if str(link) else type(link).__name__
            return BluetoothUnavailableError(missing, detail)
    return None


async def async_check_os_bluetooth(timeout: float = PROBE_TIMEOUT_S) -> None:
    """Start and stop one scan on the OS stack; raise :class:`BluetoothUnavailableError`
    when that shows Bluetooth is missing. Anything else (a slow stack) passes: the link
    will try and report for itself."""
    from bleak import BleakScanner

    try:
        async with asyncio.timeout(timeout):
            scanner = BleakScanner()
            await scanner.start()
            await scanner.stop()
    except Exception as exc:
        problem = bluetooth_unavailable(exc)
        if problem is not None:
            raise problem from None
        _LOGGER.debug("Bluetooth probe inconclusive: %r", exc)
