"""The pages' scripts read session states and cue names from Python, not their own copies."""

from __future__ import annotations

import html
import json
import re

from flask.testing import FlaskClient

from companion.cues import BREATH_CUES, CueName
from companion.events import SessionState
from web.page_vocabulary import AFTER_SESSION, CUE_PHASES, page_vocabulary


def test_every_way_a_session_ends_has_its_own_sentence() -> None:
    final = [state for state in SessionState if state.is_final]

    assert sorted(AFTER_SESSION) == sorted(final)
    assert len(set(AFTER_SESSION.values())) == len(final)


def test_the_breath_cues_and_the_end_of_a_hold_move_the_circle() -> None:
    assert set(CUE_PHASES) == {*BREATH_CUES, CueName.HOLD_END}
    assert CUE_PHASES[CueName.BREATH_IN] != CUE_PHASES[CueName.BREATH_OUT]


def test_each_page_carries_the_vocabulary_as_the_wire_names(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)

    [content] = re.findall(r"<meta name=\"page-vocabulary\" content='([^']*)'>", page)
    carried = json.loads(html.unescape(content))
    assert carried == page_vocabulary()
    assert carried["final_states"] == ["completed", "stopped", "pain", "interrupted"]
    assert carried["cue_phases"] == {"breath-in": "in", "breath-out": "out", "hold-end": "release"}
    assert carried["after_session"]["stopped"] == "You stopped the session early."
