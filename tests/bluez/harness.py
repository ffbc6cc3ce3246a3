"""The stand-in and the virtual band on their own event loop, in a thread of the test process.

Tests are plain functions that start the companion as a child process; they steer the radio
world through ``BlueZWorld``'s blocking methods, each of which runs on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from companion.ble import uuids
from companion.ble.bumble_backend import uuid_str
from companion.ble.radio import VIRTUAL_TRANSPORT, VirtualRadio
from companion.ble.transport import virtual_band
from companion.ble.virtual_band import VirtualBand
from tests.bluez.objects import ADAPTER_ADDRESS
from tests.bluez.standin import BandDevice, BlueZStandIn

T = TypeVar("T")
CALL_TIMEOUT_S = 20.0


class BlueZWorld:
    """One virtual link with the virtual band and a stand-in bluetoothd on a private bus."""

    def __init__(self, bus_address: str) -> None:
        self._bus_address = bus_address
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bluez", daemon=True)
        self._stack = contextlib.AsyncExitStack()
        self.bluez: BlueZStandIn
        self.band: VirtualBand

    def start(self) -> None:
        self._thread.start()
        self.run(self._start)

    async def _start(self) -> None:
        radio = VirtualRadio()
        self.band = await self._stack.enter_async_context(
            virtual_band(VIRTUAL_TRANSPORT, radio=radio)
        )
        host = radio.attach("bluez-hci0", ADAPTER_ADDRESS)
        await host.power_on()
        self.bluez = BlueZStandIn(self._bus_address, host)
        await self.bluez.start()
        self._stack.push_async_callback(self.bluez.stop)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self._stack.aclose)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def run(self, coro: Callable[[], Awaitable[T]], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run ``coro()`` on the radio loop and wait for its result."""

        async def call() -> T:
            return await coro()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the radio loop (state there is not thread-safe)."""

        async def call() -> T:
            return fn()

        return self.run(call)

    # --- what tests ask of it ---------------------------------------------------------------

    def band_state(self) -> BandDevice | None:
        return self.call(lambda: next(iter(self.bluez.devices.values()), None))

    def band_connected(self) -> bool:
        state = self.band_state()
        return state is not None and state.connected and state.services_resolved

    def value_subscribers(self) -> int:
        """D-Bus senders holding a notify session on the heart-rate measurement."""

        def count() -> int:
            return sum(
                len(char.sessions)
                for state in self.bluez.devices.values()
                for char in state.characteristics
                if char.can_notify and uuid_str(char.proxy.uuid) == uuids.HEART_RATE_MEASUREMENT
            )

        return self.call(count)

    def calls(self) -> Any:
        return self.bluez.calls

    # --- faults at the OS boundary ------------------------------------------------------------

    def restart_bluetoothd(self, away_s: float) -> None:
        """bluetoothd leaves the bus (its name owner is lost, its links drop) and comes back."""
        self.run(self.bluez.stop)
        time.sleep(away_s)
        self.run(self.bluez.start)

    def set_powered(self, powered: bool) -> None:
        self.run(lambda: self.bluez.set_powered(powered))

    def fail_next_connects(self, *errors: tuple[str, str]) -> None:
        self.call(lambda: self.bluez.faults.connect_errors.extend(errors))

    def never_resolve_next_connections(self, count: int) -> None:
        def arm() -> None:
            self.bluez.faults.unresolved_connections = count

        self.call(arm)

    def mute_band(self) -> None:
        """The band stays connected but sends no more notifications on this link."""

        def mute() -> None:
            state = self.bluez.band()
            assert state.connection is not None, "the band is not connected"
            self.bluez.faults.muted = state.connection

        self.call(mute)

    def drop_band_link(self, away_s: float) -> None:
        """The band goes out of range for ``away_s`` and advertises again."""
        self.run(lambda: self.band.drop_link(away_s))

    def forget_band(self) -> None:
        """RemoveDevice while connected: the objects go; no Connected=false is ever sent."""
        self.run(self.bluez.forget_band)


@contextlib.contextmanager
def bluez_world(bus_address: str) -> Iterator[BlueZWorld]:
    world = BlueZWorld(bus_address)
    world.start()
    try:
        yield world
    finally:
        world.stop()
