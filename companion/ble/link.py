"""BandLink: the one face the rest of the companion uses to reach a band.

It finds the band, connects through bleak-retry-connector, subscribes to heart rate,
reads the battery, runs haptic cues through the device profile, and reconnects with
backoff after any drop for as long as it runs. Whether bleak talks to the operating
system's stack or to a Bumble host is decided once, in ``BleakTransport``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fnmatch
import gc
import logging
import sys
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakAdapter, BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from companion.ble import uuids
from companion.ble.availability import bluetooth_unavailable
from companion.ble.backoff import reconnect_delay
from companion.ble.bluez_presence import BlueZPresence
from companion.ble.found import NO_RSSI, FoundDevice
from companion.ble.gatt_values import decode_battery_level
from companion.ble.heart_rate import HeartRateMeasurement
from companion.ble.plausibility import screen
from companion.ble.profiles import DeviceProfile, HapticWrite, match_advertisement
from companion.ble.write_channel import QueuedWrite, WriteChannel
from companion.bus import EventBus
from companion.clock import WallClock, monotonic
from companion.cues import CueName
from companion.errors import DeviceNotFoundError, MalformedPacketError
from companion.events import BatteryLevel, HeartRateSample, LinkChanged, LinkState, PacketDropped
from companion.routines.haptics import Playback, TimedWrite, Vocabulary

_LOGGER = logging.getLogger(__name__)

SCAN_FOR_BAND_S = 5.0
CONNECT_TIMEOUT_S = 10.0  # bleak's own default for connecting and resolving services
NOTIFICATION_QUEUE_SIZE = 256
MIN_ATT_PAYLOAD = 20  # the default 23-byte MTU less the header
DUE_WITHIN_S = 1e-9
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


def _wanted_matches(wanted: str, device: BLEDevice, adv: AdvertisementData) -> bool:
    if device.address.upper() == wanted.upper():
        return True
    name = adv.local_name or device.name or ""
    return fnmatch.fnmatch(name.lower(), wanted.lower())


def _advertisement_from_system(device: BLEDevice) -> AdvertisementData:
    """What the OS stack remembers of a connected device's advertising, as bleak's type."""
    details = device.details if isinstance(device.details, dict) else {}
    props: Mapping[str, Any] = details.get("props") or {}
    return AdvertisementData(
        local_name=props.get("Name") or device.name,
        manufacturer_data={k: bytes(v) for k, v in props.get("ManufacturerData", {}).items()},
        service_data={k: bytes(v) for k, v in props.get("ServiceData", {}).items()},
        service_uuids=list(props.get("UUIDs", [])),
        tx_power=props.get("TxPower"),
        rssi=props.get("RSSI", NO_RSSI),
        platform_data=(),
    )


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
        self._device_adv: AdvertisementData | None = None  # what it advertised when found
        self._device_name: str | None = None
        self.profile: DeviceProfile | None = profile
        self.state = LinkState.CLOSED
        self.state_detail = ""
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
        self._bluez_presence = BlueZPresence(self._on_bluez_presence, self._on_device_removed)
        self._bluez_present = True  # until the system bus says otherwise
        self._channel = WriteChannel(Vocabulary.from_profile(profile) if profile else Vocabulary())
        self._characteristics: dict[str, Any] = {}
        self._writer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._in_flight = False
        self._last_notification_mono = 0.0
        self._lost_because = ""

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
        """The devices heard advertising, and the bands connected now (marked so): the band
        in use first, then by signal strength."""
        found = await BleakScanner.discover(
            timeout=timeout, return_adv=True, **self._transport.scanner_kwargs
        )
        devices = {
            device.address.upper(): self._describe(device, adv) for device, adv in found.values()
        }
        for device, adv in await self._connected_now():
            heard = devices.get(device.address.upper())
            # Not heard: no signal strength to show, rather than one from its last advertisement.
            described = heard or dataclasses.replace(self._describe(device, adv), rssi=NO_RSSI)
            devices[device.address.upper()] = dataclasses.replace(described, connected=True)
        return sorted(devices.values(), key=lambda d: (not d.connected, -d.rssi))

    async def async_start(self) -> None:
        """Start finding, connecting and reconnecting in the background."""
        if self._running:
            return
        self._running = True
        if not self._transport.scanner_kwargs:
            await self._bluez_presence.async_start()
        self._spawn(self._consume_notifications())
        self._spawn(self._supervise())
        self._spawn(self._watch_for_silence())

    async def async_stop(self) -> None:
        self._running = False
        self._bluez_presence.stop()
        for task in list(self._tasks):
            task.cancel()
        self._disconnected.set()  # wakes a supervisor whose cancellation was swallowed
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._channel.abandon("the link closed before they were sent")
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()
        self._set_state(LinkState.CLOSED, "stopped")

    def _on_bluez_presence(self, present: bool) -> None:
        # bleak never hears that bluetoothd died: a link it had looks connected until the
        # silence watchdog gives up on it. Treat it as dropped now.
        self._bluez_present = present
        if not present and self._client is not None and self._connected.is_set():
            self._lost_because = "bluetoothd left the system bus"
            self._disconnected.set()

    def _on_device_removed(self, path: str) -> None:
        # Removed from BlueZ while connected: bleak sees the object go but tells no client.
        device = self._device
        details = device.details if device is not None else None
        held = isinstance(details, dict) and details.get("path") == path
        if held and self._client is not None and self._connected.is_set():
            self._lost_because = "the band was removed from BlueZ"
            self._disconnected.set()

    async def async_wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def run_cue(self, cue: CueName) -> bool:
        """Start the cue's writes on the wrist now (not waiting for them); False if it cannot."""
        profile = self.profile
        if profile is None or not self.is_connected:
            return False
        writes = profile.cue_writes(cue)
        if not writes:
            return False
        return self.play(Playback.now(cue, writes, monotonic()))

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
        timed = (TimedWrite(monotonic(), write),)
        return self.play(Playback("text", timed, haptic=False))

    def play(self, playback: Playback) -> bool:
        """Put a cue's writes (at monotonic times) on the band's one haptic channel.

        False when no band is connected. A pattern due while another still plays is placed
        by the rule in ``companion.routines.haptics``: a higher cue cuts the one playing (a
        stop write first), anything else waits until the band is free. What reached the band
        is told to ``playback.on_done``.
        """
        if not self.is_connected or not playback.writes:
            return False
        self._channel.accept(playback, monotonic())
        self._ensure_writer()
        self._wake.set()
        return True

    async def async_drain(self, timeout: float) -> None:
        """Wait until the cues already started have sent their last write."""
        if self._channel.pending or self._in_flight:
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)

    def _ensure_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run_writes())
            self._tasks.add(self._writer)
            self._writer.add_done_callback(self._tasks.discard)

    # --- connection supervision -----------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _set_state(self, state: LinkState, detail: str = "") -> None:
        if state == self.state and state != LinkState.LOST:
            return
        self.state = state
        self.state_detail = detail
        _LOGGER.info("band link %s %s", state.value, detail)
        self._bus.publish(
            LinkChanged(
                mono=monotonic(),
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
                missing = bluetooth_unavailable(exc) if not self._transport.scanner_kwargs else None
                if missing is not None:
                    # Say what is missing on the band line, not "scanning" forever.
                    self._set_state(LinkState.UNAVAILABLE, missing.short)
                _LOGGER.info("band not reached (%s); next try in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            attempt = 0
            if self._running:
                # A stop that came while connecting can be lost below us (asyncio.wait_for
                # before Python 3.12 may drop a cancellation that races its result), so a
                # closed link never waits for a drop.
                await self._disconnected.wait()
            self._connected.clear()
            client, self._client = self._client, None
            if self._running:
                self._set_state(LinkState.LOST, self._lost_because or "the band went away")
            self._lost_because = ""
            if client is not None:
                # bleak's BlueZ client keeps its own D-Bus connection, and with it a notify
                # session in bluetoothd, after a drop until disconnect() is called.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.disconnect(), DISCONNECT_TIMEOUT_S)

    async def _find_device(self) -> tuple[BLEDevice, AdvertisementData]:
        wanted = self._wanted

        def accept(device: BLEDevice, adv: AdvertisementData) -> bool:
            if wanted:
                return _wanted_matches(wanted, device, adv)
            profile = self._match(device, adv)
            return profile is not None and profile.offers.heart_rate

        self._set_state(LinkState.SCANNING, wanted or "any heart-rate band")
        held = await self._held_by_the_system(accept)
        if held is not None:
            return held
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

    async def _held_by_the_system(
        self, accept: Callable[[BLEDevice, AdvertisementData], bool]
    ) -> tuple[BLEDevice, AdvertisementData] | None:
        """A band the OS stack is still connected to, as a run that ended without letting go
        leaves it on BlueZ. A connected band does not advertise, so no scan would find it."""
        for device, adv in await self._held_by_bluez():
            if accept(device, adv):
                return device, adv
        return None

    async def _held_by_bluez(self) -> list[tuple[BLEDevice, AdvertisementData]]:
        """The heart-rate bands BlueZ is connected to now, from its managed objects (by this
        process or any other); none over Bumble, where each run has its own host."""
        if self._transport.scanner_kwargs:
            return []
        if not self._bluez_present:
            return []  # bleak's memory of what bluetoothd held is stale by now
        try:
            adapter = await BleakAdapter.get()
            devices = await adapter.get_connected_devices([uuids.HEART_RATE_SERVICE])
        except (BleakError, NotImplementedError, OSError, EOFError) as exc:
            _LOGGER.debug("no connected bands to ask the system about: %s", exc)
            return []  # the scan says what is wrong, if anything is
        return [(device, _advertisement_from_system(device)) for device in devices]

    async def _connected_now(self) -> list[tuple[BLEDevice, AdvertisementData]]:
        """The band this link is connected to, and any other band the OS stack holds."""
        held = await self._held_by_bluez()
        own, adv = self._device, self._device_adv
        if own is not None and adv is not None and self.is_connected:
            others = [pair for pair in held if pair[0].address.upper() != own.address.upper()]
            return [(own, adv), *others]
        return held

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
        )

    async def _connect_once(self) -> None:
        device, adv = await self._find_device()
        self._device = device
        self._device_adv = adv
        self._device_name = adv.local_name or device.name
        self.profile = self._forced_profile or self._match(device, adv)
        self._set_state(LinkState.CONNECTING, device.address)
        self._disconnected.clear()
        # bleak-retry-connector gives each attempt 20 s; a connection whose services never
        # resolve (a BlueZ cache mismatch) is better dropped and tried afresh sooner. Its
        # service cache would skip waiting for BlueZ to resolve services after a reconnect
        # and hand out characteristics that are not ready (or no longer there).
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            client = await establish_connection(
                BleakClient,
                device,
                adv.local_name or device.address,
                disconnected_callback=lambda _client: self._disconnected.set(),
                max_attempts=2,
                use_services_cache=False,
                **self._transport.client_kwargs,
            )
        # bleak reports an attempt that BlueZ aborted (le-connection-abort-by-local: up, then
        # down) through the same callback; that says nothing about the link that came up.
        self._disconnected.clear()
        self._client = client
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await client.start_notify(uuids.HEART_RATE_MEASUREMENT, self._on_notification)
                await self._read_battery(client)
        except (BleakError, TimeoutError) as exc:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise BleakError(f"setting up the band failed: {exc}") from exc
        self._last_notification_mono = monotonic()
        self._prepare_writes(client)
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
                mono=monotonic(),
                wall=self._clock.now(),
                device=self.address or "",
                percent=self.battery,
            )
        )

    # --- notifications --------------------------------------------------------------------

    def _on_notification(self, _characteristic: Any, data: bytearray) -> None:
        # Runs inside the Bluetooth stack's callback: only enqueue.
        try:
            mono = monotonic()
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
            silent_s = monotonic() - self._last_notification_mono
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
                mono=monotonic(),
                wall=self._clock.now(),
                device=self.address or "",
                characteristic="heart rate measurement",
                reason=reason,
                total=self.dropped_packets,
            )
        )

    # --- haptics --------------------------------------------------------------------------

    def _prepare_writes(self, client: BleakClient) -> None:
        """Make the write path ready before the first cue: characteristics looked up once
        (not on every write), the writer task running, and what is alive now frozen out of
        the garbage collector's way so a collection during a routine stays short."""
        self._characteristics = {}
        profile = self.profile
        services = client.services
        if profile is not None and services is not None:
            wanted = {w.characteristic for cue in profile.cues.values() for w in cue.writes}
            if profile.offers.text_write is not None:
                wanted.add(profile.offers.text_write.characteristic)
            for uuid in wanted:
                found = services.get_characteristic(uuid)
                if found is not None:
                    self._characteristics[uuid] = found
                else:
                    _LOGGER.warning("the band has no characteristic %s its profile writes to", uuid)
            self._channel.vocabulary = Vocabulary.from_profile(profile)
        self._ensure_writer()
        _freeze_startup_objects()

    async def _run_writes(self) -> None:
        """The one writer: each write at its time, in order, never two at once."""
        while True:
            item = self._channel.next_due()
            if item is None:
                if not self._in_flight:
                    self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = item.at_s - monotonic()
            # Due within a nanosecond is due now, as the loop itself counts timers (and as
            # the engine does): waiting again for a sliver would spin on a clock that does
            # not move while the loop works (virtual time).
            if delay > DUE_WITHIN_S:
                # A timer on the loop wakes the writer right at the deadline (no task per
                # wait, no cancellation to unwind); a new cue wakes it earlier.
                self._wake.clear()
                loop = asyncio.get_running_loop()
                alarm = loop.call_at(loop.time() + delay, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    alarm.cancel()
                continue  # something earlier may have arrived meanwhile
            self._channel.pop(item)
            self._in_flight = True
            try:
                await self._write_one(item)
            finally:
                self._in_flight = False

    async def _write_one(self, item: QueuedWrite) -> None:
        client = self._client
        if client is None or not client.is_connected:
            self._channel.failed(item, "the band is not connected")
            return
        write = item.write
        target: Any = self._characteristics.get(write.characteristic, write.characteristic)
        sent_at = monotonic()
        try:
            # Commands longer than one packet (Bangle.js text) go in pieces that fit one.
            # The characteristic knows that size on every backend (BlueZ's MTU property);
            # asking the client for the MTU only guesses 23 on BlueZ, with a warning.
            size = MIN_ATT_PAYLOAD
            if isinstance(target, BleakGATTCharacteristic):
                size = max(MIN_ATT_PAYLOAD, target.max_write_without_response_size)
            for start in range(0, len(write.value), size):
                await client.write_gatt_char(
                    target, write.value[start : start + size], response=write.with_response
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every backend's failure: bleak, Bumble's ATT errors, timeouts
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            _LOGGER.warning("vibration write for %s failed: %s", item.cue, reason)
            self._channel.failed(item, reason)
            return
        self._channel.sent(item, late_s=sent_at - item.at_s)


_frozen = False


# Another thread (the recorder, the web server) holding the GIL keeps the loop from a due
# write for up to the switch interval (5 ms by default); a shorter one bounds that wait.
GIL_SWITCH_INTERVAL_S = 0.001


def _freeze_startup_objects() -> None:
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
