"""Watching breathing during routines: live coherence, and scoring the resonance assessment.

``BreathingWatcher`` is one more listener on the bus. While a routine runs it keeps the
beats (from heart-rate samples' RR intervals) and the breath cues, and

* every ``COHERENCE_EVERY_S`` publishes a ``CoherenceMeasured`` event (``coherence``
  in the stream): how closely heart rate follows the pacer over the last minute, a guide;
* when a routine with paced-breathing blocks (``resonance``) completes, scores it
  (``companion.heart.resonance.assess``) off the loop in a worker thread, stores the result
  through ``save`` in that thread, and publishes ``ResonanceAssessed`` (``resonance``)
  and a ``Notice`` with its sentence.

The listener itself only appends to lists and, every few seconds, runs the coherence
arithmetic on about a minute of beats (well under a millisecond of numpy).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from companion.cues import CueName
from companion.events import (
    CueFired,
    Event,
    HeartRateSample,
    Notice,
    SessionStarted,
    SessionState,
    SessionStateChanged,
    StepStarted,
)
from companion.heart.coherence import coherence
from companion.heart.resonance import PACED_BREATHING, SECONDS_PER_MINUTE, PaceBlock, assess
from companion.heart.resonance_json import AssessmentJson

_LOGGER = logging.getLogger(__name__)

COHERENCE_EVERY_S = 5.0
COHERENCE_WINDOW_BEATS = 200  # beats handed to the coherence figure (it uses the last 64 s)
# A routine's beats are kept for scoring; an hour of them is about 4,000.
MAX_BEATS = 6_000
GUIDE = "a guide, not a measurement"

# (session id, wall time, the assessment as JSON) -> the stored row's id, or None.
SaveAssessment = Callable[[str, float, AssessmentJson], int | None]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CoherenceMeasured(Event):
    """How closely heart rate follows the pacer right now (0..1), labelled as a guide."""

    kind: ClassVar[str] = "coherence"
    run_id: str
    value: float
    level: str  # low, medium, high
    breathing_per_min: float
    label: str = GUIDE


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResonanceAssessed(Event):
    """A resonance assessment was scored (and stored, when ``assessment_id`` is set)."""

    kind: ClassVar[str] = "resonance"
    run_id: str
    assessment_id: int | None
    result: AssessmentJson


@dataclasses.dataclass(frozen=True)
class CueSeen:
    mono: float
    cue: str
    step: int


def _cue_times(cues: Sequence[CueSeen], step: int, cue: CueName) -> tuple[float, ...]:
    return tuple(c.mono for c in cues if c.step == step and c.cue == cue)


def blocks_from_run(
    plan: Mapping[str, Any],
    step_starts: Mapping[int, float],
    cues: Sequence[CueSeen],
    end_mono: float,
) -> tuple[PaceBlock, ...]:
    """The paced-breathing blocks of a run as they happened (monotonic seconds): each
    block from its step's start to the next step's (or the end), with its breath cues.
    Blocks the run never reached are left out."""
    blocks: list[PaceBlock] = []
    starts = sorted(step_starts.items(), key=lambda item: item[1])
    for step in plan.get("steps", []):
        index, pattern = step.get("index"), step.get("pattern")
        if step.get("exercise") != PACED_BREATHING or not pattern or index not in step_starts:
            continue
        start = step_starts[index]
        later = [mono for _, mono in starts if mono > start]
        end = min(later) if later else end_mono
        cycle = sum(float(pattern.get(key, 0.0)) for key in _PHASES)
        if cycle <= 0:
            continue
        blocks.append(
            PaceBlock(
                pace_per_min=round(SECONDS_PER_MINUTE / cycle, 1),
                start_s=start,
                end_s=end,
                inhale_s=_cue_times(cues, index, CueName.BREATH_IN),
                exhale_s=_cue_times(cues, index, CueName.BREATH_OUT),
                inhale_len_s=float(pattern.get("inhale_s", 0.0)),
                exhale_len_s=float(pattern.get("exhale_s", 0.0)),
            )
        )
    return tuple(blocks)


_PHASES = ("inhale_s", "hold_in_s", "exhale_s", "hold_out_s")


class BreathingWatcher:
    def __init__(
        self,
        publish: Callable[[Event], None],
        *,
        save: SaveAssessment | None = None,
        coherence_every_s: float = COHERENCE_EVERY_S,
    ) -> None:
        self._publish = publish
        self._save = save
        self._every_s = coherence_every_s
        self._run: SessionStarted | None = None
        self._beat_times: deque[float] = deque(maxlen=MAX_BEATS)
        self._rr_ms: deque[float] = deque(maxlen=MAX_BEATS)
        self._cues: list[CueSeen] = []
        self._step_starts: dict[int, float] = {}
        self._last_inhales: deque[float] = deque(maxlen=2)
        self._next_coherence = 0.0
        self._paused = False
        self._tasks: set[asyncio.Future[None]] = set()

    def on_event(self, event: Event) -> None:
        if isinstance(event, SessionStarted):
            self._begin(event)
            return
        run = self._run
        if run is None:
            return
        if isinstance(event, HeartRateSample):
            self._add_beats(event)
            if not self._paused and event.mono >= self._next_coherence:
                self._next_coherence = event.mono + self._every_s
                self._measure_coherence(run.run_id, event)
        elif isinstance(event, CueFired) and event.run_id == run.run_id:
            self._cues.append(CueSeen(event.mono, event.cue, event.step))
            if event.cue == CueName.BREATH_IN:
                self._last_inhales.append(event.mono)
        elif isinstance(event, StepStarted) and event.run_id == run.run_id:
            self._step_starts.setdefault(event.step, event.mono)
        elif isinstance(event, SessionStateChanged) and event.run_id == run.run_id:
            self._paused = event.state is SessionState.PAUSED
            if event.state.is_final:
                self._end(run, event)

    async def async_settle(self, timeout_s: float) -> None:
        """Wait (up to ``timeout_s``) for assessments being scored, so their results are
        published before whoever started the routine goes away."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    # --- inside -------------------------------------------------------------------------

    def _begin(self, event: SessionStarted) -> None:
        self._run = event
        self._beat_times.clear()
        self._rr_ms.clear()
        self._cues = []
        self._step_starts = {}
        self._last_inhales.clear()
        self._next_coherence = event.mono + self._every_s
        self._paused = False

    def _add_beats(self, event: HeartRateSample) -> None:
        # The last interval of a notification ended about when it arrived.
        t = event.mono
        times = []
        for rr in reversed(event.rr_ms):
            times.append(t)
            t -= rr / 1000.0
        for time_s, rr in zip(reversed(times), event.rr_ms, strict=True):
            self._beat_times.append(time_s)
            self._rr_ms.append(float(rr))

    def _pace_now(self, run: SessionStarted) -> float | None:
        if len(self._last_inhales) == 2 and self._last_inhales[1] > self._last_inhales[0]:
            return SECONDS_PER_MINUTE / (self._last_inhales[1] - self._last_inhales[0])
        cycle = run.plan.pattern.cycle_s
        return SECONDS_PER_MINUTE / cycle if cycle > 0 else None

    def _measure_coherence(self, run_id: str, event: HeartRateSample) -> None:
        assert self._run is not None
        pace = self._pace_now(self._run)
        if pace is None:
            return
        count = min(COHERENCE_WINDOW_BEATS, len(self._beat_times))
        times = list(self._beat_times)[-count:]
        rr = list(self._rr_ms)[-count:]
        try:
            reading = coherence(times, rr, pace, now_s=event.mono)
        except ValueError:
            _LOGGER.exception("coherence could not be computed")
            return
        if reading is None:
            return
        self._publish(
            CoherenceMeasured(
                mono=event.mono,
                wall=event.wall,
                run_id=run_id,
                value=round(reading.value, 3),
                level=reading.level,
                breathing_per_min=round(pace, 2),
            )
        )

    def _end(self, run: SessionStarted, event: SessionStateChanged) -> None:
        self._run = None
        if event.state is not SessionState.COMPLETED:
            return
        blocks = blocks_from_run(run.plan.to_json(), self._step_starts, self._cues, event.mono)
        if not blocks:
            return
        beat_times, rr_ms = list(self._beat_times), list(self._rr_ms)
        save = self._save

        def score() -> tuple[AssessmentJson, int | None]:
            result = assess(blocks, beat_times, rr_ms).to_json()
            stored = None
            if save is not None:
                try:
                    stored = save(run.run_id, event.wall, result)
                except Exception:
                    _LOGGER.exception("the resonance assessment could not be stored")
            return result, stored

        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(self._score_off_loop(loop, score, run.run_id, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _score_off_loop(
        self,
        loop: asyncio.AbstractEventLoop,
        score: Callable[[], tuple[AssessmentJson, int | None]],
        run_id: str,
        ended: SessionStateChanged,
    ) -> None:
        try:
            result, stored = await loop.run_in_executor(None, score)
        except Exception:
            _LOGGER.exception("the resonance assessment could not be scored")
            return
        mono, wall = loop.time(), ended.wall
        self._publish(
            ResonanceAssessed(
                mono=mono, wall=wall, run_id=run_id, assessment_id=stored, result=result
            )
        )
        level = "info" if result.get("verdict") == "answered" else "warning"
        self._publish(
            Notice(mono=mono, wall=wall, level=level, topic="resonance", message=result["message"])
        )
