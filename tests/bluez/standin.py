"""A stand-in for bluetoothd: the ``org.bluez`` D-Bus API over Bumble's virtual radio.

It presents one adapter, ``/org/bluez/hci0``, whose controller sits on a Bumble ``LocalLink``
next to the virtual band, and behaves the way BlueZ's own daemon does where bleak and
bleak-retry-connector can tell (src/adapter.c, src/device.c, src/gatt-client.c and the
doc/org.bluez.*.rst API documents):

* ``GetManagedObjects`` on ``/`` and ``InterfacesAdded``/``InterfacesRemoved`` as objects come
  and go;
* ``Adapter1``: Powered (read-write), Discovering, SetDiscoveryFilter, StartDiscovery,
  StopDiscovery (which invalidates each device's RSSI, so the next discovery reports it
  afresh), RemoveDevice;
* ``Device1`` objects made from real advertisements heard on the virtual link;
  ``Connect`` replies once the link is up and GATT discovery then runs, ``ServicesResolved``
  following it; the attribute cache outlives a disconnection, as with ``Cache = always``;
* ``GattService1``/``GattCharacteristic1``/``GattDescriptor1`` from a real Bumble discovery;
  ``ReadValue``, ``WriteValue`` (``type`` request/command), ``StartNotify``/``StopNotify`` with
  one notify session per D-Bus sender (a session ends when its sender leaves the bus), and
  ``Value`` changes as ``PropertiesChanged``.

Faults are switched on from the test: failing ``Connect`` calls, services that never resolve,
a band that stays connected but stops notifying, the adapter powered off, a device removed
from the cache, and the daemon leaving the bus and coming back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy
from bumble.hci import Address
from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError

from companion.ble.bumble_backend import advertisement_data, uuid_str
from tests.bluez.objects import (
    ADAPTER_PATH,
    BLUEZ_SERVICE,
    ERROR_DOES_NOT_EXIST,
    ERROR_FAILED,
    ERROR_IN_PROGRESS,
    ERROR_NOT_READY,
    LE_CONNECTION_ABORT_BY_LOCAL,
    Adapter1,
    Device1,
    GattCharacteristic1,
    GattDescriptor1,
    GattService1,
)

NO_RSSI = 127  # the HCI value for "not available"
RSSI_ON_THE_VIRTUAL_LINK = -55
CONNECT_TIMEOUT_S = 5.0
PREFERRED_MTU = 517  # what bluetoothd asks for

_PER_SENDER = {
    ("org.bluez.Adapter1", "StartDiscovery"),
    ("org.bluez.Adapter1", "StopDiscovery"),
    ("org.bluez.GattCharacteristic1", "StartNotify"),
    ("org.bluez.GattCharacteristic1", "StopNotify"),
}


def device_path(address: str) -> str:
    return f"{ADAPTER_PATH}/dev_{address.upper().replace(':', '_')}"


@dataclass
class Faults:
    """What goes wrong next; the test sets these, the stand-in reads them."""

    # Each Connect call takes the next (error name, message) and fails with it.
    connect_errors: deque[tuple[str, str]] = field(default_factory=deque)
    # The next this many connections come up but GATT discovery never finishes for them,
    # so ServicesResolved never arrives.
    unresolved_connections: int = 0
    # The link whose notifications the band stops sending (it stays connected).
    muted: Connection | None = None


@dataclass
class Calls:
    """What clients asked for, so tests can see what the product did at the OS boundary."""

    connect: int = 0
    start_notify: list[str] = field(default_factory=list)
    writes: list[tuple[str, bytes, str]] = field(default_factory=list)  # (char path, value, type)
    discovery_filters: list[dict[str, Any]] = field(default_factory=list)


# --- the daemon ------------------------------------------------------------------------------


@dataclass
class BandDevice:
    """What bluetoothd knows of one remote device."""

    address: str
    bumble_address: Address
    path: str
    name: str | None = None
    uuids: tuple[str, ...] = ()
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    flags: bytes = b""
    rssi: int = NO_RSSI
    rssi_valid: bool = False
    connected: bool = False
    services_resolved: bool = False
    connection: Connection | None = None
    peer: Peer | None = None
    connecting: bool = False
    interface: Device1 | None = None
    services: list[GattService1] = field(default_factory=list)
    characteristics: list[GattCharacteristic1] = field(default_factory=list)
    descriptors: list[GattDescriptor1] = field(default_factory=list)
    resolving: asyncio.Task[None] | None = None
    # Set while the device is ready (services resolved) or not connected at all.
    settled: asyncio.Event = field(default_factory=asyncio.Event)


class BlueZStandIn:
    """bluetoothd's D-Bus face over one Bumble host on a virtual link."""

    def __init__(self, bus_address: str, host: Device) -> None:
        self._bus_address = bus_address
        self._host = host
        self._bus: MessageBus | None = None
        self._adapter: Adapter1 | None = None
        self.devices: dict[str, BandDevice] = {}  # by object path
        self.powered = True
        self.discovering = False
        self._discovery_clients: set[str] = set()
        self.faults = Faults()
        self.calls = Calls()
        self._tasks: set[asyncio.Task[Any]] = set()
        host.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)

    # --- life on the bus ----------------------------------------------------------------------

    async def start(self) -> None:
        """Join the bus, export the adapter and every known device, and own ``org.bluez``."""
        bus = MessageBus(bus_address=self._bus_address, bus_type=BusType.SYSTEM)
        await bus.connect()
        bus.add_message_handler(self._note_message)
        reply = await bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=[
                    "type='signal',sender='org.freedesktop.DBus',"
                    "interface='org.freedesktop.DBus',member='NameOwnerChanged'"
                ],
            )
        )
        assert reply is not None and reply.message_type == MessageType.METHOD_RETURN
        self._bus = bus
        self._adapter = Adapter1(self)
        bus.export(ADAPTER_PATH, self._adapter)
        for state in self.devices.values():
            self._export_device(state)
        await bus.request_name(BLUEZ_SERVICE)

    async def stop(self) -> None:
        """Leave the bus as a dying bluetoothd would: the name goes at once, then the links."""
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.disconnect()
            with contextlib.suppress(Exception):
                await bus.wait_for_disconnect()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._adapter = None
        if self.discovering:
            with contextlib.suppress(Exception):
                await self._host.stop_scanning()
        self.discovering = False
        self._discovery_clients.clear()
        for state in self.devices.values():
            # A restarted bluetoothd reloads the device from storage, not its GATT objects
            # or anyone's notify sessions.
            state.interface = None
            state.services.clear()
            state.characteristics.clear()
            state.descriptors.clear()
            state.rssi_valid = False
            await self._drop(state)

    def _note_message(self, message: Message) -> bool | None:
        # dbus-fast does not tell a method who called it; the calls that depend on the
        # caller (a discovery or notify session each) are answered here instead.
        if (
            message.message_type == MessageType.METHOD_CALL
            and (message.interface, message.member) in _PER_SENDER
        ):
            self._spawn(self._answer(message))
            return True
        if (
            message.message_type == MessageType.SIGNAL
            and message.member == "NameOwnerChanged"
            and message.body[2] == ""
        ):
            self._spawn(self._sender_left(message.body[0]))
        return None

    async def _answer(self, message: Message) -> None:
        sender = message.sender
        assert sender is not None and self._bus is not None
        bus = self._bus
        try:
            if message.member == "StartDiscovery" and message.path == ADAPTER_PATH:
                await self.start_discovery(sender)
            elif message.member == "StopDiscovery" and message.path == ADAPTER_PATH:
                await self.stop_discovery(sender)
            else:
                char = self._characteristic(message.path or "")
                if message.member == "StartNotify":
                    await char.start_notify(sender)
                else:
                    await char.stop_notify(sender)
        except DBusError as exc:
            bus.send(Message.new_error(message, exc.type, exc.text))
            return
        bus.send(Message.new_method_return(message))

    def _characteristic(self, path: str) -> GattCharacteristic1:
        for state in self.devices.values():
            for char in state.characteristics:
                if char.path == path:
                    return char
        raise DBusError(
            "org.freedesktop.DBus.Error.UnknownObject", f'no interfaces at path: "{path}"'
        )

    async def _sender_left(self, sender: str) -> None:
        if sender in self._discovery_clients:
            self._discovery_clients.discard(sender)
            if not self._discovery_clients:
                await self._stop_scanning()
        for state in self.devices.values():
            for char in state.characteristics:
                if char.sessions.pop(sender, None) is not None and not char.sessions:
                    await self.unsubscribe(char)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- adapter --------------------------------------------------------------------------

    async def set_powered(self, powered: bool) -> None:
        if powered == self.powered:
            return
        self.powered = powered
        assert self._adapter is not None
        if not powered:
            self._discovery_clients.clear()
            await self._stop_scanning()
            for state in self.devices.values():
                await self._drop(state)
        self._adapter.emit_properties_changed({"Powered": powered})

    async def start_discovery(self, sender: str) -> None:
        if not self.powered:
            raise DBusError(ERROR_NOT_READY, "Resource Not Ready")
        if sender in self._discovery_clients:
            raise DBusError(ERROR_IN_PROGRESS, "Operation already in progress")
        self._discovery_clients.add(sender)
        if not self.discovering:
            await self._host.start_scanning(active=True, filter_duplicates=False)
            self._set_discovering(True)

    async def stop_discovery(self, sender: str) -> None:
        if not self.powered:
            raise DBusError(ERROR_NOT_READY, "Resource Not Ready")
        if sender not in self._discovery_clients:
            raise DBusError(ERROR_FAILED, "No discovery started")
        self._discovery_clients.discard(sender)
        if not self._discovery_clients:
            await self._stop_scanning()

    async def _stop_scanning(self) -> None:
        if not self.discovering:
            return
        with contextlib.suppress(Exception):
            await self._host.stop_scanning()
        self._set_discovering(False)
        for state in self.devices.values():
            # bluetoothd forgets the RSSI of what it no longer hears (device_set_rssi(0)).
            if state.rssi_valid and state.interface is not None:
                state.rssi_valid = False
                state.interface.emit_properties_changed({}, ["RSSI"])

    def _set_discovering(self, discovering: bool) -> None:
        self.discovering = discovering
        assert self._adapter is not None
        self._adapter.emit_properties_changed({"Discovering": discovering})

    def _on_advertisement(self, adv: Advertisement) -> None:
        if not self.discovering or self._bus is None:
            return
        data = advertisement_data(adv)
        address = adv.address.to_string(False)
        path = device_path(address)
        state = self.devices.get(path)
        if state is None:
            state = BandDevice(address=address, bumble_address=adv.address, path=path)
            self.devices[path] = state
        changed: dict[str, Any] = {}
        name = data.local_name
        if name and name != state.name:
            state.name = name
            changed["Name"] = name
            changed["Alias"] = name
        uuids = tuple(dict.fromkeys((*state.uuids, *data.service_uuids)))
        if uuids != state.uuids:
            state.uuids = uuids
            changed["UUIDs"] = list(uuids)
        if data.manufacturer_data and data.manufacturer_data != state.manufacturer_data:
            state.manufacturer_data = dict(data.manufacturer_data)
            changed["ManufacturerData"] = {
                k: Variant("ay", v) for k, v in state.manufacturer_data.items()
            }
        service_data = _service_data(adv.data)
        if service_data and service_data != state.service_data:
            state.service_data = service_data
            changed["ServiceData"] = {k: Variant("ay", v) for k, v in service_data.items()}
        flags = adv.data.get(AdvertisingData.FLAGS, raw=True)
        if isinstance(flags, bytes) and flags != state.flags:
            state.flags = flags
            changed["AdvertisingFlags"] = flags
        rssi = adv.rssi if adv.rssi != NO_RSSI else RSSI_ON_THE_VIRTUAL_LINK
        if not state.rssi_valid or rssi != state.rssi:
            state.rssi, state.rssi_valid = rssi, True
            changed["RSSI"] = rssi
        if state.interface is None:
            self._export_device(state)
        elif changed:
            state.interface.emit_properties_changed(changed)

    def _export_device(self, state: BandDevice) -> None:
        assert self._bus is not None
        state.interface = Device1(self, state)
        self._bus.export(state.path, state.interface)

    async def remove_device(self, path: str) -> None:
        state = self.devices.get(path)
        if state is None:
            raise DBusError(ERROR_DOES_NOT_EXIST, "Does Not Exist")
        await self.forget(state)

    async def forget(self, state: BandDevice) -> None:
        """Remove a device as RemoveDevice does: the objects go first, the link after."""
        del self.devices[state.path]
        self._unexport_gatt(state)
        assert self._bus is not None
        self._bus.unexport(state.path)
        state.interface = None
        if state.resolving is not None:
            state.resolving.cancel()
        connection, state.connection = state.connection, None
        state.connected = False
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()

    # --- connections ----------------------------------------------------------------------

    def require_ready(self, state: BandDevice) -> None:
        if not state.connected or state.peer is None or not state.services_resolved:
            raise DBusError(ERROR_FAILED, "Not connected")

    async def connect(self, state: BandDevice) -> None:
        self.calls.connect += 1
        if not self.powered:
            raise DBusError(ERROR_NOT_READY, "Resource Not Ready")
        if state.connecting:
            raise DBusError(ERROR_IN_PROGRESS, "In Progress")
        if self.faults.connect_errors:
            name, text = self.faults.connect_errors.popleft()
            if text == LE_CONNECTION_ABORT_BY_LOCAL:
                # bluetoothd saw the link come up and then cancelled it (src/device.c).
                self._set_device(state, Connected=True)
                await asyncio.sleep(0.05)
                self._set_device(state, Connected=False)
            raise DBusError(name, text)
        if state.connected:
            return
        state.connecting = True
        try:
            try:
                connection = await self._host.connect(
                    state.bumble_address, timeout=CONNECT_TIMEOUT_S
                )
            except Exception as exc:
                raise DBusError(ERROR_FAILED, f"le-connection-abort-by-local: {exc}") from exc
        finally:
            state.connecting = False
        state.connection = connection
        state.peer = Peer(connection)
        connection.on(
            Connection.EVENT_DISCONNECTION, lambda _reason: self._on_gone(state, connection)
        )
        self._set_device(state, Connected=True)
        # Connect replies once the link is up; discovery goes on behind it (att_connect_cb).
        state.resolving = asyncio.create_task(self._resolve(state))

    async def _resolve(self, state: BandDevice) -> None:
        peer = state.peer
        assert peer is not None
        with contextlib.suppress(Exception):
            await peer.request_mtu(PREFERRED_MTU)
        await peer.discover_services()
        for service in peer.services:
            await service.discover_characteristics()
            for characteristic in service.characteristics:
                await characteristic.discover_descriptors()
        if self.faults.unresolved_connections > 0:
            self.faults.unresolved_connections -= 1
            return
        if state.services:
            # The attribute cache outlived the link; the objects now speak through this one.
            for char in state.characteristics:
                char.proxy = _same_characteristic(peer, char.proxy)
            for desc in state.descriptors:
                desc.proxy = _same_descriptor(peer, desc.proxy)
        else:
            self._export_gatt(state, peer)
        for char in state.characteristics:
            if char.sessions:
                # Sessions outlive the link; bluetoothd registers them again when ready.
                await self.register_notify(state, char)
        self._set_device(state, ServicesResolved=True)

    def _export_gatt(self, state: BandDevice, peer: Peer) -> None:
        assert self._bus is not None
        for service in peer.services:
            service_path = f"{state.path}/service{service.handle:04x}"
            exported = GattService1(service_path, state.path, service)
            self._bus.export(service_path, exported)
            state.services.append(exported)
            for characteristic in service.characteristics:
                char_path = f"{service_path}/char{characteristic.handle:04x}"
                char = GattCharacteristic1(self, state, char_path, service_path, characteristic)
                self._bus.export(char_path, char)
                state.characteristics.append(char)
                for descriptor in characteristic.descriptors:
                    desc_path = f"{char_path}/desc{descriptor.handle:04x}"
                    desc = GattDescriptor1(self, state, desc_path, char_path, descriptor)
                    self._bus.export(desc_path, desc)
                    state.descriptors.append(desc)
        # Device1.UUIDs lists the services found on the device too, not only advertised ones.
        uuids = tuple(dict.fromkeys((*state.uuids, *(uuid_str(s.uuid) for s in peer.services))))
        if uuids != state.uuids and state.interface is not None:
            state.uuids = uuids
            state.interface.emit_properties_changed({"UUIDs": list(uuids)})

    def _unexport_gatt(self, state: BandDevice) -> None:
        assert self._bus is not None
        for objects in (state.descriptors, state.characteristics, state.services):
            for exported in reversed(objects):
                self._bus.unexport(exported.path)
            objects.clear()

    async def until_ready_or_gone(self, state: BandDevice) -> None:
        await state.settled.wait()

    async def register_notify(self, state: BandDevice, char: GattCharacteristic1) -> None:
        if not char.subscribed:

            def on_value(value: bytes) -> None:
                muted = state.connection is not None and state.connection is self.faults.muted
                if char.sessions and not muted:
                    char.set_value(bytes(value))

            await self.att(char.proxy.subscribe(on_value))
            char.set_subscribed(True)
        for sender in char.sessions:
            char.sessions[sender] = True

    async def unsubscribe(self, char: GattCharacteristic1) -> None:
        if char.subscribed and char.device.connected:
            with contextlib.suppress(Exception):
                await char.proxy.unsubscribe()
        char.set_subscribed(False)

    async def att(self, operation: Any) -> Any:
        """Run one ATT operation; its failures come back as bluetoothd words them."""
        try:
            return await operation
        except DBusError:
            raise
        except Exception as exc:
            code = getattr(exc, "error_code", None)
            if isinstance(code, int):
                raise DBusError(
                    ERROR_FAILED, f"Operation failed with ATT error: 0x{code:02x}"
                ) from exc
            raise DBusError(ERROR_FAILED, "Not connected") from exc

    async def disconnect(self, state: BandDevice) -> None:
        connection = state.connection
        if connection is None:
            return
        await self._drop(state)

    async def _drop(self, state: BandDevice) -> None:
        connection = state.connection
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()
        self._on_gone(state)

    def _on_gone(self, state: BandDevice, connection: Connection | None = None) -> None:
        """The link went down (``connection``: the one that did, when the radio says so)."""
        if connection is not None and state.connection is not connection:
            return  # an earlier link's news
        if state.connection is None and not state.connected:
            return
        state.connection = None
        state.peer = None
        if state.resolving is not None:
            state.resolving.cancel()
            state.resolving = None
        for char in state.characteristics:
            char.set_subscribed(False)
            for sender in char.sessions:
                char.sessions[sender] = False
        if state.interface is None:
            state.connected = state.services_resolved = False
            state.settled.set()
            return
        self._set_device(state, ServicesResolved=False, Connected=False)

    def _set_device(self, state: BandDevice, **values: bool) -> None:
        if "Connected" in values:
            state.connected = values["Connected"]
        if "ServicesResolved" in values:
            state.services_resolved = values["ServicesResolved"]
        if state.connected and not state.services_resolved:
            state.settled.clear()
        else:
            state.settled.set()
        if state.interface is not None:
            state.interface.emit_properties_changed(dict(values))

    # --- faults ---------------------------------------------------------------------------

    def band(self) -> BandDevice:
        """The one device the tests care about (the first heard)."""
        return next(iter(self.devices.values()))

    async def forget_band(self) -> None:
        await self.forget(self.band())


def _service_data(data: AdvertisingData) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for ad_type in (
        AdvertisingData.SERVICE_DATA_16_BIT_UUID,
        AdvertisingData.SERVICE_DATA_32_BIT_UUID,
        AdvertisingData.SERVICE_DATA_128_BIT_UUID,
    ):
        for entry in data.get_all(ad_type):
            uuid, payload = entry  # type: ignore[misc]
            found[uuid_str(uuid)] = bytes(payload)
    return found


def _same_characteristic(peer: Peer, old: CharacteristicProxy[bytes]) -> Any:
    for service in peer.services:
        for characteristic in service.characteristics:
            if characteristic.handle == old.handle:
                return characteristic
    return old


def _same_descriptor(peer: Peer, old: DescriptorProxy) -> Any:
    for service in peer.services:
        for characteristic in service.characteristics:
            for descriptor in characteristic.descriptors:
                if descriptor.handle == old.handle:
                    return descriptor
    return old
