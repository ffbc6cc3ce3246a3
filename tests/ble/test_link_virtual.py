"""BandLink end to end over an in-process virtual radio: the real bleak and Bumble stacks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from companion.ble.profiles import load_profiles
from companion.bus import EventBus
from companion.events import Event, HeartRateSample, LinkChanged, LinkState, PacketDropped
from companion.links import BandChoice, LinkStack, band_link
from tests.support import eventually


class Recorded:
    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        bus.subscribe(self.events.append)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]

    def link_states(self) -> list[LinkState]:
        return [e.state for e in self.events if isinstance(e, LinkChanged)]


@pytest.fixture
async def simulated() -> AsyncIterator[tuple[LinkStack, Recorded]]:
    bus = EventBus()
    recorded = Recorded(bus)
    async with band_link(BandChoice(simulate=True), bus, load_profiles(None)) as stack:
        assert await stack.link.async_wait_connected(15)
        yield stack, recorded


async def test_link_finds_the_virtual_band_by_its_profile_and_streams_heart_rate_with_rr(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, recorded = simulated
    await eventually(lambda: len(recorded.of(HeartRateSample)) >= 3, what="three samples")

    samples = [e for e in recorded.of(HeartRateSample) if isinstance(e, HeartRateSample)]
    assert stack.link.profile is not None and stack.link.profile.name == "immediate-alert"
    assert recorded.link_states()[:3] == [
        LinkState.SCANNING,
        LinkState.CONNECTING,
        LinkState.CONNECTED,
    ]
    assert all(40 <= s.hr <= 100 and s.contact is True for s in samples)
    assert any(s.rr_ms for s in samples)
    assert all(300 <= rr <= 2000 for s in samples for rr in s.rr_ms)
    assert stack.link.battery is not None and 0 <= stack.link.battery <= 100


async def test_a_cue_reaches_the_band_as_the_profile_writes(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, _ = simulated
    assert stack.band is not None

    assert stack.link.run_cue("hold-end") is True
    await eventually(lambda: len(stack.band.vibrations) >= 2, what="two alert writes")

    first, second = list(stack.band.vibrations)[:2]
    assert (first.value, second.value) == (b"\x02", b"\x00")
    assert first.characteristic == "00002a06-0000-1000-8000-00805f9b34fb"
    # The profile spaces them 0.6 s apart; allow the scheduler its slack.
    assert 0.5 <= second.mono - first.mono <= 0.9


async def test_a_malformed_packet_is_counted_and_dropped_and_the_stream_goes_on(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, recorded = simulated
    assert stack.band is not None
    stack.band.send_raw_measurement(b"\x10\x48\x01")  # RR flag set, odd RR byte count

    await eventually(lambda: bool(recorded.of(PacketDropped)), what="the dropped packet")
    before = len(recorded.of(HeartRateSample))
    await eventually(lambda: len(recorded.of(HeartRateSample)) > before, what="more samples")

    assert stack.link.dropped_packets == 1
    dropped = recorded.of(PacketDropped)[0]
    assert isinstance(dropped, PacketDropped) and dropped.total == 1


async def test_link_reconnects_after_the_band_drops_and_the_stream_resumes(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, recorded = simulated
    assert stack.band is not None
    await eventually(lambda: bool(recorded.of(HeartRateSample)), what="a first sample")

    await stack.band.drop_link(away_s=1.0)
    await eventually(lambda: LinkState.LOST in recorded.link_states(), what="the loss")
    assert stack.link.run_cue("breath-in") is False  # nothing reaches a wrist that is away
    await eventually(lambda: LinkState.RECONNECTED in recorded.link_states(), 20, "reconnection")
    reconnected_at = len(recorded.events)
    await eventually(
        lambda: any(isinstance(e, HeartRateSample) for e in recorded.events[reconnected_at:]),
        what="samples after reconnection",
    )

    states = recorded.link_states()
    assert states.index(LinkState.LOST) < states.index(LinkState.RECONNECTED)
    assert stack.link.run_cue("breath-in") is True
