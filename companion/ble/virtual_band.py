"""The virtual band: a Bumble GATT server worn by a simulated person.

It offers what a typical wrist band does (Heart Rate with RR, Battery, Device Information,
Immediate Alert for vibration), feels the vibrations it is sent, and records every one
with its receipt time, so timing and delivery of cues can be checked against the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bumble import gatt
from bumble.att import ATT_Error, ErrorCode
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService
from bumble.profiles.heart_rate_service import HeartRateService

from companion.ble import uuids
from companion.ble.wearer import STRONG_BUZZ, Wearer
from companion.clock import monotonic, system_wall
from companion.cues import CueName
from companion.routines.haptics import Reading, Received, Vocabulary, read_wrist

_LOGGER = logging.getLogger(__name__)

BAND_NAME = "Companion Virtual Band"
BAND_ADDRESS = "C0:FF:EE:00:00:01"
NOTIFY_INTERVAL_S = 1.0
ADVERTISING_INTERVAL_MS = 100
# A real strap reports energy expended only now and then; every tenth packet here.
ENERGY_EVERY_N_PACKETS = 10
# Mild pulses closer together than this belong to one buzz (a double tap means breathe out).
BUZZ_GROUP_WINDOW_S = 0.35
# About four hours of routines back to back: enough to check any session against, small
# enough that a virtual band left running for days stays a few megabytes.
MAX_RECORDED_VIBRATIONS = 10_000
# RR intervals travel as uint16 in 1/1024 s.
MAX_RR_S = 0xFFFF / 1024


class AlertLevel:
    NONE = 0
    MILD = 1
    HIGH = 2


@dataclass(frozen=True)
class Vibration:
    """One write the band received on a characteristic that makes it vibrate."""

    mono: float
    wall: float
    characteristic: str
    value: bytes

    def to_json(self) -> dict[str, object]:
        return {
            "t": self.wall,
            "mono": self.mono,
            "characteristic": self.characteristic,
            "value": self.value.hex(),
        }


class BuzzReader:
    """Turns alert-level writes into what a wearer feels: breathe in, breathe out, or a strong buzz.

    Pure: it is fed writes with their times and asked what was felt by a given time.
    """

    def __init__(self) -> None:
        self._group_start: float | None = None
        self._mild_pulses = 0
        self._level = AlertLevel.NONE

    def write(self, now: float, level: int) -> Literal["strong"] | None:
        """Feed one write; returns a strong buzz at once, otherwise None."""
        rising = level > AlertLevel.NONE and self._level == AlertLevel.NONE
        self._level = level
        if not rising:
            return None
        if level >= AlertLevel.HIGH:
            return STRONG_BUZZ
        if self._group_start is None or now - self._group_start > BUZZ_GROUP_WINDOW_S:
            self._group_start = now
            self._mild_pulses = 0
        self._mild_pulses += 1
        return None

    def settle(self, now: float) -> tuple[float, CueName] | None:
        """When a group of mild pulses has finished by ``now``: (its start, what it meant)."""
        if self._group_start is None or now - self._group_start < BUZZ_GROUP_WINDOW_S:
            return None
        start, pulses = self._group_start, self._mild_pulses
        self._group_start = None
        self._mild_pulses = 0
        return start, CueName.BREATH_IN if pulses == 1 else CueName.BREATH_OUT


class VirtualBand:
    def __init__(
        self,
        device: Device,
        wearer: Wearer,
        *,
        on_vibration: Callable[[Vibration], None] | None = None,
    ) -> None:
        self._device = device
        self._wearer = wearer
        self._on_vibration = on_vibration
        self.vibrations: deque[Vibration] = deque(maxlen=MAX_RECORDED_VIBRATIONS)
        self._silent_until = 0.0
        self._buzz = BuzzReader()
        self._started_at = monotonic()
        self._packets = 0
        self._energy_kj = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._raw_packets: deque[bytes] = deque()
        self._measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
            uuids.HEART_RATE_MEASUREMENT,
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.Permissions(0),
            gatt.CharacteristicValue(read=self._read_measurement),
        )
        body_sensor_location = gatt.Characteristic(
            uuids.BODY_SENSOR_LOCATION,
            gatt.Characteristic.Properties.READ,
            gatt.Characteristic.READABLE,
            bytes([HeartRateService.BodySensorLocation.WRIST]),
        )
        self._battery = BatteryService(lambda _connection: self._wearer.battery_percent)
        self._alert_level: gatt.Characteristic[bytes] = gatt.Characteristic(
            uuids.ALERT_LEVEL,
            gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_alert_write),
        )
        # Set to refuse every vibration write, as a band answering WRITE_NOT_PERMITTED does.
        self.refuse_writes = False
        self._uart_line = b""
        # Accepts writes with and without response, so profiles of either kind can be tried.
        self._uart_rx: gatt.Characteristic[bytes] = gatt.Characteristic(
            uuids.NORDIC_UART_RX,
            gatt.Characteristic.Properties.WRITE
            | gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_uart_write),
        )
        device.add_services(
            [
                gatt.Service(uuids.HEART_RATE_SERVICE, [self._measurement, body_sensor_location]),
                self._battery,
                DeviceInformationService(
                    manufacturer_name="Bedside Companion",
                    model_number="Virtual Band 1",
                    serial_number="VB-0001",
                    firmware_revision="1.0",
                ),
                gatt.Service(uuids.IMMEDIATE_ALERT_SERVICE, [self._alert_level]),
                gatt.Service(uuids.NORDIC_UART_SERVICE, [self._uart_rx]),
            ]
        )
        device.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, BAND_NAME.encode()),
                    (
                        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                        bytes.fromhex("0d1802180f18"),
                    ),
                ]
            )
        )

    @property
    def wearer(self) -> Wearer:
        return self._wearer

    def _now(self) -> float:
        return monotonic() - self._started_at

    async def start(self) -> None:
        self._started_at = monotonic()
        await self._advertise()
        self._spawn(self._notify_loop())
        self._spawn(self._buzz_loop())

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._device.stop_advertising()

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _advertise(self) -> None:
        await self._device.start_advertising(
            auto_restart=True,
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )

    # --- heart rate -----------------------------------------------------------------------

    def _read_measurement(self, _connection: Connection | None) -> bytes:
        if self._raw_packets:
            return self._raw_packets.popleft()
        beats = self._wearer.beats_until(self._now())
        rr = [beat.rr_s for beat in beats]
        self._packets += 1
        if rr:
            heart_rate = round(60.0 / (sum(rr) / len(rr)))
        else:
            heart_rate = round(self._wearer.heart_rate_bpm())
        energy = None
        if self._packets % ENERGY_EVERY_N_PACKETS == 0:
            self._energy_kj += 1
            energy = self._energy_kj
        # Encoded by Bumble's own codec, so our decoder is checked against an independent one.
        measurement = HeartRateService.HeartRateMeasurement(
            heart_rate=heart_rate,
            sensor_contact_detected=self._wearer.contact,
            energy_expended=energy,
            rr_intervals=[min(r, MAX_RR_S) for r in rr],
        )
        return bytes(measurement)

    async def _notify_loop(self) -> None:
        start = monotonic()
        tick = 0
        while True:
            tick += 1
            # Deadlines from the start, so a slow notification never shifts the next one.
            await asyncio.sleep(max(0.0, start + tick * NOTIFY_INTERVAL_S - monotonic()))
            if not self._device.connections or monotonic() < self._silent_until:
                self._wearer.beats_until(self._now())  # the wearer's heart goes on beating
                continue
            try:
                await self._device.notify_subscribers(self._measurement)
            except Exception:
                _LOGGER.debug("heart-rate notification failed", exc_info=True)

    # --- vibration ------------------------------------------------------------------------

    def received(self, since: float = float("-inf")) -> list[Received]:
        """Every vibration write from monotonic time ``since`` on, as the wearer's reading
        takes them."""
        return [
            Received(v.mono, v.characteristic, v.value) for v in self.vibrations if v.mono >= since
        ]

    def felt(
        self, vocabulary: Vocabulary, since: float = float("-inf"), tolerance_s: float | None = None
    ) -> Reading:
        """What the wearer made of the writes: cue words, and anything unreadable."""
        if tolerance_s is None:
            return read_wrist(self.received(since), vocabulary)
        return read_wrist(self.received(since), vocabulary, tolerance_s)

    def _record(self, characteristic: str, value: bytes) -> None:
        if self.refuse_writes:
            raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)
        vibration = Vibration(monotonic(), system_wall(), characteristic, bytes(value))
        self.vibrations.append(vibration)
        if self._on_vibration is not None:
            self._on_vibration(vibration)

    def _on_uart_write(self, _connection: Connection | None, value: bytes) -> None:
        # A watch's REPL runs a command when its line ends, however many writes carried it
        # (a command longer than one packet arrives in pieces), so a line is one vibration.
        if self.refuse_writes:
            raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)
        self._uart_line += bytes(value)
        while b"\n" in self._uart_line:
            line, _, self._uart_line = self._uart_line.partition(b"\n")
            self._record(uuids.NORDIC_UART_RX, line + b"\n")

    def _on_alert_write(self, _connection: Connection | None, value: bytes) -> None:
        self._record(uuids.ALERT_LEVEL, value)
        if len(value) != 1:
            _LOGGER.warning("ignored alert level write of %d bytes", len(value))
            return
        felt = self._buzz.write(self._now(), value[0])
        if felt is not None:
            self._wearer.feel_cue(self._now(), felt)

    async def _buzz_loop(self) -> None:
        while True:
            await asyncio.sleep(BUZZ_GROUP_WINDOW_S / 4)
            settled = self._buzz.settle(self._now())
            if settled is not None:
                start, felt = settled
                self._wearer.feel_cue(start, felt)

    # --- faults ---------------------------------------------------------------------------

    async def drop_link(self, away_s: float | None = None) -> None:
        """Drop every connection, as a band out of range would; come back after ``away_s``."""
        with contextlib.suppress(Exception):
            await self._device.stop_advertising()
        for connection in list(self._device.connections.values()):
            with contextlib.suppress(Exception):
                await connection.disconnect()
        if away_s is None:
            return
        if away_s > 0:
            await asyncio.sleep(away_s)
        await self._advertise()

    def start_drop(self, away_s: float | None) -> None:
        """Drop the link without waiting for the band to come back."""
        self._spawn(self.drop_link(away_s))

    async def come_back(self) -> None:
        await self._advertise()

    def go_silent(self, seconds: float) -> None:
        """Stay connected but send no heart-rate notifications for ``seconds``."""
        self._silent_until = monotonic() + seconds

    def send_raw_measurement(self, data: bytes) -> None:
        """Send ``data`` as the next heart-rate notification, as a faulty band might."""
        self._raw_packets.append(bytes(data))

    def set_contact(self, contact: bool) -> None:
        self._wearer.contact = contact

    def set_battery(self, percent: int) -> None:
        self._wearer.battery_percent = max(0, min(100, percent))

    def exert(self, target_bpm: float) -> None:
        """The wearer exerts: heart rate climbs towards ``target_bpm`` (ValueError outside
        30-220), so adaptive pacing and the heart-rate safety pause can be seen live."""
        self._wearer.exert(target_bpm)

    def rest(self) -> None:
        """The wearer stops exerting; heart rate settles back."""
        self._wearer.rest()
