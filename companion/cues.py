"""The names of the cues a band can be asked to play: one vocabulary for every part.

The plan, the engine, device profiles, the band's write channel, the virtual band and
its wearer, the store and the dashboard all say a cue by these names; the stored and JSON
forms are the plain strings (``CueName`` is a ``StrEnum``).
"""

from __future__ import annotations

import enum
from typing import Final


class CueName(enum.StrEnum):
    """A cue's name: what a plan lays down, the engine fires and a device profile plays;
    sent and stored as the plain string."""

    # Definition order is the order device profiles list them in, and their error messages.
    BREATH_IN = "breath-in"
    BREATH_OUT = "breath-out"
    HOLD_END = "hold-end"
    ROUTINE_END = "routine-end"
    REMINDER = "reminder"
    ALERT = "alert"
    PAIN = "pain"
    SAFETY = "safety"


CUE_NAMES: Final[tuple[str, ...]] = tuple(cue.value for cue in CueName)
BREATH_CUES: Final = frozenset({CueName.BREATH_IN, CueName.BREATH_OUT})
