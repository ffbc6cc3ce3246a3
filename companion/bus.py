"""Fan-out of events from the core loop to its listeners.

Listeners run on the core loop and must not block: the recorder and the web feed
hand events to their own threads through queues.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from companion.events import Event

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: dict[int, Listener] = {}
        self._next_token = 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        token = self._next_token
        self._next_token += 1
        self._listeners[token] = listener

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(event)
            except Exception:
                # One broken listener must not starve the others or the core loop.
                _LOGGER.exception("event listener %r failed on %s", listener, event.kind)
