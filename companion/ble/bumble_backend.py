"""A bleak backend that talks through a Bumble host instead of the operating system's stack.

bleak picks a backend per ``BleakScanner``/``BleakClient`` through ``backend=``; the extra
keyword ``bumble=`` carries the powered-on Bumble ``Device`` both share. With it the same
``BandLink`` drives a band on a virtual link, on TCP virtual controllers or on a USB dongle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
from collections.abc import Callable
from typing import Any, Literal

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy
from bumble.hci import Address

_LOGGER = logging.getLogger(__name__)

_PROPERTY_NAMES: tuple[tuple[Characteristic.Properties, str], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)
_ATT_HEADER_BYTES = 3


def uuid_str(value: UUID) -> str:
    """The lowercase 128-bit form bleak uses everywhere."""
    return str(uuidlib.UUID(bytes=bytes(reversed(value.uuid_128_bytes))))


def _address_str(address: Address) -> str:
    return address.to_string(False)


def advertisement_data(adv: Advertisement) -> AdvertisementData:
    data = adv.data
    service_uuids: list[str] = []
    for ad_type in (
        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for value in data.get_all(ad_type):
            service_uuids.extend(uuid_str(u) for u in value if uuid_str(u) not in service_uuids)
    manufacturer: dict[int, bytes] = {}
    for company_id, payload in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA):
        manufacturer[company_id] = bytes(payload)
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.SHORTENED_LOCAL_NAME
    )
    tx_power = data.get(AdvertisingData.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=name if isinstance(name, str) else None,
        manufacturer_data=manufacturer,
        service_data={},
        service_uuids=service_uuids,
        tx_power=tx_power if isinstance(tx_power, int) else None,
        rssi=adv.rssi,
        platform_data=(adv,),
    )


class BumbleScanner(BaseBleakScanner):
    """Scans with the shared Bumble device; advertisements become bleak's types."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"],
        *,
        bumble: Device,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._device = bumble
        self._active = scanning_mode == "active"
        self._scanning = False

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = advertisement_data(adv)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = _address_str(adv.address)
        device = self.create_or_update_device(address, address, data.local_name, adv.address, data)
        self.call_detection_callbacks(device, data)

    async def start(self) -> None:
        self.seen_devices = {}
        self._device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self._device.start_scanning(active=self._active, filter_duplicates=False)
        self._scanning = True

    async def stop(self) -> None:
        self._device.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        if self._scanning:
            self._scanning = False
            with contextlib.suppress(Exception):
                await self._device.stop_scanning()


class BumbleClient(BaseBleakClient):
    """A GATT client over a Bumble connection, shaped as bleak expects."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        bumble: Device,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._device = bumble
        self._target: Address | None = None
        if isinstance(address_or_ble_device, BLEDevice) and isinstance(
            address_or_ble_device.details, Address
        ):
            self._target = address_or_ble_device.details
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def _resolve_target(self, timeout: float) -> Address:
        if self._target is not None:
            return self._target
        wanted = self.address.upper()
        found: asyncio.Future[Address] = asyncio.get_running_loop().create_future()

        def on_adv(adv: Advertisement) -> None:
            if _address_str(adv.address).upper() == wanted and not found.done():
                found.set_result(adv.address)

        self._device.on(Device.EVENT_ADVERTISEMENT, on_adv)
        await self._device.start_scanning(filter_duplicates=False)
        try:
            return await asyncio.wait_for(found, timeout)
        except TimeoutError:
            raise BleakDeviceNotFoundError(self.address) from None
        finally:
            self._device.remove_listener(Device.EVENT_ADVERTISEMENT, on_adv)
            with contextlib.suppress(Exception):
                await self._device.stop_scanning()

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        timeout = float(kwargs.get("timeout", self._timeout))
        target = await self._resolve_target(timeout)
        self._closing = False
        try:
            connection = await self._device.connect(target, timeout=timeout)
        except Exception as exc:
            raise BleakError(f"connection to {self.address} failed: {exc}") from exc
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = Peer(connection)
        self._peer = peer
        try:
            await peer.discover_services()
            for service in peer.services:
                await service.discover_characteristics()
                for characteristic in service.characteristics:
                    await characteristic.discover_descriptors()
        except Exception as exc:
            await self.disconnect()
            raise BleakError(f"service discovery on {self.address} failed: {exc}") from exc
        self.services = self._service_collection(peer)

    def _service_collection(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for service in peer.services:
            bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in service.characteristics:
                properties = [name for flag, name in _PROPERTY_NAMES if char.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    uuid_str(char.uuid),
                    properties,  # type: ignore[arg-type]
                    lambda: self.mtu_size - _ATT_HEADER_BYTES,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in char.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor, descriptor.handle, uuid_str(descriptor.type), bleak_char
                        )
                    )
        return collection

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscriptions.clear()
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        self._closing = True
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await connection.disconnect()
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not needed for heart-rate bands over Bumble")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not needed for heart-rate bands over Bumble")

    def _proxy(self, characteristic: BleakGATTCharacteristic) -> CharacteristicProxy[bytes]:
        if self._connection is None:
            raise BleakError(f"not connected to {self.address}")
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        return proxy

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._proxy(characteristic).read_value())

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        if self._peer is None:
            raise BleakError(f"not connected to {self.address}")
        return bytearray(await self._peer.read_value(descriptor.handle))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        await self._proxy(characteristic).write_value(bytes(data), with_response=response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        if self._peer is None:
            raise BleakError(f"not connected to {self.address}")
        await self._peer.write_value(descriptor.handle, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = on_value
        await self._proxy(characteristic).subscribe(on_value)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        on_value = self._subscriptions.pop(characteristic.handle, None)
        if on_value is not None and self._connection is not None:
            await self._proxy(characteristic).unsubscribe(on_value)
