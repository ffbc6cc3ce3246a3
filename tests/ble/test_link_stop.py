"""Closing the link at any moment of its life ends it: during the first connect too."""

from __future__ import annotations

import asyncio

import pytest

from companion.ble.link import BandLink
from companion.ble.profiles import load_profiles
from companion.ble.transport import BandChoice, band_link
from companion.bus import EventBus
from companion.events import LinkState

STOP_WITHIN_S = 20.0


@pytest.mark.parametrize("hops", [0, 1, 3, 10, 30])
async def test_a_link_closed_while_it_first_connects_closes(hops: int) -> None:
    async def open_and_close() -> BandLink:
        async with band_link(BandChoice(simulate=True), EventBus(), load_profiles(None)) as stack:
            for _ in range(hops):
                await asyncio.to_thread(lambda: None)
            return stack.link

    link = await asyncio.wait_for(open_and_close(), STOP_WITHIN_S)
    assert link.state is LinkState.CLOSED
    assert not link.is_connected
