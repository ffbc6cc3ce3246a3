"""Building the way to a band: the OS stack, a Bumble transport, or the in-process virtual band.

This is the one place that decides which backend bleak uses.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from companion.ble.link import BandLink, BleakTransport
from companion.ble.profiles import DeviceProfile
from companion.ble.radio import VIRTUAL_TRANSPORT, VirtualRadio, powered_device
from companion.ble.resonance_curve import SIMULATED_RESONANCE, ResonanceCurve
from companion.ble.virtual_band import BAND_ADDRESS, Vibration, VirtualBand
from companion.ble.wearer import Wearer, WearerMode
from companion.bus import EventBus
from companion.clock import WallClock

_LOGGER = logging.getLogger(__name__)

# Our own host's address on Bumble transports (a static random address).
COMPANION_ADDRESS = "C0:FF:EE:00:00:AA"


@dataclass(frozen=True)
class BandChoice:
    hci: str | None = None
    simulate: bool = False
    device: str | None = None
    profile: DeviceProfile | None = None
    wearer_mode: WearerMode = WearerMode.FOLLOW_CUES
    seed: int = 7
    # The virtual wearer's baroreflex resonance (None: the same heart swing at every pace).
    resonance: ResonanceCurve | None = SIMULATED_RESONANCE


@dataclass
class LinkStack:
    link: BandLink
    band: VirtualBand | None


@contextlib.asynccontextmanager
async def virtual_band(
    transport: str,
    *,
    radio: VirtualRadio | None = None,
    mode: WearerMode = WearerMode.FOLLOW_CUES,
    seed: int = 7,
    on_vibration: Callable[[Vibration], None] | None = None,
    resonance: ResonanceCurve | None = SIMULATED_RESONANCE,
) -> AsyncIterator[VirtualBand]:
    async with powered_device(
        transport, name="virtual-band", address=BAND_ADDRESS, radio=radio
    ) as device:
        wearer = Wearer(seed=seed, mode=mode, resonance=resonance)
        band = VirtualBand(device, wearer, on_vibration=on_vibration)
        await band.start()
        try:
            yield band
        finally:
            await band.stop()


@contextlib.asynccontextmanager
async def bleak_transport(
    choice: BandChoice, radio: VirtualRadio | None = None
) -> AsyncIterator[BleakTransport]:
    if choice.simulate or choice.hci is not None:
        transport = VIRTUAL_TRANSPORT if choice.simulate else str(choice.hci)
        async with powered_device(
            transport, name="companion", address=COMPANION_ADDRESS, radio=radio
        ) as device:
            yield BleakTransport.over_bumble(device, f"Bumble over {transport}")
    else:
        yield BleakTransport()


@contextlib.asynccontextmanager
async def band_link(
    choice: BandChoice,
    bus: EventBus,
    profiles: Mapping[str, DeviceProfile],
    *,
    start: bool = True,
    clock: WallClock | None = None,
) -> AsyncIterator[LinkStack]:
    """A BandLink on the chosen transport; with ``simulate``, the virtual band beside it."""
    async with contextlib.AsyncExitStack() as stack:
        radio: VirtualRadio | None = None
        band: VirtualBand | None = None
        if choice.simulate:
            radio = VirtualRadio()
            band = await stack.enter_async_context(
                virtual_band(
                    VIRTUAL_TRANSPORT,
                    radio=radio,
                    mode=choice.wearer_mode,
                    seed=choice.seed,
                    resonance=choice.resonance,
                )
            )
        transport = await stack.enter_async_context(bleak_transport(choice, radio))
        link = BandLink(
            bus=bus,
            profiles=profiles,
            transport=transport,
            wanted=choice.device,
            profile=choice.profile,
            clock=clock,
        )
        if start:
            await link.async_start()
        stack.push_async_callback(link.async_stop)
        yield LinkStack(link=link, band=band)
