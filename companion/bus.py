"""Fan-out of events from the core loop to its listeners.

Listeners run on the core loop and must not block: the recorder and the web feed
hand events to their own threads through queues.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable

from companion.events import Event

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class EventBus:
    """Delivers each event to every listener before any event published in reaction to it.

    A listener that publishes (the engine answering a heart-rate sample with a safety cue)
    queues its event behind the one being delivered, so every listener sees events in
    causal order: the sample, then the cue it caused.
    """

    def __init__(self) -> None:
        self._listeners: dict[int, Listener] = {}
        self._next_token = 0
        self._pending: collections.deque[Event] = collections.deque()
        self._delivering = False

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        token = self._next_token
        self._next_token += 1
        self._listeners[token] = listener

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    def publish(self, event: Event) -> None:
        self._pending.append(event)
        if self._delivering:
            return  # the delivery under way reaches it next
        self._delivering = True
        try:
            while self._pending:
                self._deliver(self._pending.popleft())
        finally:
            self._delivering = False

    def _deliver(self, event: Event) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(event)
            except Exception:
                # One broken listener must not starve the others or the core loop.
                _LOGGER.exception("event listener %r failed on %s", listener, event.kind)
