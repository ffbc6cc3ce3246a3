"""What the wrist feels: one haptic channel per band, cues composed into one write timeline.

Pure: patterns come from a device profile's writes, times are plain seconds.

A band plays one pattern at a time. The rule that composes cues (``docs/haptics.md``):

1. Priority, highest first: pain > safety > hold-end > routine-end > reminder/alert >
   breath-in/breath-out.
2. Two patterns never overlap, and between them the band is still for at least
   ``SEPARATION_S``, so a wearer feels two patterns and not one longer one.
3. Cues are taken in time order; at one instant the higher one goes first and plays whole.
4. A breath cue that shares its instant with a higher cue is *folded* into it: the hold-end
   buzz is also the start of the next breath, and the breath cue is recorded as folded.
5. Any other cue that comes while the band is busy *waits* until the band is free, unless
   it is higher than the pattern playing: then that pattern is *cut* (a stop write first,
   where the profile has one) and the higher cue starts at once. A cue that would still be
   waiting when the next cue is due is *dropped*. Every fold, wait, cut and drop is recorded
   with its reason.

The same rule composes a plan (``compose``) and places cues that arrive at run time
(``HapticChannel.place``), so pause, skip, pain and adaptive pacing recompose the rest the
same way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

from companion.ble.profiles import DeviceProfile, HapticWrite
from companion.cues import BREATH_CUES, CueName

PRIORITY: Final[Mapping[CueName, int]] = MappingProxyType(
    {
        CueName.PAIN: 60,
        CueName.SAFETY: 50,
        CueName.HOLD_END: 40,
        CueName.ROUTINE_END: 30,
        CueName.REMINDER: 20,
        CueName.ALERT: 20,
        CueName.BREATH_IN: 10,
        CueName.BREATH_OUT: 10,
    }
)
# Stillness between two patterns, longer than the gaps inside a double tap, so a wearer
# feels where one pattern ends and the next begins.
SEPARATION_S: Final = 0.4
# A write with no stated length and no stop after it is felt as a short tap.
TAP_S: Final = 0.05
# Lengths and onsets closer than this are felt as the same.
FEEL_RESOLUTION_S: Final = 0.1
# How far a received write may be from its place in a pattern and still be read as it.
READ_TOLERANCE_S: Final = 0.05
# After a stop write, a moment before the pre-empting pattern, so it starts from stillness.
AFTER_STOP_S: Final = 0.05


def priority_of(cue: CueName) -> int:
    return PRIORITY.get(cue, 0)


class Fate(enum.StrEnum):
    """What became of a cue on the band's one channel."""

    PLAYED = "played"  # at its own time
    DELAYED = "delayed"  # waited for the band to be free
    FOLDED = "folded"  # carried by a higher cue at the same instant
    DROPPED = "dropped"  # no room before the next cue
    CUT = "cut"  # started, then stopped for a higher cue
    SCREEN = "screen"  # this band has no pattern for it

    @property
    def reaches_wrist(self) -> bool:
        return self in (Fate.PLAYED, Fate.DELAYED, Fate.CUT)


@dataclass(frozen=True)
class Pulse:
    """One felt buzz: a non-zero write held for ``length_s``."""

    onset_s: float
    length_s: float
    characteristic: str
    value: bytes


def _is_stop(write: HapticWrite) -> bool:
    return not any(write.value)


@dataclass(frozen=True)
class Pattern:
    """A cue's writes, and the pulses a wearer feels from them."""

    cue: CueName
    writes: tuple[HapticWrite, ...]
    pulses: tuple[Pulse, ...]
    length_s: float

    @classmethod
    def from_writes(cls, cue: CueName, writes: Sequence[HapticWrite]) -> Pattern:
        ordered = tuple(sorted(writes, key=lambda w: w.after_s))
        pulses = _pulses([(w.after_s, w) for w in ordered])
        ends = [w.after_s for w in ordered] + [p.onset_s + p.length_s for p in pulses]
        return cls(cue=cue, writes=ordered, pulses=pulses, length_s=max(ends, default=0.0))

    def feel(self) -> str:
        """The pattern in words, for messages: '2 pulses, 0.35 s'."""
        count = len(self.pulses)
        return f"{count} pulse{'' if count == 1 else 's'}, {self.length_s:.2f} s"


def _pulses(timed: Sequence[tuple[float, HapticWrite]]) -> tuple[Pulse, ...]:
    """Pulses from writes at plan times: each non-zero write is a buzz of its stated length,
    or a tap without one; a stop (all-zero value) ends a buzz and is not felt itself."""
    return tuple(
        Pulse(at, write.duration_s if write.duration_s is not None else TAP_S,
              write.characteristic, write.value)
        for at, write in timed
        if not _is_stop(write)
    )  # fmt: skip


def _alike(a: Pulse, b: Pulse, *, onset: bool) -> bool:
    return (
        a.value == b.value
        and a.characteristic == b.characteristic
        and abs(a.length_s - b.length_s) < FEEL_RESOLUTION_S
        and (not onset or abs(a.onset_s - b.onset_s) < FEEL_RESOLUTION_S)
    )


@dataclass(frozen=True)
class Vocabulary:
    """A band's cue patterns and the write that stops a buzz (if it has one)."""

    patterns: Mapping[CueName, Pattern] = field(default_factory=lambda: MappingProxyType({}))
    stops: Mapping[str, HapticWrite] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_profile(cls, profile: DeviceProfile) -> Vocabulary:
        return cls.from_cue_writes({name: cue.writes for name, cue in profile.cues.items()})

    @classmethod
    def from_cue_writes(cls, cues: Mapping[CueName, Sequence[HapticWrite]]) -> Vocabulary:
        patterns = {name: Pattern.from_writes(name, w) for name, w in cues.items() if w}
        stops: dict[str, HapticWrite] = {}
        for pattern in patterns.values():
            for write in pattern.writes:
                if _is_stop(write):
                    stop = HapticWrite(0.0, write.characteristic, write.value, write.with_response)
                    stops.setdefault(write.characteristic, stop)
        return cls(MappingProxyType(patterns), MappingProxyType(stops))

    def pattern(self, cue: CueName) -> Pattern | None:
        return self.patterns.get(cue)


# --- telling cues apart --------------------------------------------------------------------


def _same_feel(a: Pattern, b: Pattern) -> bool:
    return (
        len(a.pulses) == len(b.pulses)
        and abs(a.length_s - b.length_s) < FEEL_RESOLUTION_S
        and all(_alike(x, y, onset=False) for x, y in zip(a.pulses, b.pulses, strict=True))
    )


def _is_prefix(a: Pattern, b: Pattern) -> bool:
    """Whether ``a``'s pulses are felt as the opening of ``b``: same pulses at the same
    moments, and ``b`` goes on after them."""
    if not a.pulses or len(a.pulses) >= len(b.pulses):
        return False
    return all(_alike(x, y, onset=True) for x, y in zip(a.pulses, b.pulses, strict=False))


def indistinct_cues(vocabulary: Vocabulary) -> list[str]:
    """Problems that would let a wearer mistake one cue for another, in words; empty if none.

    Every two cues differ in pulse count, a pulse's length or strength (its value), or the
    pattern's length; and no cue is felt as the opening of another (any cue may follow any
    other, so none may be a prefix of another).
    """
    problems = []
    names = sorted(vocabulary.patterns)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = vocabulary.patterns[first], vocabulary.patterns[second]
            if _same_feel(a, b):
                problems.append(f"{first} and {second} feel the same ({a.feel()})")
            elif _is_prefix(a, b):
                problems.append(f"{first} feels like the start of {second}")
            elif _is_prefix(b, a):
                problems.append(f"{second} feels like the start of {first}")
    return problems


# --- composing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimedWrite:
    """One write at a plan offset (or a monotonic time, on the link)."""

    at_s: float
    write: HapticWrite


@dataclass(frozen=True)
class Delivery:
    """How one cue reaches the wrist: its writes on the channel, and what became of it."""

    fate: Fate
    start_s: float
    end_s: float
    writes: tuple[TimedWrite, ...] = ()
    reason: str = ""


class Turn(enum.Enum):
    """When a pattern may start on a channel that had another pattern on it."""

    NOW = "now"  # the band is free and has been still long enough
    CUT = "cut"  # a higher cue while a lower pattern still plays: stop that one, start now
    WAIT = "wait"  # wait until the band has been still for SEPARATION_S


# Times closer than this are one instant (offsets are rounded to milliseconds).
SAME_INSTANT_S: Final = 1e-6


def turn_for(
    at_s: float, priority: int, busy_end_s: float, busy_priority: int
) -> tuple[Turn, float]:
    """The rule for one pattern due at ``at_s`` after the pattern last on the channel (ending
    at ``busy_end_s``): its turn and when it starts. The one place the rule is decided, for a
    plan (``HapticChannel``) and at run time (the link's ``WriteChannel``) alike."""
    free_at = busy_end_s + SEPARATION_S
    if at_s >= free_at - SAME_INSTANT_S:
        return Turn.NOW, at_s
    if priority > busy_priority and at_s < busy_end_s:
        return Turn.CUT, at_s
    return Turn.WAIT, free_at


@dataclass(frozen=True)
class CueRequest:
    at_s: float
    cue: CueName


@dataclass
class _Placed:
    request: int
    at_s: float  # when the cue was due (its delivery may start later)
    cue: CueName
    priority: int
    delivery: Delivery


def _ms(seconds: float) -> float:
    return round(seconds, 3)


def _timed(pattern: Pattern, start: float) -> tuple[TimedWrite, ...]:
    return tuple(TimedWrite(_ms(start + w.after_s), w) for w in pattern.writes)


class HapticChannel:
    """The band's one channel: places cues by the rule in this module's docstring."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._last: _Placed | None = None
        # The first cue that took the channel at the latest instant: a breath cue at that
        # instant folds into it, even if a lower cue had to wait behind it meanwhile.
        self._instant: _Placed | None = None
        self.cuts: list[tuple[int, Delivery]] = []  # (request, its cut delivery)

    def place(
        self, request: int, at_s: float, cue: CueName, next_at_s: float | None = None
    ) -> Delivery:
        """Where cue ``cue`` due at ``at_s`` goes; ``next_at_s`` is when the next cue is due."""
        pattern = self.vocabulary.pattern(cue)
        if pattern is None:
            return Delivery(Fate.SCREEN, at_s, at_s, reason="this band has no pattern for it")
        rank = priority_of(cue)
        last = self._last
        if last is None:
            turn, start = Turn.NOW, at_s
        else:
            turn, start = turn_for(at_s, rank, last.delivery.end_s, last.priority)
        if turn is Turn.NOW or last is None:
            end = _ms(at_s + pattern.length_s)
            played = Delivery(Fate.PLAYED, at_s, end, _timed(pattern, at_s))
            return self._take(request, at_s, cue, rank, played)
        first = self._instant
        if (
            first is not None
            and cue in BREATH_CUES
            and abs(at_s - first.at_s) < SAME_INSTANT_S
            and rank < first.priority
        ):
            return Delivery(Fate.FOLDED, at_s, at_s, reason=f"folded into {first.cue}")
        if turn is Turn.CUT:
            return self._take(request, at_s, cue, rank, self._cut_for(last, at_s, cue, pattern))
        start = _ms(start)
        if next_at_s is not None and start + pattern.length_s + SEPARATION_S > next_at_s + 1e-9:
            reason = f"no room after {last.cue} before the next cue"
            return Delivery(Fate.DROPPED, at_s, at_s, reason=reason)
        waited = start - at_s
        delivery = Delivery(
            Fate.DELAYED if waited > 1e-6 else Fate.PLAYED,
            start,
            _ms(start + pattern.length_s),
            _timed(pattern, start),
            reason=f"waited {waited:.2f} s for {last.cue} to finish" if waited > 1e-6 else "",
        )
        return self._take(request, at_s, cue, rank, delivery)

    def _cut_for(self, last: _Placed, at_s: float, cue: CueName, pattern: Pattern) -> Delivery:
        kept = tuple(w for w in last.delivery.writes if w.at_s < at_s)
        cut = Delivery(Fate.CUT, last.delivery.start_s, at_s, kept, reason=f"cut short for {cue}")
        self.cuts.append((last.request, cut))
        last.delivery = cut
        pulse_on = _pulses([(w.at_s, w.write) for w in kept])
        on_at_cut = [p for p in pulse_on if p.onset_s + p.length_s > at_s]
        writes: list[TimedWrite] = []
        start = at_s
        for pulse in on_at_cut:
            stop = self.vocabulary.stops.get(pulse.characteristic)
            if stop is not None:
                writes.append(TimedWrite(_ms(at_s), stop))
                start = _ms(at_s + AFTER_STOP_S)
        writes.extend(_timed(pattern, start))
        reason = f"{last.cue} stopped first" if writes and start > at_s else ""
        return Delivery(Fate.PLAYED, at_s, _ms(start + pattern.length_s), tuple(writes), reason)

    def _take(
        self, request: int, at_s: float, cue: CueName, rank: int, delivery: Delivery
    ) -> Delivery:
        if delivery.writes:
            self._last = _Placed(request, at_s, cue, rank, delivery)
            if self._instant is None or abs(self._instant.at_s - at_s) > SAME_INSTANT_S:
                self._instant = self._last
        return delivery


def compose(requests: Sequence[CueRequest], vocabulary: Vocabulary) -> tuple[Delivery, ...]:
    """Each request's delivery, in the requests' order, by the module's rule.

    ``requests`` are taken by time and, at one instant, highest priority first.
    """
    order = sorted(
        range(len(requests)),
        key=lambda i: (requests[i].at_s, -priority_of(requests[i].cue), i),
    )
    channel = HapticChannel(vocabulary)
    placed: dict[int, Delivery] = {}
    for position, index in enumerate(order):
        request = requests[index]
        later = [requests[j].at_s for j in order[position + 1 :] if requests[j].at_s > request.at_s]
        placed[index] = channel.place(index, request.at_s, request.cue, later[0] if later else None)
    for index, cut in channel.cuts:
        placed[index] = cut
    return tuple(placed[i] for i in range(len(requests)))


def write_timeline(deliveries: Iterable[Delivery]) -> list[TimedWrite]:
    """Every write the band gets, in time order."""
    writes = [w for d in deliveries for w in d.writes]
    return sorted(writes, key=lambda w: w.at_s)


# --- how a wearer reads what arrives -------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One write as the band got it."""

    t: float
    characteristic: str
    value: bytes


@dataclass(frozen=True)
class Felt:
    t: float  # when its first write arrived
    cue: CueName


@dataclass(frozen=True)
class Reading:
    felt: tuple[Felt, ...]
    unreadable: tuple[Received, ...]  # writes no whole pattern explains: masked or interleaved


def read_wrist(
    received: Sequence[Received], vocabulary: Vocabulary, tolerance_s: float = READ_TOLERANCE_S
) -> Reading:
    """What a wearer who knows the band's patterns feels from the writes it received.

    From each write not yet explained, the pattern whose writes follow one another unbroken
    with the pattern's values and rhythm (each within ``tolerance_s``) is felt as that cue;
    when several fit, the one whose rhythm fits best (then the longer). A stop write on its
    own ends a buzz and means nothing more. Anything else is unreadable: a pattern masked by
    another, or two interleaved.
    """
    ordered = sorted(received, key=lambda r: r.t)
    patterns = list(vocabulary.patterns.values())
    felt: list[Felt] = []
    unreadable: list[Received] = []
    i = 0
    while i < len(ordered):
        fits = [
            (error, -len(p.writes), p.cue, p)
            for p in patterns
            if (error := _misfit(p, ordered, i, tolerance_s)) is not None
        ]
        if fits:
            match = min(fits, key=lambda fit: fit[:3])[3]
            felt.append(Felt(ordered[i].t, match.cue))
            i += len(match.writes)
            continue
        if any(ordered[i].value):
            unreadable.append(ordered[i])
        i += 1
    return Reading(tuple(felt), tuple(unreadable))


def _misfit(
    pattern: Pattern, received: Sequence[Received], start: int, tolerance_s: float
) -> float | None:
    """How far, on average, the writes from ``start`` are from ``pattern``'s rhythm; None
    when they are not that pattern at all."""
    if start + len(pattern.writes) > len(received):
        return None
    origin = received[start].t
    errors = []
    for w, r in zip(pattern.writes, received[start : start + len(pattern.writes)], strict=True):
        error = abs((r.t - origin) - w.after_s)
        if r.characteristic != w.characteristic or r.value != w.value or error > tolerance_s:
            return None
        errors.append(error)
    return sum(errors) / len(errors)


# --- handing cues to the band -------------------------------------------------------------

# What a playback carries: a cue, or a line of text for a watch's screen (not a cue).
PlaybackName: TypeAlias = CueName | Literal["text"]


@dataclass(frozen=True)
class DeliveryReport:
    """What became of a playback's writes at the band."""

    cue: PlaybackName
    reached: bool  # every write was taken by the band's stack (and acknowledged if asked)
    acknowledged: bool  # the band confirmed them (only where the profile writes with response)
    first_write_late_s: float | None  # when the first write went out, against its time
    reason: str = ""  # why not, or what the channel did to it (waited, cut)


@dataclass(frozen=True)
class Playback:
    """One cue's writes at monotonic times, for the band's channel."""

    cue: PlaybackName
    writes: tuple[TimedWrite, ...]
    priority: int = 0
    haptic: bool = True  # False for a line of text: it does not occupy the channel
    on_done: Callable[[DeliveryReport], None] | None = None

    @classmethod
    def now(
        cls,
        cue: CueName,
        writes: Sequence[HapticWrite],
        now: float,
        on_done: Callable[[DeliveryReport], None] | None = None,
    ) -> Playback:
        timed = tuple(TimedWrite(now + w.after_s, w) for w in writes)
        return cls(cue, timed, priority_of(cue), on_done=on_done)

    @property
    def end_s(self) -> float:
        last = max(self.writes, key=lambda w: w.at_s + (w.write.duration_s or 0.0))
        return last.at_s + (last.write.duration_s or 0.0)

    def shifted(self, by_s: float) -> Playback:
        moved = tuple(TimedWrite(w.at_s + by_s, w.write) for w in self.writes)
        return Playback(self.cue, moved, self.priority, self.haptic, self.on_done)
