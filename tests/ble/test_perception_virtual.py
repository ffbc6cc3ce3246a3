"""Cues judged at the virtual band over the in-process virtual radio, in real time.

The band records every write; its wearer reads them back into cue words. These runs pin
that what was planned is felt whole and in order through the real bleak and Bumble stacks,
and that writes the band refuses are reported, never hidden. Timing to the millisecond is
pinned on a fake clock (tests/routines/test_perception.py) and measured in bench/.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from companion.ble.profiles import DeviceProfile, load_profiles, parse_profile
from companion.ble.transport import BandChoice, band_link
from companion.bus import EventBus
from companion.events import CueDelivered, CueFired, Event, Notice, SessionStateChanged
from companion.routines.catalog import load_routines
from companion.routines.engine import SessionRunner
from companion.routines.haptics import DeliveryReport, Playback, Vocabulary, write_timeline
from companion.routines.plan import PlanSettings, compile_plan, compose_plan, retime_from
from companion.routines.progression import ProgressionLevel
from companion.session.host import LoopTimer
from tests.support import eventually

# On virtual time: whole routines are felt at the band in seconds, not minutes.
pytestmark = pytest.mark.virtual_time

PROFILES = load_profiles(None)
VIBRATING = sorted(name for name, p in PROFILES.items() if p.has_haptics)
LEVEL_1 = ProgressionLevel(1, 4, "level 1 of 4: starting gently")
# Loose on purpose (a shared machine): order and pairing, not timing.
PAIRING_S = 0.25


def with_response(profile: DeviceProfile) -> DeviceProfile:
    """The profile as a band that wants its alert writes acknowledged."""
    text = Path(str(profile.path)).read_text()
    text = text.replace(
        'characteristic = "2a06"\n', 'characteristic = "2a06"\nwith_response = true\n'
    )
    return parse_profile(text, name=f"{profile.name}-acknowledged", path=profile.path)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("profile_name", VIBRATING)
async def test_a_taster_is_felt_whole_and_in_order_at_the_band(profile_name: str) -> None:
    profile = PROFILES[profile_name]
    vocabulary = Vocabulary.from_profile(profile)
    plan = compose_plan(
        compile_plan(load_routines(None)["taster"], PlanSettings(), LEVEL_1), vocabulary
    )
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    done = asyncio.Event()
    bus.subscribe(
        lambda e: done.set() if isinstance(e, SessionStateChanged) and e.state.is_final else None
    )
    choice = BandChoice(simulate=True, profile=profile)
    async with band_link(choice, bus, PROFILES) as stack:
        assert await stack.link.async_wait_connected(15)
        band = stack.band
        assert band is not None
        loop = asyncio.get_running_loop()
        runner = SessionRunner(
            plan, run_id="run-1", timer=LoopTimer(loop), wall=lambda: 0.0, bus=bus,
            wrist=lambda _cue: False, replan=retime_from, haptics=stack.link,
        )  # fmt: skip
        runner.start()
        origin = runner.clock_origin
        await asyncio.wait_for(done.wait(), plan.total_s + 30)
        await stack.link.async_drain(10.0)
        # Sent is not yet received: the last write is still crossing the virtual radio.
        expected = len(write_timeline(c.delivery for c in plan.cues if c.delivery))
        await eventually(lambda: len(band.received(origin)) >= expected, what="the last write")
        reading = band.felt(vocabulary, since=origin, tolerance_s=PAIRING_S)

    meant = [
        (c.delivery.start_s, c.cue.value)
        for c in plan.cues
        if c.delivery is not None and c.delivery.fate.reaches_wrist
    ]
    assert reading.unreadable == ()
    assert [f.cue for f in reading.felt] == [cue for _, cue in meant]
    errors = [abs((f.t - origin) - at) for f, (at, _) in zip(reading.felt, meant, strict=True)]
    assert max(errors) < PAIRING_S
    delivered = [e for e in events if isinstance(e, CueDelivered)]
    assert len(delivered) == len(meant) and all(e.on_wrist for e in delivered)


@pytest.mark.timeout(120)
async def test_writes_the_band_refuses_are_reported_with_bumbles_att_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    profile = with_response(PROFILES["immediate-alert"])
    bus = EventBus()
    async with band_link(BandChoice(simulate=True, profile=profile), bus, PROFILES) as stack:
        assert await stack.link.async_wait_connected(15)
        assert stack.band is not None
        stack.band.refuse_writes = True
        reports: list[DeliveryReport] = []
        writes = profile.cue_writes("hold-end")
        loop = asyncio.get_running_loop()

        with caplog.at_level(logging.WARNING):
            assert stack.link.play(Playback.now("hold-end", writes, loop.time(), reports.append))
            await eventually(lambda: bool(reports), what="the delivery report")
            stack.band.refuse_writes = False
            assert stack.link.play(
                Playback.now(
                    "breath-in", profile.cue_writes("breath-in"), loop.time(), reports.append
                )
            )
            await eventually(lambda: len(reports) == 2, what="the second report")

    refused, taken = reports
    assert (refused.cue, refused.reached, refused.acknowledged) == ("hold-end", False, False)
    assert "WRITE_NOT_PERMITTED" in refused.reason
    assert refused.first_write_late_s is None
    assert (taken.cue, taken.reached, taken.acknowledged) == ("breath-in", True, True)
    assert "exception was never retrieved" not in caplog.text


@pytest.mark.timeout(120)
async def test_a_routine_whose_writes_fail_stores_them_off_the_wrist_and_tells_the_person() -> None:
    profile = with_response(PROFILES["immediate-alert"])
    routine = load_routines(None)["taster"]
    plan = compose_plan(
        compile_plan(routine, PlanSettings(rest_breaths=0), LEVEL_1),
        Vocabulary.from_profile(profile),
    )
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    async with band_link(BandChoice(simulate=True, profile=profile), bus, PROFILES) as stack:
        assert await stack.link.async_wait_connected(15)
        assert stack.band is not None
        stack.band.refuse_writes = True
        loop = asyncio.get_running_loop()
        runner = SessionRunner(
            plan, run_id="run-1", timer=LoopTimer(loop), wall=lambda: 0.0, bus=bus,
            wrist=lambda _cue: False, replan=retime_from, haptics=stack.link,
        )  # fmt: skip
        runner.start()
        await eventually(
            lambda: sum(isinstance(e, CueDelivered) for e in events) >= 2, 20, "two reports"
        )
        runner.stop()

    fired = [e for e in events if isinstance(e, CueFired) and e.pending]
    delivered = [e for e in events if isinstance(e, CueDelivered)]
    assert fired and all(not e.on_wrist and "WRITE_NOT_PERMITTED" in e.reason for e in delivered)
    notices = [e for e in events if isinstance(e, Notice) and e.topic == "band"]
    assert len(notices) == 1 and "did not take" in notices[0].message
