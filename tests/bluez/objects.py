"""The ``org.bluez`` D-Bus objects the stand-in exports, shaped as BlueZ's API documents
(doc/org.bluez.Adapter.rst, Device.rst, GattService.rst, GattCharacteristic.rst,
GattDescriptor.rst). Each is a thin face: what it does is ``BlueZStandIn``'s business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy, ServiceProxy
from dbus_fast import Variant
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusDict,
    DBusInt16,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt16,
    DBusUInt32,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.errors import DBusError
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from companion.ble.bumble_backend import uuid_str

if TYPE_CHECKING:
    from tests.bluez.standin import BandDevice, BlueZStandIn

BLUEZ_SERVICE = "org.bluez"
ADAPTER_PATH = "/org/bluez/hci0"
ADAPTER_ADDRESS = "C0:FF:EE:00:00:B0"

DBusStrList = Annotated[list[str], DBusSignature("as")]
DBusManufacturerData = Annotated[dict[int, Variant], DBusSignature("a{qv}")]

# Error names and texts as bluetoothd sends them (src/error.c, src/error.h).
ERROR_FAILED = "org.bluez.Error.Failed"
ERROR_IN_PROGRESS = "org.bluez.Error.InProgress"
ERROR_NOT_READY = "org.bluez.Error.NotReady"
ERROR_NOT_CONNECTED = "org.bluez.Error.NotConnected"
ERROR_NOT_SUPPORTED = "org.bluez.Error.NotSupported"
ERROR_DOES_NOT_EXIST = "org.bluez.Error.DoesNotExist"
ERROR_INVALID_ARGUMENTS = "org.bluez.Error.InvalidArguments"
LE_CONNECTION_ABORT_BY_LOCAL = "le-connection-abort-by-local"

_FLAG_NAMES: tuple[tuple[Characteristic.Properties, str], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


class Adapter1(ServiceInterface):
    def __init__(self, bluez: BlueZStandIn) -> None:
        super().__init__("org.bluez.Adapter1")
        self._bluez = bluez

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        return ADAPTER_ADDRESS

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> DBusStr:
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:
        return "companion-test-adapter"

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> DBusStr:
        return "companion-test-adapter"

    @dbus_property(access=PropertyAccess.READ)
    def Class(self) -> DBusUInt32:
        return 0

    @dbus_property()
    def Powered(self) -> DBusBool:
        return self._bluez.powered

    @Powered.setter
    async def Powered(self, value: DBusBool) -> None:
        await self._bluez.set_powered(value)

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Pairable(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Discovering(self) -> DBusBool:
        return self._bluez.discovering

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> DBusStrList:
        return []

    @dbus_property(access=PropertyAccess.READ)
    def Roles(self) -> DBusStrList:
        return ["central", "peripheral"]

    # StartDiscovery and StopDiscovery depend on the caller: BlueZStandIn answers them.

    @dbus_method()
    def SetDiscoveryFilter(self, properties: DBusDict):  # type: ignore[no-untyped-def]
        self._bluez.calls.discovery_filters.append(
            {key: value.value for key, value in properties.items()}
        )
        transport = properties.get("Transport")
        if transport is not None and transport.value not in ("auto", "le", "bredr"):
            raise DBusError(ERROR_INVALID_ARGUMENTS, "Invalid arguments in method call")

    @dbus_method()
    def GetDiscoveryFilters(self) -> DBusStrList:
        return ["UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData", "Discoverable"]

    @dbus_method()
    async def RemoveDevice(self, device: DBusObjectPath):  # type: ignore[no-untyped-def]
        await self._bluez.remove_device(device)


class Device1(ServiceInterface):
    def __init__(self, bluez: BlueZStandIn, state: BandDevice) -> None:
        super().__init__("org.bluez.Device1")
        self._bluez = bluez
        self._state = state

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        return self._state.address

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> DBusStr:
        return "public" if self._state.bumble_address.is_public else "random"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:
        return self._state.name or ""

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> DBusStr:
        return self._state.name or self._state.address.replace(":", "-")

    @dbus_property(access=PropertyAccess.READ)
    def Adapter(self) -> DBusObjectPath:
        return ADAPTER_PATH

    @dbus_property(access=PropertyAccess.READ)
    def Paired(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Bonded(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Trusted(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Blocked(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def LegacyPairing(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Connected(self) -> DBusBool:
        return self._state.connected

    @dbus_property(access=PropertyAccess.READ)
    def ServicesResolved(self) -> DBusBool:
        return self._state.services_resolved

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> DBusStrList:
        return list(self._state.uuids)

    @dbus_property(access=PropertyAccess.READ)
    def RSSI(self) -> DBusInt16:
        return self._state.rssi

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> DBusManufacturerData:
        return {k: Variant("ay", v) for k, v in self._state.manufacturer_data.items()}

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> DBusDict:
        return {k: Variant("ay", v) for k, v in self._state.service_data.items()}

    @dbus_property(access=PropertyAccess.READ)
    def AdvertisingFlags(self) -> DBusBytes:
        return self._state.flags

    @dbus_method()
    async def Connect(self):  # type: ignore[no-untyped-def]
        await self._bluez.connect(self._state)

    @dbus_method()
    async def Disconnect(self):  # type: ignore[no-untyped-def]
        await self._bluez.disconnect(self._state)

    @dbus_method()
    def Pair(self):  # type: ignore[no-untyped-def]
        raise DBusError(ERROR_NOT_SUPPORTED, "Operation is not supported")


class GattService1(ServiceInterface):
    def __init__(self, path: str, device: str, proxy: ServiceProxy) -> None:
        super().__init__("org.bluez.GattService1")
        self.path = path
        self._device = device
        self._proxy = proxy

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return uuid_str(self._proxy.uuid)

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def Device(self) -> DBusObjectPath:
        return self._device

    @dbus_property(access=PropertyAccess.READ)
    def Includes(self) -> Annotated[list[str], DBusSignature("ao")]:
        return []

    @dbus_property(access=PropertyAccess.READ)
    def Handle(self) -> DBusUInt16:
        return int(self._proxy.handle)


class GattCharacteristic1(ServiceInterface):
    def __init__(
        self, bluez: BlueZStandIn, state: BandDevice, path: str, service: str, proxy: Any
    ) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self._bluez = bluez
        self._state = state
        self.device = state
        self.path = path
        self._service = service
        self.proxy: CharacteristicProxy[bytes] = proxy
        self.value = b""
        # D-Bus senders with a notify session; True once registered at the band.
        self.sessions: dict[str, bool] = {}
        self.subscribed = False

    @property
    def can_notify(self) -> bool:
        props = self.proxy.properties
        return bool(props & (Characteristic.Properties.NOTIFY | Characteristic.Properties.INDICATE))

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return uuid_str(self.proxy.uuid)

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> DBusObjectPath:
        return self._service

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> DBusBool:
        return self.subscribed

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> DBusStrList:
        return [name for flag, name in _FLAG_NAMES if self.proxy.properties & flag]

    @dbus_property(access=PropertyAccess.READ)
    def MTU(self) -> DBusUInt16:
        connection = self._state.connection
        return int(connection.att_mtu) if connection is not None else 23

    @dbus_property(access=PropertyAccess.READ)
    def Handle(self) -> DBusUInt16:
        return int(self.proxy.handle)

    @dbus_method(name="ReadValue")
    async def read_value(self, options: DBusDict) -> DBusBytes:
        self._bluez.require_ready(self._state)
        value = bytes(await self._bluez.att(self.proxy.read_value()))
        self.set_value(value)
        return value

    @dbus_method(name="WriteValue")
    async def write_value(self, value: DBusBytes, options: DBusDict):  # type: ignore[no-untyped-def]
        self._bluez.require_ready(self._state)
        kind = options["type"].value if "type" in options else None
        props = self.proxy.properties
        if kind is None:
            kind = "request" if props & Characteristic.Properties.WRITE else "command"
        if kind not in ("request", "command"):
            raise DBusError(ERROR_NOT_SUPPORTED, "Operation is not supported")
        if kind == "command" and not props & Characteristic.Properties.WRITE_WITHOUT_RESPONSE:
            raise DBusError(ERROR_NOT_SUPPORTED, "Operation is not supported")
        self._bluez.calls.writes.append((self.path, bytes(value), kind))
        await self._bluez.att(self.proxy.write_value(bytes(value), with_response=kind == "request"))

    async def start_notify(self, sender: str) -> None:
        self._bluez.calls.start_notify.append(self.path)
        if not self.can_notify:
            raise DBusError(ERROR_NOT_SUPPORTED, "Operation is not supported")
        if sender in self.sessions:
            if self.sessions[sender]:
                return
            raise DBusError(ERROR_IN_PROGRESS, "In Progress")
        self.sessions[sender] = False
        if not self._state.connected:
            return  # registered at the band once it is connected again, as bluetoothd does
        if not self._state.services_resolved:
            # The GATT client is not ready: bluetoothd registers the session when it is,
            # and answers then (register_notify_cb after bt_gatt_client_ready).
            await self._bluez.until_ready_or_gone(self._state)
            if self.sessions.get(sender) is not True:
                raise DBusError(ERROR_FAILED, "Not connected")
            return
        await self._bluez.register_notify(self._state, self)

    async def stop_notify(self, sender: str) -> None:
        if self.sessions.pop(sender, None) is None:
            raise DBusError(ERROR_FAILED, "No notify session started")
        if not self.sessions:
            await self._bluez.unsubscribe(self)

    def set_value(self, value: bytes) -> None:
        self.value = value
        self.emit_properties_changed({"Value": value})

    def set_subscribed(self, subscribed: bool) -> None:
        if subscribed != self.subscribed:
            self.subscribed = subscribed
            self.emit_properties_changed({"Notifying": subscribed})


class GattDescriptor1(ServiceInterface):
    def __init__(
        self, bluez: BlueZStandIn, state: BandDevice, path: str, characteristic: str, proxy: Any
    ) -> None:
        super().__init__("org.bluez.GattDescriptor1")
        self._bluez = bluez
        self._state = state
        self.path = path
        self._characteristic = characteristic
        self.proxy: DescriptorProxy = proxy
        self.value = b""

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return uuid_str(self.proxy.type)

    @dbus_property(access=PropertyAccess.READ)
    def Characteristic(self) -> DBusObjectPath:
        return self._characteristic

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> DBusStrList:
        return ["read", "write"]

    @dbus_method(name="ReadValue")
    async def read_value(self, options: DBusDict) -> DBusBytes:
        self._bluez.require_ready(self._state)
        self.value = bytes(await self._bluez.att(self.proxy.read_value()))
        self.emit_properties_changed({"Value": self.value})
        return self.value

    @dbus_method(name="WriteValue")
    async def write_value(self, value: DBusBytes, options: DBusDict):  # type: ignore[no-untyped-def]
        self._bluez.require_ready(self._state)
        await self._bluez.att(self.proxy.write_value(bytes(value), with_response=True))
