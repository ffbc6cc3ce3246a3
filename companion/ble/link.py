"""BandLink: the one face the rest of the companion uses to reach a band.

It finds the band, connects through bleak-retry-connector, subscribes to heart rate,
reads the battery, runs haptic cues through the device profile, and reconnects with
backoff after any drop for as long as it runs. Whether bleak talks to the operating
system's stack or to a Bumble host is decided once, in ``BleakTransport``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from companion.ble import uuids
from companion.ble.backoff import reconnect_delay
from companion.ble.gatt_values import decode_battery_level
from companion.ble.heart_rate import HeartRateMeasurement
from companion.ble.plausibility import screen
from companion.ble.profiles import DeviceProfile, HapticWrite, match_advertisement
from companion.bus import EventBus
from companion.clock import WallClock
from companion.errors import DeviceNotFoundError, MalformedPacketError
from companion.events import BatteryLevel, HeartRateSample, LinkChanged, LinkState, PacketDropped

_LOGGER = logging.getLogger(__name__)

SCAN_FOR_BAND_S = 5.0
NOTIFICATION_QUEUE_SIZE = 256
ATT_WRITE_HEADER = 3  # opcode and handle
MIN_ATT_PAYLOAD = 20  # the default 23-byte MTU less the header
# Bands notify about once a second, with or without skin contact. A connected band that
# says nothing for this long is reported as silent; for the longer span, it is reconnected.
SILENT_AFTER_S = 5.0
RECONNECT_SILENT_AFTER_S = 10.0
SILENCE_CHECK_EVERY_S = 0.5
DISCONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class BleakTransport:
    """Keyword arguments that route bleak through one backend (empty: the OS stack)."""

    scanner_kwargs: Mapping[str, Any] = field(default_factory=dict)
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)
    description: str = "the operating system's Bluetooth stack"

    @classmethod
    def over_bumble(cls, device: Any, description: str) -> BleakTransport:
        from companion.ble.bumble_backend import BumbleClient, BumbleScanner

        return cls(
            scanner_kwargs={"backend": BumbleScanner, "bumble": device},
            client_kwargs={"backend": BumbleClient, "bumble": device},
            description=description,
        )


@dataclass(frozen=True)
class FoundDevice:
    address: str
    name: str | None
    rssi: int
    profile: str | None
    service_uuids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "name": self.name,
            "rssi": self.rssi,
            "profile": self.profile,
        }


def _wanted_matches(wanted: str, device: BLEDevice, adv: AdvertisementData) -> bool:
    if device.address.upper() == wanted.upper():
        return True
    name = adv.local_name or device.name or ""
    return fnmatch.fnmatch(name.lower(), wanted.lower())


class BandLink:
    def __init__(
        self,
        *,
        bus: EventBus,
        profiles: Mapping[str, DeviceProfile],
        transport: BleakTransport,
        wanted: str | None = None,
        profile: DeviceProfile | None = None,
        clock: WallClock | None = None,
    ) -> None:
        self._clock = clock or WallClock()
        self._bus = bus
        self._profiles = profiles
        self._transport = transport
        self._wanted = wanted
        self._forced_profile = profile
        self._client: BleakClient | None = None
        self._device: BLEDevice | None = None
        self._device_name: str | None = None
        self.profile: DeviceProfile | None = profile
        self.state = LinkState.CLOSED
        self.battery: int | None = None
        self.dropped_packets = 0
        self._ever_connected = False
        self._running = False
        self._disconnected = asyncio.Event()
        self._connected = asyncio.Event()
        self._notifications: asyncio.Queue[tuple[float, float, bytes]] = asyncio.Queue(
            NOTIFICATION_QUEUE_SIZE
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writing: set[asyncio.Task[Any]] = set()
        self._last_notification_mono = 0.0
        self._lost_because = ""
        self._write_lock = asyncio.Lock()

    # --- public face ----------------------------------------------------------------------

    @property
    def address(self) -> str | None:
        return self._device.address if self._device else None

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    def choose(self, wanted: str | None) -> None:
        """Use another band from the next (re)connection on."""
        self._wanted = wanted

    async def async_scan(self, timeout: float) -> list[FoundDevice]:
        found = await BleakScanner.discover(
            timeout=timeout, return_adv=True, **self._transport.scanner_kwargs
        )
        devices = [self._describe(device, adv) for device, adv in found.values()]
        return sorted(devices, key=lambda d: -d.rssi)

    async def async_start(self) -> None:
        """Start finding, connecting and reconnecting in the background."""
        if self._running:
            return
        self._running = True
        self._spawn(self._consume_notifications())
        self._spawn(self._supervise())
        self._spawn(self._watch_for_silence())

    async def async_stop(self) -> None:
        self._running = False
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()
        self._set_state(LinkState.CLOSED, "stopped")

    async def async_wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def run_cue(self, cue: str) -> bool:
        """Start the cue's writes on the wrist (not waiting for them); False if it cannot."""
        profile = self.profile
        if profile is None or not self.is_connected:
            return False
        writes = profile.cue_writes(cue)
        if not writes:
            return False
        self._spawn_writes(writes)
        return True

    def show_text(self, text: str) -> bool:
        """Put one line on the band's screen where its profile knows how; False otherwise."""
        profile = self.profile
        if profile is None or not self.is_connected or profile.offers.text_write is None:
            return False
        how = profile.offers.text_write
        write = HapticWrite(
            after_s=0.0,
            characteristic=how.characteristic,
            value=how.render(text),
            with_response=how.with_response,
        )
        self._spawn_writes((write,))
        return True

    async def async_drain(self, timeout: float) -> None:
        """Wait until the cues already started have sent their last write."""
        if self._writing:
            await asyncio.wait(set(self._writing), timeout=timeout)

    def _spawn_writes(self, writes: Sequence[HapticWrite]) -> None:
        task = asyncio.create_task(self._send_writes(writes, time.monotonic()))
        self._tasks.add(task)
        self._writing.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._writing.discard)

    # --- connection supervision -----------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _set_state(self, state: LinkState, detail: str = "") -> None:
        if state == self.state and state != LinkState.LOST:
            return
        self.state = state
        _LOGGER.info("band link %s %s", state.value, detail)
        self._bus.publish(
            LinkChanged(
                mono=time.monotonic(),
                wall=self._clock.now(),
                device=self.address or "",
                state=state,
                detail=detail,
                name=self._device_name,
                profile=self.profile.name if self.profile else None,
            )
        )

    async def _supervise(self) -> None:
        attempt = 0
        while self._running:
            try:
                await self._connect_once()
            except (DeviceNotFoundError, BleakError, TimeoutError, OSError) as exc:
                attempt += 1
                delay = reconnect_delay(exc, attempt)
                _LOGGER.info("band not reached (%s); next try in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            attempt = 0
            await self._disconnected.wait()
            self._connected.clear()
            self._client = None
            if self._running:
                self._set_state(LinkState.LOST, self._lost_because or "the band went away")
            self._lost_because = ""

    async def _find_device(self) -> tuple[BLEDevice, AdvertisementData]:
        wanted = self._wanted

        def accept(device: BLEDevice, adv: AdvertisementData) -> bool:
            if wanted:
                return _wanted_matches(wanted, device, adv)
            profile = self._match(device, adv)
            return profile is not None and profile.offers.heart_rate

        self._set_state(LinkState.SCANNING, wanted or "any heart-rate band")
        found: asyncio.Future[tuple[BLEDevice, AdvertisementData]] = (
            asyncio.get_running_loop().create_future()
        )

        def on_detect(device: BLEDevice, adv: AdvertisementData) -> None:
            if not found.done() and accept(device, adv):
                found.set_result((device, adv))

        async with BleakScanner(on_detect, **self._transport.scanner_kwargs):
            try:
                return await asyncio.wait_for(found, SCAN_FOR_BAND_S)
            except TimeoutError:
                raise DeviceNotFoundError(wanted) from None

    def _match(self, device: BLEDevice, adv: AdvertisementData) -> DeviceProfile | None:
        return match_advertisement(
            self._profiles,
            adv.local_name or device.name,
            adv.service_uuids,
            adv.manufacturer_data.keys(),
        )

    def _describe(self, device: BLEDevice, adv: AdvertisementData) -> FoundDevice:
        profile = self._match(device, adv)
        return FoundDevice(
            address=device.address,
            name=adv.local_name or device.name,
            rssi=adv.rssi,
            profile=profile.name if profile else None,
            service_uuids=tuple(adv.service_uuids),
        )

    async def _connect_once(self) -> None:
        device, adv = await self._find_device()
        self._device = device
        self._device_name = adv.local_name or device.name
        self.profile = self._forced_profile or self._match(device, adv)
        self._set_state(LinkState.CONNECTING, device.address)
        self._disconnected.clear()
        client = await establish_connection(
            BleakClient,
            device,
            adv.local_name or device.address,
            disconnected_callback=lambda _client: self._disconnected.set(),
            max_attempts=2,
            **self._transport.client_kwargs,
        )
        self._client = client
        try:
            await client.start_notify(uuids.HEART_RATE_MEASUREMENT, self._on_notification)
            await self._read_battery(client)
        except (BleakError, TimeoutError) as exc:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise BleakError(f"setting up the band failed: {exc}") from exc
        self._last_notification_mono = time.monotonic()
        self._connected.set()
        state = LinkState.RECONNECTED if self._ever_connected else LinkState.CONNECTED
        self._ever_connected = True
        self._set_state(state, adv.local_name or device.address)

    async def _read_battery(self, client: BleakClient) -> None:
        if client.services is None or not client.services.get_characteristic(uuids.BATTERY_LEVEL):
            return
        try:
            self.battery = decode_battery_level(await client.read_gatt_char(uuids.BATTERY_LEVEL))
        except MalformedPacketError as exc:
            _LOGGER.warning("%s", exc)
            return
        self._bus.publish(
            BatteryLevel(
                mono=time.monotonic(),
                wall=self._clock.now(),
                device=self.address or "",
                percent=self.battery,
            )
        )

    # --- notifications --------------------------------------------------------------------

    def _on_notification(self, _characteristic: Any, data: bytearray) -> None:
        # Runs inside the Bluetooth stack's callback: only enqueue.
        try:
            mono = time.monotonic()
            self._notifications.put_nowait((mono, self._clock.wall_at(mono), bytes(data)))
        except asyncio.QueueFull:
            self._count_dropped("notification queue full", b"")

    async def _consume_notifications(self) -> None:
        while True:
            mono, wall, data = await self._notifications.get()
            self._last_notification_mono = mono
            if self.state == LinkState.SILENT:
                self._set_state(LinkState.CONNECTED, "data again")
            try:
                measurement = HeartRateMeasurement.from_bytes(data)
            except MalformedPacketError as exc:
                _LOGGER.warning("%s", exc)
                self._count_dropped(exc.reason, data)
                continue
            screened = screen(measurement.heart_rate, measurement.rr_ms)
            if screened.problems:
                reason = "; ".join(screened.problems)
                _LOGGER.warning("implausible heart data from the band: %s", reason)
                self._count_dropped(reason, data)
            if screened.hr is None:
                continue
            self._bus.publish(
                HeartRateSample(
                    mono=mono,
                    wall=wall,
                    device=self.address or "",
                    hr=screened.hr,
                    contact=measurement.contact,
                    energy_kj=measurement.energy_expended_kj,
                    rr_ms=screened.rr_ms,
                )
            )

    async def _watch_for_silence(self) -> None:
        """Notice a band that stays connected but stops notifying, and reconnect it."""
        while True:
            await asyncio.sleep(SILENCE_CHECK_EVERY_S)
            client = self._client
            if client is None or not self._connected.is_set():
                continue
            silent_s = time.monotonic() - self._last_notification_mono
            if silent_s >= RECONNECT_SILENT_AFTER_S:
                self._lost_because = f"no data for {silent_s:.0f} s; reconnecting"
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.disconnect(), DISCONNECT_TIMEOUT_S)
                # A stack that never reports the disconnect must not keep the link stuck.
                self._disconnected.set()
                self._connected.clear()
            elif silent_s >= SILENT_AFTER_S and self.state != LinkState.SILENT:
                self._set_state(LinkState.SILENT, "connected, no data")

    def _count_dropped(self, reason: str, data: bytes) -> None:
        self.dropped_packets += 1
        self._bus.publish(
            PacketDropped(
                mono=time.monotonic(),
                wall=self._clock.now(),
                device=self.address or "",
                characteristic="heart rate measurement",
                reason=reason,
                total=self.dropped_packets,
            )
        )

    # --- haptics --------------------------------------------------------------------------

    async def _send_writes(self, writes: Sequence[HapticWrite], started: float) -> None:
        for write in writes:
            # Offsets count from the cue's start, so a slow write never delays the next one.
            delay = started + write.after_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            client = self._client
            if client is None or not client.is_connected:
                return
            try:
                async with self._write_lock:
                    # Commands longer than one packet (Bangle.js text) go in MTU-sized pieces.
                    size = max(MIN_ATT_PAYLOAD, client.mtu_size - ATT_WRITE_HEADER)
                    for start in range(0, len(write.value), size):
                        await client.write_gatt_char(
                            write.characteristic,
                            write.value[start : start + size],
                            response=write.with_response,
                        )
            except (BleakError, TimeoutError) as exc:
                _LOGGER.info("vibration write failed: %s", exc)
                return
