"""The live feed: events from the core loop to each open dashboard stream, bounded.

The core loop only ever does ``put_nowait`` into each subscriber's queue; when a slow or
stalled browser lets its queue fill, the oldest events are dropped for that browser alone.
"""

from __future__ import annotations

import queue
import threading

from companion.errors import SessionError
from companion.events import Event

QUEUE_SIZE = 500
# The one cap on open live streams, counted here and only here: each dashboard stream holds
# one subscription, and the web layer answers 429 when ``subscribe`` refuses. The wiring
# passes ``web.settings.WebSettings.max_streams``, which also sizes the server's threads.
DEFAULT_MAX_STREAMS = 8


class FeedFullError(SessionError):
    advice = "close a dashboard tab you no longer use"


class FeedSubscriber:
    def __init__(self, hub: FeedHub) -> None:
        self._hub = hub
        self._queue: queue.Queue[Event] = queue.Queue(QUEUE_SIZE)
        self.dropped = 0

    def offer(self, event: Event) -> None:
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def get(self, timeout: float) -> Event | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Leave the hub (a second close does nothing)."""
        self._hub.remove(self)


class FeedHub:
    def __init__(self, max_subscribers: int) -> None:
        self._max = max_subscribers
        self._subscribers: set[FeedSubscriber] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> FeedSubscriber:
        with self._lock:
            if len(self._subscribers) >= self._max:
                raise FeedFullError(f"already {self._max} live dashboards open")
            subscriber = FeedSubscriber(self)
            self._subscribers.add(subscriber)
            return subscriber

    def remove(self, subscriber: FeedSubscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.offer(event)

    def __len__(self) -> int:
        with self._lock:
            return len(self._subscribers)
