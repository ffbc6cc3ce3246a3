"""What the pages' scripts need to know of the product's vocabulary, from its one source.

The scripts react to stream events by name (a session's final states, the cues that move
the breathing circle) and say how a session ended. Rather than keep their own copies of
those names, each page carries this record as JSON in a ``<meta>`` (``base.html``), so a
state or cue renamed in Python reaches the scripts too.
"""

from __future__ import annotations

from typing import Any, Final

from companion.cues import CueName
from companion.events import SessionState

# What the page says under the after-rating, for each way a session can end.
AFTER_SESSION: Final[dict[SessionState, str]] = {
    SessionState.COMPLETED: "The routine is complete. Well done.",
    SessionState.STOPPED: "You stopped the session early.",
    SessionState.PAIN: "Stopped because of pain. Rest and be gentle with yourself.",
    SessionState.INTERRUPTED: "The session was interrupted.",
}

# The cues that move the breathing circle, and the phase each starts.
CUE_PHASES: Final[dict[CueName, str]] = {
    CueName.BREATH_IN: "in",
    CueName.BREATH_OUT: "out",
    CueName.HOLD_END: "release",
}


def page_vocabulary() -> dict[str, Any]:
    """The record the pages read as ``Companion.vocabulary``."""
    return {
        "final_states": [state.value for state in SessionState if state.is_final],
        "after_session": {state.value: words for state, words in AFTER_SESSION.items()},
        "cue_phases": {cue.value: phase for cue, phase in CUE_PHASES.items()},
    }
