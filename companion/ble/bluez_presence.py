"""Whether bluetoothd is on the system bus, and which devices it has let go of.

bleak's BlueZ backend does not tell a client when bluetoothd leaves (a crash, a restart, an
upgrade) or removes its device (``RemoveDevice``, as settings apps and ``bluetoothctl
remove`` do): a link it had open keeps looking connected, with nothing behind it, until
something times out. The bus says both at once: the name's owner changes, and bluetoothd
sends ``InterfacesRemoved`` for the device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

_LOGGER = logging.getLogger(__name__)

BLUEZ_SERVICE = "org.bluez"
DEVICE_INTERFACE = "org.bluez.Device1"
_MATCH_RULES = (
    "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
    f"member='NameOwnerChanged',arg0='{BLUEZ_SERVICE}'",
    f"type='signal',sender='{BLUEZ_SERVICE}',interface='org.freedesktop.DBus.ObjectManager',"
    "member='InterfacesRemoved'",
)


class BlueZPresence:
    """Calls ``on_change(present)`` when bluetoothd leaves the system bus or comes back, and
    ``on_device_removed(path)`` when it removes a device object."""

    def __init__(
        self, on_change: Callable[[bool], None], on_device_removed: Callable[[str], None]
    ) -> None:
        self._on_change = on_change
        self._on_device_removed = on_device_removed
        self._bus: Any = None

    async def async_start(self) -> bool:
        """Start watching; False, watching nothing, where there is no system bus to watch."""
        try:
            from dbus_fast import BusType, Message, MessageType
            from dbus_fast.aio import MessageBus
        except ImportError:  # not Linux: there is no bluetoothd
            return False
        bus = MessageBus(bus_type=BusType.SYSTEM)
        try:
            await bus.connect()
            for rule in _MATCH_RULES:
                reply = await bus.call(
                    Message(
                        destination="org.freedesktop.DBus",
                        path="/org/freedesktop/DBus",
                        interface="org.freedesktop.DBus",
                        member="AddMatch",
                        signature="s",
                        body=[rule],
                    )
                )
                if reply is None or reply.message_type != MessageType.METHOD_RETURN:
                    raise RuntimeError(f"AddMatch refused: {reply and reply.body}")
        except Exception as exc:  # no bus, no permission: the link's own errors say which
            _LOGGER.debug("not watching bluetoothd on the system bus: %s", exc)
            bus.disconnect()
            return False
        bus.add_message_handler(self._on_message)
        self._bus = bus
        return True

    def _on_message(self, message: Any) -> None:
        if message.member == "NameOwnerChanged" and message.body[0] == BLUEZ_SERVICE:
            present = bool(message.body[2])
            _LOGGER.info("bluetoothd %s the system bus", "joined" if present else "left")
            self._on_change(present)
        elif message.member == "InterfacesRemoved" and DEVICE_INTERFACE in message.body[1]:
            self._on_device_removed(message.body[0])

    def stop(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.disconnect()
