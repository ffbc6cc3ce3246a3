"""Whole routines judged where they are felt: at the band, decoded by a wearer.

The engine runs on a fake clock and hands its writes to the link's own write channel
(``companion.ble.write_channel``); a fake band takes each write the moment the link's writer
would send it. What the band received is read back into cue words by the wearer
(``haptics.read_wrist``) and compared with the plan: every cue meant for the wrist is felt
as that cue, whole, in order, within 10 ms of its planned start. Real-time runs over the
virtual radio are in tests/ble/test_perception_virtual.py.
"""

from __future__ import annotations

import pytest

from companion.ble.profiles import load_profiles
from companion.ble.write_channel import WriteChannel
from companion.bus import EventBus
from companion.cues import CueName
from companion.events import CueDelivered, CueFired, Event, SessionState, SessionStateChanged
from companion.routines.catalog import Routine, RoutineStep, Side, load_catalog, load_routines
from companion.routines.engine import WRITE_PATH_LEAD_IN_S, SessionRunner
from companion.routines.haptics import (
    Fate,
    Playback,
    Received,
    Vocabulary,
    read_wrist,
)
from companion.routines.pacer import BreathPattern
from companion.routines.plan import Plan, PlanSettings, compile_plan, compose_plan, retime_from
from companion.routines.progression import ProgressionLevel
from tests.routines.test_engine import FakeHandle, FakeTimer

PROFILES = load_profiles(None)
VIBRATING = sorted(name for name, p in PROFILES.items() if p.has_haptics)
CATALOG = load_catalog()
ROUTINES = load_routines(None, CATALOG)
LEVEL_1 = ProgressionLevel(1, 4, "level 1 of 4: starting gently")
TOLERANCE_S = 0.010


def back_to_back_holds() -> Routine:
    """Four one-breath holds with no rest between: every hold end meets a breath-in."""
    knee, rotation = CATALOG.get("knee-to-chest"), CATALOG.get("spinal-rotation")
    sides = (Side.LEFT, Side.RIGHT)
    steps = (RoutineStep(knee, sides, amount=10.0), RoutineStep(rotation, sides, amount=10.0))
    return Routine(name="holds", title="Back-to-back holds", description="", steps=steps)


def plan_for(routine: str, profile: str, **settings: object) -> Plan:
    chosen = back_to_back_holds() if routine == "holds" else ROUTINES[routine]
    plan = compile_plan(chosen, PlanSettings(**settings), LEVEL_1)  # type: ignore[arg-type]
    return compose_plan(plan, Vocabulary.from_profile(PROFILES[profile]))


class FakeBand:
    """The link's write channel on the fake clock, with a band that receives each write."""

    def __init__(self, timer: FakeTimer, vocabulary: Vocabulary) -> None:
        self.timer = timer
        self.channel = WriteChannel(vocabulary)
        self.received: list[Received] = []
        self._handle: FakeHandle | None = None

    def play(self, playback: Playback) -> bool:
        self.channel.accept(playback, self.timer.time())
        self._schedule()
        return True

    def _schedule(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        item = self.channel.next_due()
        self._handle = None if item is None else self.timer.call_at(item.at_s, self._send)

    def _send(self) -> None:
        self._handle = None
        now = self.timer.time()
        while (item := self.channel.next_due()) is not None and item.at_s <= now + 1e-9:
            self.channel.pop(item)
            self.received.append(Received(now, item.write.characteristic, item.write.value))
            self.channel.sent(item, late_s=now - item.at_s)
        self._schedule()


def run(plan: Plan, *, lateness: float = 0.0) -> tuple[SessionRunner, FakeBand, list[Event]]:
    timer = FakeTimer()
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    assert plan.vocabulary is not None
    band = FakeBand(timer, plan.vocabulary)
    runner = SessionRunner(
        plan,
        run_id="run-1",
        timer=timer,
        wall=lambda: timer.now + 1.7e9,
        bus=bus,
        wrist=lambda _cue: pytest.fail("a composed plan plays through the channel"),
        replan=retime_from,
        haptics=band,
    )
    runner.start()
    timer.advance(plan.total_s + 30.0, lateness=lateness)
    return runner, band, events


def assert_felt_as_planned(plan: Plan, band: FakeBand, origin: float) -> None:
    assert plan.vocabulary is not None
    reading = read_wrist(band.received, plan.vocabulary)
    meant = [
        (c.delivery.start_s, c.cue.value)
        for c in plan.cues
        if c.delivery is not None and c.delivery.fate.reaches_wrist
    ]
    felt = [(f.t - origin, f.cue) for f in reading.felt]

    assert reading.unreadable == ()  # nothing masked, nothing interleaved
    assert [cue for _, cue in felt] == [cue for _, cue in meant]
    worst = max(abs(got - want) for (got, _), (want, _) in zip(felt, meant, strict=True))
    assert worst <= TOLERANCE_S


@pytest.mark.parametrize("profile", VIBRATING)
@pytest.mark.parametrize("routine", ["taster", "bedtime", "morning", "holds"])
def test_every_planned_cue_is_felt_whole_in_order_and_on_time(routine: str, profile: str) -> None:
    plan = plan_for(routine, profile, rest_breaths=0 if routine == "holds" else 1)

    runner, band, _ = run(plan)

    assert runner.state == SessionState.COMPLETED
    assert_felt_as_planned(plan, band, origin=runner.clock_origin)


@pytest.mark.parametrize("profile", VIBRATING)
def test_every_hold_end_reaches_the_wrist_as_the_full_hold_end_pattern(profile: str) -> None:
    plan = plan_for("holds", profile, rest_breaths=0)

    _, band, _ = run(plan)

    assert plan.vocabulary is not None
    felt = [f.cue for f in read_wrist(band.received, plan.vocabulary).felt]
    hold_ends = [c for c in plan.cues if c.cue.value == "hold-end"]
    assert len(hold_ends) == 4
    assert felt.count("hold-end") == 4
    assert all(c.delivery is not None and c.delivery.fate is Fate.PLAYED for c in hold_ends)


def test_a_late_engine_does_not_move_the_writes_of_a_pattern_apart() -> None:
    plan = plan_for("bedtime", "immediate-alert")

    runner, band, events = run(plan, lateness=0.004)

    assert_felt_as_planned(plan, band, origin=runner.clock_origin)
    assert any(isinstance(e, CueFired) and e.actual_s > e.planned_s for e in events)


def test_each_played_cue_is_reported_delivered_with_its_first_write_lateness() -> None:
    plan = plan_for("taster", "immediate-alert")

    _, _, events = run(plan, lateness=0.004)

    fired = [e for e in events if isinstance(e, CueFired) and e.pending]
    delivered = [e for e in events if isinstance(e, CueDelivered)]
    assert [(e.cue, e.planned_s) for e in delivered] == [(e.cue, e.planned_s) for e in fired]
    assert all(e.on_wrist and e.reason == "" for e in delivered)
    late = [e.first_write_late_s for e in delivered]
    assert all(x is not None and 0.0 <= x <= 0.0041 for x in late)
    folded = [e for e in events if isinstance(e, CueFired) and e.fate == "folded"]
    assert folded and not any(e.on_wrist or e.pending for e in folded)


def test_cue_events_name_their_cue_from_the_one_vocabulary_and_send_its_plain_name() -> None:
    plan = plan_for("taster", "immediate-alert")

    _, _, events = run(plan)

    cue_events = [e for e in events if isinstance(e, CueFired | CueDelivered)]
    assert {type(e) for e in cue_events} == {CueFired, CueDelivered}
    assert all(type(e.cue) is CueName for e in cue_events)
    sent = [e.to_json()["cue"] for e in cue_events]
    assert all(type(name) is str for name in sent)  # on the wire: the plain name, as before
    assert sent == [e.cue.value for e in cue_events]


@pytest.mark.parametrize("profile", VIBRATING)
def test_a_faster_pace_from_adaptive_pacing_is_composed_the_same_way(profile: str) -> None:
    plan = plan_for("holds", profile, rest_breaths=0)

    retimed = retime_from(plan, 2, BreathPattern(inhale_s=3.0, exhale_s=7.0))

    assert retimed.vocabulary == plan.vocabulary
    runner, band, _ = run(retimed)
    assert runner.state == SessionState.COMPLETED
    assert_felt_as_planned(retimed, band, origin=runner.clock_origin)


def test_pain_mid_pattern_stops_the_buzz_and_nothing_planned_follows_it() -> None:
    plan = plan_for("taster", "immediate-alert")
    timer = FakeTimer()
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    assert plan.vocabulary is not None
    band = FakeBand(timer, plan.vocabulary)
    runner = SessionRunner(
        plan, run_id="run-1", timer=timer, wall=lambda: 0.0, bus=bus,
        wrist=lambda _cue: False, replan=retime_from, haptics=band, lead_in_s=0.0,
    )  # fmt: skip
    runner.start()
    hold_end = next(c for c in plan.cues if c.cue.value == "hold-end")
    timer.advance(hold_end.at_s + 0.2)  # the hold-end's high buzz is on

    runner.pain()
    timer.advance(60.0)

    values = [(round(r.t - 1000.0, 3), r.value.hex()) for r in band.received]
    cut_at = hold_end.at_s + 0.2
    after = [v for v in values if v[0] >= cut_at]
    assert after[0] == (cut_at, "00")  # a clean stop first
    assert [v for _, v in after[1:]] == ["02", "00", "02", "00", "02", "00"]  # pain, whole
    felt = [f.cue for f in read_wrist(band.received, plan.vocabulary).felt]
    assert felt[-1] == "pain"
    assert [e.state for e in events if isinstance(e, SessionStateChanged)][-1] == SessionState.PAIN


def test_the_routines_clock_starts_after_a_lead_in_so_the_first_writes_are_not_crowded() -> None:
    plan = plan_for("taster", "immediate-alert")

    runner, band, events = run(plan)

    assert runner.clock_origin == 1000.0 + WRITE_PATH_LEAD_IN_S
    started = next(e for e in events if isinstance(e, SessionStateChanged))
    assert started.mono == 1000.0
    assert band.received[0].t == 1000.0 + WRITE_PATH_LEAD_IN_S


def test_a_skip_mid_pattern_lets_the_pattern_finish_and_the_next_cue_waits_its_turn() -> None:
    plan = plan_for("taster", "immediate-alert")
    timer = FakeTimer()
    bus = EventBus()
    assert plan.vocabulary is not None
    band = FakeBand(timer, plan.vocabulary)
    runner = SessionRunner(
        plan, run_id="run-1", timer=timer, wall=lambda: 0.0, bus=bus,
        wrist=lambda _cue: False, replan=retime_from, haptics=band, lead_in_s=0.0,
    )  # fmt: skip
    runner.start()
    timer.advance(24.05)  # the breath-out at 24 s is buzzing

    runner.skip()  # the rest step due at 30 s starts now, with its breath-in
    timer.advance(60.0)

    reading = read_wrist(band.received, plan.vocabulary)
    assert reading.unreadable == ()
    felt = [(round(f.t - 1000.0, 3), f.cue) for f in reading.felt]
    assert (24.0, "breath-out") in felt
    after = [item for item in felt if item[0] > 24.0]
    assert after[0] == (24.7, "breath-in")  # 0.3 s pattern + 0.4 s still, then its turn
