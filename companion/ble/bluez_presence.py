"""Whether bluetoothd is on the system bus.

bleak's BlueZ backend does not watch for bluetoothd leaving (a crash, a restart, an
upgrade): a link it had open keeps looking connected, with nothing behind it, until
something times out. The name's owner changing on the bus says so at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

_LOGGER = logging.getLogger(__name__)

BLUEZ_SERVICE = "org.bluez"
_BLUEZ_OWNER_CHANGED = (
    "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
    f"member='NameOwnerChanged',arg0='{BLUEZ_SERVICE}'"
)


class BlueZPresence:
    """Calls ``on_change(present)`` when bluetoothd leaves the system bus or comes back."""

    def __init__(self, on_change: Callable[[bool], None]) -> None:
        self._on_change = on_change
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
            reply = await bus.call(
                Message(
                    destination="org.freedesktop.DBus",
                    path="/org/freedesktop/DBus",
                    interface="org.freedesktop.DBus",
                    member="AddMatch",
                    signature="s",
                    body=[_BLUEZ_OWNER_CHANGED],
                )
            )
        except Exception as exc:  # no bus, no permission: the link's own errors say which
            _LOGGER.debug("not watching bluetoothd on the system bus: %s", exc)
            bus.disconnect()
            return False
        if reply is None or reply.message_type != MessageType.METHOD_RETURN:
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

    def stop(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.disconnect()
