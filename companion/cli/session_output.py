"""How ``companion session`` writes a routine's events for a person reading the terminal.

Pure: events in, lines of text out (the caller prints them). Heart rate is shown at most
every ``hr_every_s`` seconds, so the screen does not scroll once a second.
"""

from __future__ import annotations

import time

from companion.events import (
    CueDelivered,
    CueFired,
    Event,
    HeartRateSample,
    LinkChanged,
    Notice,
    PacingAdapted,
    SessionStateChanged,
    StepStarted,
)

HR_EVERY_S = 10.0
INDENT = " " * 11  # under the text after the time stamp


def plural(count: int, word: str) -> str:
    """'1 breath', '3 breaths'."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def link_words(event: LinkChanged) -> str:
    """'band connected (Polar H10 AA:BB:…)': what the link did, in words."""
    who = " ".join(part for part in (event.name, event.device) if part)
    detail = event.detail if event.detail not in ("", event.device, event.name) else ""
    extra = ", ".join(part for part in (who, detail) if part)
    return f"band {event.state.value}" + (f" ({extra})" if extra else "")


class SessionPrinter:
    def __init__(self, hr_every_s: float = HR_EVERY_S) -> None:
        self._hr_every_s = hr_every_s
        self._last_hr_mono: float | None = None

    def lines_for(self, event: Event) -> list[str]:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.wall))
        if isinstance(event, StepStarted):
            count = f" ({plural(event.breaths, 'breath')})" if event.breaths else ""
            return [f"{stamp}  ▶ {event.name}{count}", f"{INDENT}{event.instructions}"]
        if isinstance(event, CueFired):
            where = "wrist" if event.on_wrist else "screen"
            if event.fate == "folded":
                where = event.reason  # felt within the higher cue at the same moment
            return [f"{stamp}    {event.cue:<12} at {event.planned_s:7.2f} s ({where})"]
        if isinstance(event, CueDelivered) and not event.on_wrist:
            return [f"{stamp}    {event.cue:<12} did not reach the wrist: {event.reason}"]
        if isinstance(event, SessionStateChanged):
            reason = f": {event.reason}" if event.reason else ""
            return [f"{stamp}  ■ {event.state.in_words}{reason}"]
        if isinstance(event, HeartRateSample):
            due = self._last_hr_mono is None or event.mono - self._last_hr_mono >= self._hr_every_s
            if not due:
                return []
            self._last_hr_mono = event.mono
            contact = " (no skin contact)" if event.contact is False else ""
            return [f"{stamp}    ♥ {event.hr} bpm{contact}"]
        if isinstance(event, LinkChanged):
            return [f"{stamp}  · {link_words(event)}"]
        if isinstance(event, Notice):
            return [f"{stamp}  · {event.level}: {event.message}"]
        if isinstance(event, PacingAdapted):
            return [f"{stamp}  · breathing out over {event.exhale_s:g} s from now ({event.reason})"]
        return []
