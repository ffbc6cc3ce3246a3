"""A session composed for a band is stored with the band's whole write sequence, as before
the script left the session's event: History keeps ``band_writes`` in the plan."""

from __future__ import annotations

import json

from companion.ble.profiles import load_profiles
from companion.events import BandScript, SessionStarted
from companion.routines.catalog import load_routines
from companion.routines.haptics import Vocabulary
from companion.routines.plan import PlanSettings, band_script, compile_plan, compose_plan
from companion.routines.progression import ProgressionLevel
from companion.store.writes import EventTranslator, WriteKind
from tests.store.conftest import T0


def test_a_composed_session_is_stored_with_its_band_writes_and_the_script_adds_no_row() -> None:
    vocabulary = Vocabulary.from_profile(load_profiles(None)["immediate-alert"])
    level = ProgressionLevel(1, 4, "level 1 of 4: starting gently")
    plan = compose_plan(
        compile_plan(load_routines(None)["taster"], PlanSettings(), level), vocabulary
    )
    translator = EventTranslator()

    started = SessionStarted(
        mono=0.0, wall=T0, run_id="r", routine="taster", level=1, total_s=plan.total_s,
        pain_before=None, plan=plan,
    )  # fmt: skip
    session = translator.writes_for(started)[0]
    script = BandScript(mono=0.0, wall=T0, run_id="r", writes=band_script(plan))

    assert session.kind is WriteKind.INSERT_SESSION
    stored = json.loads(session.params["plan_json"])
    assert stored["band_writes"] == [w.to_json() for w in script.writes] != []
    assert stored["cues"] == plan.to_json()["cues"]
    assert translator.writes_for(script) == []
