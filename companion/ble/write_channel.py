"""The band's one haptic channel as the link plays it: a queue of timed writes.

No I/O here: the link's writer asks for the next write due, sends it, and says how it went.
Cues that meet on the channel are placed by the rule in ``companion.routines.haptics``: a
higher cue cuts the pattern playing (with a stop write first, where the band has one);
anything else waits until the band has been still for ``SEPARATION_S``. Each playback's
fate is reported once, through its ``on_done``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from dataclasses import dataclass, field

from companion.ble.profiles import HapticWrite
from companion.routines.haptics import (
    AFTER_STOP_S,
    DeliveryReport,
    Playback,
    PlaybackName,
    TimedWrite,
    Turn,
    Vocabulary,
    turn_for,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(eq=False)
class _Active:
    """A playback on the channel and what has happened to it so far."""

    playback: Playback
    total: int
    sent: int = 0
    first_late_s: float | None = None
    buzzing: dict[str, bool] = field(default_factory=dict)
    note: str = ""
    done: bool = False

    @property
    def end_s(self) -> float:
        return self.playback.end_s


@dataclass(order=True)
class QueuedWrite:
    at_s: float
    seq: int
    write: HapticWrite = field(compare=False)
    active: _Active = field(compare=False, repr=False)

    @property
    def cue(self) -> PlaybackName:
        return self.active.playback.cue


class WriteChannel:
    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._queue: list[QueuedWrite] = []
        self._seq = itertools.count()
        self._last: _Active | None = None
        self._active: list[_Active] = []

    @property
    def pending(self) -> bool:
        return any(not item.active.done for item in self._queue)

    def accept(self, playback: Playback, now: float) -> None:
        if playback.haptic:
            playback, note, stops = self._place(playback, now)
        else:
            note, stops = "", ()
        active = _Active(playback, total=len(playback.writes) + len(stops), note=note)
        for timed in (*stops, *playback.writes):
            queued = QueuedWrite(timed.at_s, next(self._seq), timed.write, active)
            heapq.heappush(self._queue, queued)
        if playback.haptic:
            self._last = active
            self._active = [a for a in self._active if not a.done] + [active]

    def _place(
        self, playback: Playback, now: float
    ) -> tuple[Playback, str, tuple[TimedWrite, ...]]:
        last = self._last if self._last is not None and not self._last.done else None
        if last is None:
            return playback, "", ()
        start = playback.writes[0].at_s
        turn, begin = turn_for(start, playback.priority, last.end_s, last.playback.priority)
        if turn is Turn.NOW:
            return playback, "", ()
        if turn is Turn.CUT:
            stop_at = max(start, now)
            stops = self._cut_below(playback.priority, stop_at, playback.cue)
            begin = stop_at + AFTER_STOP_S if stops else stop_at
            note = f"{last.playback.cue} stopped first" if stops else ""
            return playback.shifted(begin - start), note, stops
        wait = begin - start
        return playback.shifted(wait), f"waited {wait:.2f} s for {last.playback.cue}", ()

    def _cut_below(self, priority: int, at_s: float, by: PlaybackName) -> tuple[TimedWrite, ...]:
        """End every pattern lower than ``priority``; the stop writes for any still buzzing."""
        stops: list[TimedWrite] = []
        for active in self._active:
            if active.done or active.playback.priority >= priority:
                continue
            for characteristic, on in active.buzzing.items():
                stop = self.vocabulary.stops.get(characteristic)
                if on and stop is not None:
                    stops.append(TimedWrite(at_s, stop))
            reason = f"cut short for {by} after {active.sent} of {active.total} writes"
            self._finish(active, reached=active.sent > 0, reason=reason)
        unique = {(s.write.characteristic, s.write.value): s for s in stops}
        return tuple(unique.values())

    def next_due(self) -> QueuedWrite | None:
        while self._queue and self._queue[0].active.done:
            heapq.heappop(self._queue)
        return self._queue[0] if self._queue else None

    def pop(self, item: QueuedWrite) -> None:
        if self._queue and self._queue[0] is item:
            heapq.heappop(self._queue)
        else:
            self._queue.remove(item)
            heapq.heapify(self._queue)

    def sent(self, item: QueuedWrite, late_s: float) -> None:
        active = item.active
        if active.first_late_s is None:
            active.first_late_s = late_s
        active.sent += 1
        active.buzzing[item.write.characteristic] = any(item.write.value)
        if active.sent >= active.total and not active.done:
            self._finish(active, reached=True, reason=active.note)

    def failed(self, item: QueuedWrite, reason: str) -> None:
        active = item.active
        if not active.done:
            self._finish(active, reached=False, reason=reason)

    def abandon(self, reason: str) -> None:
        """Report every playback not yet done as not reached (the link is closing)."""
        for item in list(self._queue):
            if not item.active.done:
                written = f"{item.active.sent} of {item.active.total} writes"
                self._finish(item.active, reached=False, reason=f"{reason} ({written} sent)")
        self._queue.clear()

    def _finish(self, active: _Active, *, reached: bool, reason: str) -> None:
        active.done = True
        callback = active.playback.on_done
        if callback is None:
            return
        acknowledged = reached and any(w.write.with_response for w in active.playback.writes)
        report = DeliveryReport(
            cue=active.playback.cue,
            reached=reached,
            acknowledged=acknowledged,
            first_write_late_s=active.first_late_s,
            reason=reason,
        )
        try:
            callback(report)
        except Exception:
            _LOGGER.exception("reporting the delivery of %s failed", active.playback.cue)
