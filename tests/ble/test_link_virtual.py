"""BandLink end to end over an in-process virtual radio: the real bleak and Bumble stacks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from companion.ble.found import NO_RSSI
from companion.ble.profiles import load_profiles
from companion.ble.transport import BandChoice, LinkStack, band_link
from companion.ble.virtual_band import BAND_ADDRESS, BAND_NAME
from companion.bus import EventBus
from companion.events import Event, HeartRateSample, LinkChanged, LinkState, PacketDropped
from companion.json_records import to_json
from companion.routines.haptics import Vocabulary
from tests.support import eventually

# On virtual time: silences, drops and reconnections take no real time.
pytestmark = pytest.mark.virtual_time


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


async def test_impossible_heart_figures_are_counted_as_dropped_and_never_published(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, recorded = simulated
    assert stack.band is not None
    await eventually(lambda: bool(recorded.of(HeartRateSample)), what="a first sample")
    stack.band.send_raw_measurement(b"\x00\x00")  # 0 bpm
    stack.band.send_raw_measurement(b"\x01\xff\xff")  # 65535 bpm
    stack.band.send_raw_measurement(b"\x10\x42\xff\xff")  # 66 bpm, RR 65535/1024 s = 64 s

    await eventually(lambda: len(recorded.of(PacketDropped)) >= 3, what="three dropped")
    reasons = [e.reason for e in recorded.of(PacketDropped) if isinstance(e, PacketDropped)]
    assert "heart rate 0 bpm outside 20-250 bpm" in reasons
    assert "heart rate 65535 bpm outside 20-250 bpm" in reasons
    assert "RR 63999 ms outside 240-3000 ms" in reasons
    samples = [e for e in recorded.of(HeartRateSample) if isinstance(e, HeartRateSample)]
    assert all(20 <= s.hr <= 250 for s in samples)
    assert all(240 <= rr <= 3000 for s in samples for rr in s.rr_ms)
    # The 66 bpm reading itself was real; only its impossible RR was left out.
    assert any(s.hr == 66 and s.rr_ms == () for s in samples)


async def test_a_connected_band_that_stops_notifying_is_reported_silent_then_reconnected(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, recorded = simulated
    assert stack.band is not None
    await eventually(lambda: bool(recorded.of(HeartRateSample)), what="a first sample")

    stack.band.go_silent(60.0)
    await eventually(lambda: LinkState.SILENT in recorded.link_states(), 10, "the silence")
    assert (stack.link.state, stack.link.state_detail) == (LinkState.SILENT, "connected, no data")
    await eventually(lambda: LinkState.LOST in recorded.link_states(), 15, "the reconnect")
    lost = next(
        e for e in recorded.of(LinkChanged) if isinstance(e, LinkChanged) and e.state == "lost"
    )
    stack.band.go_silent(0.0)
    await eventually(lambda: LinkState.RECONNECTED in recorded.link_states(), 20, "reconnection")
    resumed_at = len(recorded.events)
    await eventually(
        lambda: any(isinstance(e, HeartRateSample) for e in recorded.events[resumed_at:]),
        what="samples after reconnection",
    )
    states = recorded.link_states()
    assert states.index(LinkState.SILENT) < states.index(LinkState.LOST)
    assert "no data for" in lost.detail


async def test_a_silent_band_that_speaks_again_is_connected_again(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, recorded = simulated
    assert stack.band is not None
    await eventually(lambda: bool(recorded.of(HeartRateSample)), what="a first sample")
    stack.band.go_silent(6.5)
    await eventually(lambda: LinkState.SILENT in recorded.link_states(), 10, "the silence")
    await eventually(lambda: stack.link.state == LinkState.CONNECTED, 10, "data again")
    assert LinkState.LOST not in recorded.link_states()


async def test_two_cues_started_at_once_reach_the_band_one_after_the_other_never_interleaved(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, _ = simulated
    band = stack.band
    assert band is not None

    assert stack.link.run_cue("hold-end") is True
    assert stack.link.run_cue("breath-in") is True  # lower: waits for the band to be still
    await eventually(lambda: len(band.vibrations) >= 4, what="both patterns")

    got = list(band.vibrations)[:4]
    assert [v.value for v in got] == [b"\x02", b"\x00", b"\x01", b"\x00"]
    # The breath-in starts after the hold-end's 0.6 s and 0.4 s of stillness.
    assert got[2].mono - got[0].mono >= 0.95


async def test_pain_cuts_the_pattern_playing_with_a_stop_first_and_is_felt_whole(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, _ = simulated
    band = stack.band
    profile = stack.link.profile
    assert band is not None and profile is not None

    assert stack.link.run_cue("reminder") is True  # a 0.8 s mild buzz
    await eventually(lambda: len(band.vibrations) >= 1, what="the reminder's buzz")
    assert stack.link.run_cue("pain") is True
    await eventually(lambda: len(band.vibrations) >= 8, 15, "the whole pain pattern")
    await asyncio.sleep(1.0)  # nothing of the reminder comes after

    values = [v.value.hex() for v in band.vibrations]
    assert values == ["01", "00", "02", "00", "02", "00", "02", "00"]
    reading = band.felt(Vocabulary.from_profile(profile))
    assert [f.cue for f in reading.felt] == ["pain"]


async def test_a_scan_lists_the_band_in_use_as_connected_though_it_no_longer_advertises(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, _ = simulated

    found = await stack.link.async_scan(1.0)

    assert [(d.address, d.name, d.profile, d.connected) for d in found] == [
        (BAND_ADDRESS, BAND_NAME, "immediate-alert", True)
    ]
    # Not heard advertising while connected: no signal strength, not a stale one.
    assert found[0].rssi == NO_RSSI
    assert to_json(found[0])["connected"] is True


async def test_a_band_that_went_away_is_not_listed_as_connected(
    simulated: tuple[LinkStack, Recorded],
) -> None:
    stack, recorded = simulated
    assert stack.band is not None
    await stack.band.drop_link(away_s=None)  # gone, and silent
    await eventually(lambda: LinkState.LOST in recorded.link_states(), what="the loss")

    assert await stack.link.async_scan(1.0) == []
