"""The link's ear on the system bus: bluetoothd leaving and coming back is heard at once."""

from __future__ import annotations

import asyncio

import pytest

from companion.ble.bluez_presence import BlueZPresence
from tests.bluez.harness import BlueZWorld
from tests.support import eventually


async def test_without_a_system_bus_nothing_is_watched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/system_bus_socket")
    presence = BlueZPresence(lambda _present: None, lambda _path: None)

    assert await presence.async_start() is False
    presence.stop()


async def test_bluetoothd_leaving_and_returning_is_heard(
    world: BlueZWorld, system_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", system_bus)
    heard: list[bool] = []
    presence = BlueZPresence(heard.append, lambda _path: None)
    assert await presence.async_start() is True
    try:
        await asyncio.to_thread(world.restart_bluetoothd, 0.2)
        await eventually(lambda: heard == [False, True], 5, "bluetoothd leaving, then back")
    finally:
        presence.stop()


async def test_a_device_removed_from_bluez_is_heard(
    world: BlueZWorld, system_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", system_bus)
    removed: list[str] = []
    presence = BlueZPresence(lambda _present: None, removed.append)
    assert await presence.async_start() is True
    try:
        await asyncio.to_thread(world.run, lambda: world.bluez.start_discovery(":1.test"))
        await eventually(lambda: world.band_state() is not None, 5, "the band heard")
        band = world.band_state()
        assert band is not None

        await asyncio.to_thread(world.forget_band)

        await eventually(lambda: removed == [band.path], 5, "the band's removal")
    finally:
        presence.stop()
