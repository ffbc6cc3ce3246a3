"""Bumble hosts on HCI transports: a USB dongle, TCP virtual controllers, or an in-process link.

A transport is named by a string, as Bumble does (``usb:0``, ``tcp-client:127.0.0.1:9001``).
The extra name ``virtual`` means a controller on this process's own virtual link, which is
how ``make run`` and the tests put the companion and the virtual band on one radio.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink

from companion.errors import TransportError

_LOGGER = logging.getLogger(__name__)

VIRTUAL_TRANSPORT = "virtual"


@dataclass
class VirtualRadio:
    """One shared in-process link; every controller attached to it can hear the others."""

    link: LocalLink = field(default_factory=LocalLink)
    _attached: int = 0

    def attach(self, name: str, address: str) -> Device:
        self._attached += 1
        controller = Controller(f"{name}-controller", link=self.link, public_address=address)
        host = Host(controller, AsyncPipeSink(controller))
        return Device(name=name, address=Address(address), host=host)


@contextlib.asynccontextmanager
async def powered_device(
    transport: str, *, name: str, address: str, radio: VirtualRadio | None = None
) -> AsyncIterator[Device]:
    """A powered-on Bumble device on ``transport``; closed (and its transport) on exit."""
    if transport == VIRTUAL_TRANSPORT:
        if radio is None:
            raise TransportError("the 'virtual' transport needs an in-process VirtualRadio")
        device = radio.attach(name, address)
        await device.power_on()
        try:
            yield device
        finally:
            with contextlib.suppress(Exception):
                await device.power_off()
        return

    try:
        hci = await open_transport(transport)
    except Exception as exc:  # Bumble raises a variety of types for bad specs and dead ports
        raise TransportError(f"cannot open HCI transport {transport!r}: {exc}") from exc
    try:
        device = Device.with_hci(name, Address(address), hci.source, hci.sink)
        await device.power_on()
        _LOGGER.info("Bumble host %s powered on over %s", name, transport)
        yield device
    finally:
        with contextlib.suppress(Exception):
            await hci.close()
