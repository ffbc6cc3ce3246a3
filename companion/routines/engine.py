"""Runs one routine's timeline on monotonic deadlines.

Every step start and cue has a deadline computed from the routine's start, so a late cue
never shifts the ones after it; a pause shifts the rest by exactly the pause, and a skip
pulls the rest forward by exactly what was skipped. The engine owns no clock and no
loop: it is given a ``Timer`` (the asyncio loop in the service, a fake one in tests).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from companion.bus import EventBus
from companion.cues import CueName
from companion.errors import SessionError
from companion.events import (
    CueDelivered,
    CueFired,
    HeartRateSample,
    Notice,
    PacingAdapted,
    SessionStarted,
    SessionState,
    SessionStateChanged,
    StepStarted,
)
from companion.routines.haptics import (
    CueRequest,
    Delivery,
    DeliveryReport,
    Fate,
    Playback,
    TimedWrite,
    compose,
    priority_of,
)
from companion.routines.pacer import BreathPattern
from companion.routines.plan import Plan, PlannedCue, PlannedStep
from companion.routines.watch import (
    PacingSettings,
    PacingWatch,
    SafetySettings,
    SafetyWatch,
)

_LOGGER = logging.getLogger(__name__)

# How long after a start the routine's clock begins when cues go to a band's channel.
WRITE_PATH_LEAD_IN_S = 0.5


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Timer(Protocol):
    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Cancellable: ...


class Haptics(Protocol):
    """The band's one haptic channel (``BandLink.play``)."""

    def play(self, playback: Playback) -> bool: ...


Replanner = Callable[[Plan, int, BreathPattern], Plan]


@dataclass(frozen=True)
class _Tick:
    """One thing due at a plan offset: a step starting or a cue."""

    at_s: float
    step: PlannedStep | None = None
    cue: PlannedCue | None = None


def _ticks(plan: Plan, from_step: int = 0) -> list[_Tick]:
    ticks = [_Tick(s.start_s, step=s) for s in plan.steps if s.index >= from_step]
    ticks += [_Tick(c.at_s, cue=c) for c in plan.cues if c.step >= from_step]
    # At one instant: the ending step's cues (its hold-end), then the next step, then its cues.
    return sorted(ticks, key=_tick_order)


def _tick_order(tick: _Tick) -> tuple[float, int, bool]:
    if tick.step is not None:
        return (tick.at_s, tick.step.index, False)
    assert tick.cue is not None
    return (tick.at_s, tick.cue.step, True)


class SessionRunner:
    def __init__(
        self,
        plan: Plan,
        *,
        run_id: str,
        timer: Timer,
        wall: Callable[[], float],
        bus: EventBus,
        wrist: Callable[[CueName], bool],
        replan: Replanner,
        safety: SafetySettings | None = None,
        pacing: PacingSettings | None = None,
        pain_before: int | None = None,
        haptics: Haptics | None = None,
        lead_in_s: float | None = None,
    ) -> None:
        self.plan = plan
        # With a composed plan and a channel, each cue's writes are played exactly as the
        # plan lists them, at their own deadlines; otherwise ``wrist`` runs the cue by name.
        self._haptics = haptics
        self._told_write_failure = False
        if lead_in_s is None:
            lead_in_s = WRITE_PATH_LEAD_IN_S if haptics is not None else 0.0
        self._lead_in_s = lead_in_s
        self.run_id = run_id
        self._timer = timer
        self._wall = wall
        self._bus = bus
        self._wrist = wrist
        self._replan = replan
        self._pain_before = pain_before
        self._safety = SafetyWatch(safety or SafetySettings())
        self._pacing = PacingWatch(pacing or PacingSettings(), self._safety.baseline)
        self._base_pattern = plan.pattern
        self._pending: list[_Tick] = []
        self._handle: Cancellable | None = None
        self._start = 0.0
        self._paused_total = 0.0
        self._skipped_total = 0.0
        self._paused_at: float | None = None
        self._pending_pattern: BreathPattern | None = None
        self.state: SessionState | None = None
        self.step: PlannedStep | None = None
        self.finished_reason = ""

    # --- time -----------------------------------------------------------------------------

    @property
    def clock_origin(self) -> float:
        """The timer's time at which the routine's offset 0 fell (or will fall)."""
        return self._start

    def offset(self) -> float:
        """Where the routine is now, in plan seconds (0 until its clock has started)."""
        now = self._paused_at if self._paused_at is not None else self._timer.time()
        return max(0.0, now - self._start - self._paused_total + self._skipped_total)

    def _deadline(self, at_s: float) -> float:
        return self._start + self._paused_total - self._skipped_total + at_s

    # --- commands -------------------------------------------------------------------------

    def start(self) -> None:
        if self.state is not None:
            raise SessionError("this routine has already started")
        # With a band's channel, the routine's clock starts a moment after the start itself,
        # so the start-up work (the plan recorded and sent out, the first step shown) is
        # done before the first cue's writes are due, and they are not late.
        self._start = self._timer.time() + self._lead_in_s
        self._pending = _ticks(self.plan)
        self.state = SessionState.RUNNING
        self._publish_started()
        self._set_state(SessionState.RUNNING, "started")
        self._schedule_next()

    def pause(self, reason: str = "paused") -> None:
        self._require(SessionState.RUNNING, "pause")
        self._cancel_timer()
        self._paused_at = self._timer.time()
        self._set_state(SessionState.PAUSED, reason)

    def resume(self) -> None:
        self._require(SessionState.PAUSED, "resume")
        assert self._paused_at is not None
        self._paused_total += self._timer.time() - self._paused_at
        self._paused_at = None
        self._set_state(SessionState.RUNNING, "resumed")
        self._schedule_next()

    def skip(self) -> None:
        """Move straight to the next step, pulling the rest of the routine forward."""
        if self.state not in (SessionState.RUNNING, SessionState.PAUSED):
            raise SessionError("there is no routine running to skip in")
        next_step = next((t.step for t in self._pending if t.step is not None), None)
        if next_step is None:
            self._finish(SessionState.COMPLETED, "skipped past the last step")
            return
        self._skipped_total += max(0.0, next_step.start_s - self.offset())
        # The skipped step's own cues (its hold-end) go with it.
        self._pending = [t for t in self._pending if _tick_order(t)[1] >= next_step.index]
        self._recompose_pending()
        if self.state == SessionState.RUNNING:
            self._schedule_next()

    def _recompose_pending(self) -> None:
        """Compose the cues still to come again by the same rule: a breath cue that was
        folded into a cue now gone (a skipped step's hold-end) plays on its own."""
        vocabulary = self.plan.vocabulary
        ticks = [t for t in self._pending if t.cue is not None]
        if vocabulary is None or not ticks:
            return
        requests = [CueRequest(t.at_s, t.cue.cue) for t in ticks if t.cue is not None]
        fresh = {
            id(tick): dataclasses.replace(
                tick, cue=dataclasses.replace(tick.cue, delivery=delivery)
            )
            for tick, delivery in zip(ticks, compose(requests, vocabulary), strict=True)
            if tick.cue is not None
        }
        self._pending = [fresh.get(id(tick), tick) for tick in self._pending]

    def stop(self) -> None:
        if self.state not in (SessionState.RUNNING, SessionState.PAUSED):
            raise SessionError("there is no routine running to stop")
        self._finish(SessionState.STOPPED, "stopped by you")

    def interrupt(self, reason: str) -> None:
        """End a routine the companion itself has to abandon (shutting down)."""
        if self.state in (SessionState.RUNNING, SessionState.PAUSED):
            self._finish(SessionState.INTERRUPTED, reason)

    def pain(self) -> None:
        """Stop at once, give the distinct long buzz, and record where it happened."""
        if self.state not in (SessionState.RUNNING, SessionState.PAUSED):
            raise SessionError("there is no routine running")
        self._emit_cue(CueName.PAIN, self.step.index if self.step else 0, self.offset())
        self._finish(SessionState.PAIN, "pain reported")

    def on_heart_rate(self, sample: HeartRateSample) -> None:
        if self.state != SessionState.RUNNING or sample.contact is False:
            return
        t = self.offset()
        alarm = self._safety.add(t, sample.hr)
        if alarm is not None:
            self._emit_cue(CueName.SAFETY, self.step.index if self.step else 0, t)
            self._bus.publish(
                Notice(
                    mono=self._timer.time(),
                    wall=self._wall(),
                    level="warning",
                    topic="safety",
                    message=f"Paused: {alarm.reason}. Rest, breathe easily, and resume only "
                    "if you feel well.",
                )
            )
            self.pause(f"safety: {alarm.reason}")
            return
        change = self._pacing.add(t, sample.hr)
        if change is not None:
            extra, reason = change
            base = self._base_pattern
            self._pending_pattern = dataclasses.replace(base, exhale_s=base.exhale_s + extra)
            self._bus.publish(
                PacingAdapted(
                    mono=self._timer.time(),
                    wall=self._wall(),
                    run_id=self.run_id,
                    exhale_s=self._pending_pattern.exhale_s,
                    reason=reason,
                )
            )

    # --- running the timeline -------------------------------------------------------------

    def _require(self, state: SessionState, verb: str) -> None:
        if self.state != state:
            now = self.state.value if self.state else "not started"
            raise SessionError(f"cannot {verb}: the routine is {now}")

    def _cancel_timer(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule_next(self) -> None:
        self._cancel_timer()
        if not self._pending:
            self._finish(SessionState.COMPLETED, "routine finished")
            return
        self._handle = self._timer.call_at(self._deadline(self._pending[0].at_s), self._on_due)

    def _on_due(self) -> None:
        self._handle = None
        if self.state != SessionState.RUNNING:
            return
        now_offset = self.offset()
        while self._pending and self._pending[0].at_s <= now_offset + 1e-9:
            tick = self._pending.pop(0)
            if tick.step is not None:
                self._begin_step(tick.step)
            elif tick.cue is not None:
                self._emit_cue(
                    tick.cue.cue,
                    tick.cue.step,
                    now_offset,
                    planned_s=tick.cue.at_s,
                    delivery=tick.cue.delivery,
                )
            if not self._is_running():
                return  # a cue's listener paused or ended the routine
        self._schedule_next()

    def _is_running(self) -> bool:
        return self.state == SessionState.RUNNING

    def _begin_step(self, step: PlannedStep) -> None:
        if self._pending_pattern is not None and self._pending_pattern != self.plan.pattern:
            # A new breathing pace takes effect at a step boundary, never mid-hold.
            self.plan = self._replan(self.plan, step.index, self._pending_pattern)
            step = self.plan.steps[step.index]
            self._pending = _ticks(self.plan, step.index)
            self._pending.pop(0)
        self.step = step
        self._bus.publish(
            StepStarted(
                mono=self._timer.time(),
                wall=self._wall(),
                run_id=self.run_id,
                step=step.index,
                name=step.name,
                exercise=step.exercise,
                side=step.side,
                start_s=step.start_s,
                end_s=step.end_s,
                instructions=step.instructions,
                breaths=step.breaths,
            )
        )

    def _emit_cue(
        self,
        cue: CueName,
        step: int,
        actual_s: float,
        planned_s: float | None = None,
        delivery: Delivery | None = None,
    ) -> None:
        planned = actual_s if planned_s is None else planned_s
        fate, reason, pending = "", "", False
        if self._haptics is not None and self.plan.vocabulary is not None:
            on_done = self._on_delivered(cue, step, planned)
            on_wrist = False
            if delivery is None:
                # A cue the plan did not hold (pain, safety): its pattern from now.
                pattern = self.plan.vocabulary.pattern(cue)
                fate = (Fate.PLAYED if pattern else Fate.SCREEN).value
                if pattern is not None:
                    now = self._timer.time()
                    playback = Playback.now(cue, pattern.writes, now, on_done=on_done)
                    on_wrist = pending = self._haptics.play(playback)
            else:
                fate, reason = delivery.fate.value, delivery.reason
                if delivery.fate.reaches_wrist and delivery.writes:
                    timed = tuple(
                        TimedWrite(self._deadline(w.at_s), w.write) for w in delivery.writes
                    )
                    playback = Playback(cue, timed, priority_of(cue), on_done=on_done)
                    on_wrist = pending = self._haptics.play(playback)
        else:
            on_wrist = self._wrist(cue)
        self._bus.publish(
            CueFired(
                mono=self._timer.time(),
                wall=self._wall(),
                run_id=self.run_id,
                step=step,
                cue=cue,
                planned_s=planned,
                actual_s=actual_s,
                on_wrist=on_wrist,
                duration_s=self._cue_duration(cue, step),
                fate=fate,
                reason=reason,
                pending=pending,
            )
        )

    def _on_delivered(
        self, cue: CueName, step: int, planned_s: float
    ) -> Callable[[DeliveryReport], None]:
        def report(outcome: DeliveryReport) -> None:
            self._bus.publish(
                CueDelivered(
                    mono=self._timer.time(),
                    wall=self._wall(),
                    run_id=self.run_id,
                    step=step,
                    cue=cue,
                    planned_s=planned_s,
                    on_wrist=outcome.reached,
                    acknowledged=outcome.acknowledged,
                    first_write_late_s=outcome.first_write_late_s,
                    reason=outcome.reason,
                )
            )
            if not outcome.reached and not self._told_write_failure:
                # Once per routine: the screen keeps every cue, so one notice is enough.
                self._told_write_failure = True
                self._bus.publish(
                    Notice(
                        mono=self._timer.time(),
                        wall=self._wall(),
                        level="warning",
                        topic="band",
                        message=f"The band did not take the {cue} buzz ({outcome.reason}). "
                        "Follow the screen; cues that miss the wrist are marked in the "
                        "session's record.",
                    )
                )

        return report

    def _cue_duration(self, cue: CueName, step: int | None = None) -> float:
        # A step with its own pace (the resonance assessment) breathes at that pace.
        own = (
            self.plan.steps[step].pattern
            if step is not None and 0 <= step < len(self.plan.steps)
            else None
        )
        pattern = own or self.plan.pattern
        if cue == CueName.BREATH_IN:
            return pattern.inhale_s + pattern.hold_in_s
        if cue == CueName.BREATH_OUT:
            return pattern.exhale_s + pattern.hold_out_s
        return 0.0

    def _finish(self, state: SessionState, reason: str) -> None:
        self._cancel_timer()
        self._pending = []
        if self._paused_at is not None:
            self._paused_total += self._timer.time() - self._paused_at
            self._paused_at = None
        self.finished_reason = reason
        self._set_state(state, reason)

    # --- events ---------------------------------------------------------------------------

    def _set_state(self, state: SessionState, reason: str) -> None:
        self.state = state
        self._bus.publish(
            SessionStateChanged(
                mono=self._timer.time(),
                wall=self._wall(),
                run_id=self.run_id,
                state=state,
                step=self.step.index if self.step else None,
                reason=reason,
            )
        )

    def _publish_started(self) -> None:
        self._bus.publish(
            SessionStarted(
                mono=self._timer.time(),
                wall=self._wall(),
                run_id=self.run_id,
                routine=self.plan.routine,
                level=self.plan.level,
                total_s=self.plan.total_s,
                pain_before=self._pain_before,
                plan=self.plan,
            )
        )
