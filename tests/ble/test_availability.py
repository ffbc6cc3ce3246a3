"""Low-level failures of the OS Bluetooth path, each turned into what is missing and the fix."""

from __future__ import annotations

import asyncio

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)
from dbus_fast.errors import AuthError, InvalidAddressError

from companion.ble.availability import (
    BluetoothUnavailableError,
    Missing,
    async_check_os_bluetooth,
    bluetooth_unavailable,
)

Reason = BleakBluetoothNotAvailableReason


def _raised_from(cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "missing"),
    [
        (FileNotFoundError(2, "No such file or directory"), Missing.SYSTEM_BUS),
        (ConnectionRefusedError(111, "Connection refused"), Missing.SYSTEM_BUS),
        (InvalidAddressError("bad address"), Missing.SYSTEM_BUS),
        (BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", []), Missing.BLUEZ),
        (BleakDBusError("org.freedesktop.DBus.Error.NameHasNoOwner", []), Missing.BLUEZ),
        (BleakDBusError("org.freedesktop.DBus.Error.AccessDenied", []), Missing.PERMISSION),
        (BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]), Missing.POWERED_OFF),
        (BleakBluetoothNotAvailableError("none", Reason.NO_BLUETOOTH), Missing.ADAPTER),
        (BleakBluetoothNotAvailableError("off", Reason.POWERED_OFF), Missing.POWERED_OFF),
        (BleakBluetoothNotAvailableError("no", Reason.DENIED_BY_SYSTEM), Missing.PERMISSION),
        (BleakBluetoothNotAvailableError("le", Reason.NO_BLE_CENTRAL_ROLE), Missing.CENTRAL_ROLE),
        (BleakBluetoothNotAvailableError("?", Reason.UNKNOWN), Missing.UNKNOWN),
        (AuthError("rejected"), Missing.PERMISSION),
        (PermissionError(13, "Permission denied"), Missing.PERMISSION),
        (_raised_from(FileNotFoundError(2, "No such file")), Missing.SYSTEM_BUS),
    ],
)
def test_each_missing_part_is_named_with_its_fix(exc: BaseException, missing: Missing) -> None:
    problem = bluetooth_unavailable(exc)

    assert problem is not None and problem.missing is missing
    assert "--simulate" in problem.advice and "--hci usb:0" in problem.advice
    assert "companion doctor" in problem.advice
    assert "\n" not in str(problem)


@pytest.mark.parametrize(
    "exc",
    [
        TimeoutError(),
        BleakError("Device with address AA:BB was not found"),
        BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"]),
        FileNotFoundError(2, "No such file", "/some/file.toml"),
        ValueError("nothing to do with Bluetooth"),
    ],
)
def test_failures_about_a_band_not_the_computer_are_left_to_retry(exc: BaseException) -> None:
    assert bluetooth_unavailable(exc) is None


def test_the_short_form_fits_a_status_line() -> None:
    problem = BluetoothUnavailableError(Missing.POWERED_OFF)

    assert problem.short == (
        "the Bluetooth adapter is switched off: switch it on: bluetoothctl power on"
    )


def test_without_a_system_bus_the_check_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/companion-test/bus")

    with pytest.raises(BluetoothUnavailableError) as caught:
        asyncio.run(async_check_os_bluetooth())

    assert caught.value.missing is Missing.SYSTEM_BUS


def test_the_link_says_bluetooth_is_unavailable_instead_of_scanning_forever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from companion.ble.link import BandLink, BleakTransport
    from companion.bus import EventBus
    from companion.events import Event, LinkChanged, LinkState

    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/companion-test/bus")
    seen: list[LinkChanged] = []

    async def go() -> None:
        bus = EventBus()
        said = asyncio.Event()

        def on_event(event: Event) -> None:
            if isinstance(event, LinkChanged):
                seen.append(event)
                if event.state is LinkState.UNAVAILABLE:
                    said.set()

        bus.subscribe(on_event)
        link = BandLink(bus=bus, profiles={}, transport=BleakTransport())
        await link.async_start()
        try:
            await asyncio.wait_for(said.wait(), 10.0)
        finally:
            await link.async_stop()

    asyncio.run(go())

    unavailable = next(e for e in seen if e.state is LinkState.UNAVAILABLE)
    assert unavailable.detail.startswith("no D-Bus system bus: install and start BlueZ")
