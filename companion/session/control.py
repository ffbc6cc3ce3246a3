"""What code outside the core loop (the web threads, the scheduler) may ask of the core.

Its answers are the typed records of ``companion.session.status``.

Every method is safe to call from any thread: implementations hand the work to the
core loop (``asyncio.run_coroutine_threadsafe``) and wait for the answer with a timeout.
"""

from __future__ import annotations

from typing import Protocol

from companion.ble.found import FoundDevice
from companion.cues import CueName
from companion.events import Event
from companion.session.status import RoutineSummary, SessionStatus, Status


class FeedSubscription(Protocol):
    """A bounded, thread-side view of the live event feed (for one SSE stream)."""

    def get(self, timeout: float) -> Event | None:
        """The next event, or None when ``timeout`` passed with none."""
        ...

    def close(self) -> None:
        """Give the subscription back, freeing its place under the cap; safe to call again."""
        ...


class SessionControl(Protocol):
    def status(self) -> Status:
        """Snapshot: link state and detail, device, profile, battery, dropped packets, the
        last heart rate and its age, the session (state, step, pattern), the latest notices."""
        ...

    def routines(self) -> list[RoutineSummary]:
        """Available routines: name, title, description, total_s."""
        ...

    def start_session(self, routine: str, pain_before: int | None) -> str:
        """Start a routine; returns the new session's id. Raises SessionError if one runs."""
        ...

    def command(self, name: str) -> SessionStatus:
        """One of "pause", "resume", "skip", "stop", "pain"; returns the new session status.
        Raises SessionError when it does not fit the current state."""
        ...

    def rate_pain_after(self, pain: int) -> None:
        """Record the pain rating after the most recent session."""
        ...

    def subscribe_feed(self) -> FeedSubscription:
        """Raises FeedFullError (a SessionError) when the cap of open streams is reached:
        these subscriptions are the one count of open dashboard streams."""
        ...

    def scan(self, timeout: float) -> list[FoundDevice]:
        """Nearby bands, and the one connected now (which does not advertise)."""
        ...

    def choose_device(self, address: str | None) -> None:
        """Use this band from now on (None forgets the choice and picks the first match)."""
        ...

    def buzz(self, cue: CueName) -> bool:
        """Run a cue on the wrist; False when no band is connected or it has no vibration."""
        ...

    def reminders_changed(self) -> None:
        """The reminders table was edited: bring the scheduled jobs in step now."""
        ...

    def snooze_reminder(self, reminder_id: int) -> float:
        """Ask again in ten minutes; returns when (Unix time)."""
        ...
