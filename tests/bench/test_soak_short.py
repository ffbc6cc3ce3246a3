"""A short soak of the real service with the band in its own process: routines back to
back, a dashboard stream open, link drops and a reminder; nothing is lost, each drop is
recorded, the reminder fires, the service is alive at the end. (The night-long run and its
memory slope are ``bench.soak``'s.)"""

from __future__ import annotations

import pytest

from bench.soak import run_soak

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_a_short_soak_with_drops_and_a_reminder_loses_nothing_and_records_the_drops() -> None:
    soak = run_soak(
        2.0,
        ["taster"],
        5.0,
        band_process=True,
        drop_every_s=30.0,
        drop_s=5.0,
        remind_every_s=60.0,
    )

    assert soak.alive_at_end and not soak.failures
    assert soak.drops, "no drop was sent"
    assert soak.reminders_due >= 1
    assert soak.events.get("reminder", 0) >= soak.reminders_due
    rows = soak.store.rows
    assert rows["sessions"] == len(soak.started) >= 1
    assert rows["cues"] >= soak.events.get("cue", 0) > 0
    assert rows["samples"] >= soak.events.get("hr", 0) > 0
    states = soak.store.link_states
    assert states.get("lost", 0) >= len(soak.drops)
    assert states.get("reconnected", 0) >= len(soak.drops)
    # Every cue meant for the wrist outside the drop reached the band's own record.
    assert soak.band is not None and soak.band.late_s
    assert soak.band.missing == 0
