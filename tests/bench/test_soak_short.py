"""A short night of the whole companion on virtual time (bench.night): routines in turn with
idle streaming between them, a dashboard stream open, the band dropping out and reminders
firing; nothing is lost, each drop is recorded, every reminder reaches the dashboard, and
nothing crashes. (The eight-hour night and its memory slope are ``bench.soak``'s.)"""

from __future__ import annotations

import pytest

from bench.night import NightPlan, run_night

# Half a minute of real time: kept with the slow tests, beside the other soaks.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Ninety virtual minutes: two routines of each kind, eighteen drops, three reminders.
SHORT_NIGHT = NightPlan(
    hours=1.5,
    routines=("bedtime", "morning"),
    idle_between_s=10 * 60.0,
    drop_every_s=5 * 60.0,
    drop_s=20.0,
    remind_every_s=25 * 60.0,
    sample_every_s=10 * 60.0,
    settle_s=0.0,
)


def test_a_short_night_with_drops_and_reminders_loses_nothing_and_records_every_drop() -> None:
    night, rows = run_night(SHORT_NIGHT)

    assert not night.failures and night.answered_at_end
    assert night.virtual_s >= SHORT_NIGHT.hours * 3600.0
    assert {routine for routine, _ in night.started} == set(SHORT_NIGHT.routines)
    assert rows["sessions"] == len(night.started) == rows["sessions ended"]
    # Every heart-rate sample and cue the bus carried is a row.
    assert rows["samples"] == night.bus.heart_rate > 0
    assert rows["cues"] == night.bus.cues > 0
    # Every drop is a recorded loss and reconnection, as the bus said.
    assert night.drops >= 10
    assert rows["link lost"] == night.bus.link_states["lost"] >= night.drops
    assert rows["link reconnected"] == night.bus.link_states["reconnected"] >= night.drops
    # Every reminder fired, and the open dashboard was shown it.
    assert night.reminders_fired >= 3
    assert night.bus.reminders == night.reminders_fired
    assert night.streamed["reminder"] == night.reminders_fired
    assert night.streamed["hr"] > 0
