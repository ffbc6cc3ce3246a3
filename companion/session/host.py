"""The session host: what runs on the asyncio loop around one routine at a time.

It owns the session commands (start, pause, resume, skip, stop, pain) and the running
routine, and keeps the snapshot the dashboard reads as status. It lives on the loop and is
only touched there; ``companion.session.bridge`` is how other threads reach it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from companion.ble.link import BandLink
from companion.ble.profiles import DeviceProfile
from companion.bus import EventBus
from companion.clock import WallClock, monotonic
from companion.cues import CueName
from companion.errors import SessionError, UnknownNameError
from companion.events import (
    BandScript,
    Event,
    HeartRateSample,
    HeartRateStale,
    Notice,
    PainRated,
    SessionStarted,
    SessionState,
    SessionStateChanged,
)
from companion.routines.catalog import Routine
from companion.routines.engine import SessionRunner
from companion.routines.haptics import Vocabulary
from companion.routines.pacer import BreathPattern
from companion.routines.plan import (
    PlanSettings,
    band_script,
    compile_plan,
    compose_plan,
    retime_from,
)
from companion.routines.progression import (
    ProgressionLevel,
    ProgressionPolicy,
    progression_level,
)
from companion.routines.watch import SafetySettings
from companion.session.live_feed import DEFAULT_MAX_STREAMS, FeedHub
from companion.session.status import (
    NO_LINK,
    HeartRateNow,
    IdleSession,
    LinkStatus,
    RoutineSummary,
    SessionNow,
    SessionStatus,
    Status,
)

_LOGGER = logging.getLogger(__name__)

FIRST_LEVEL = progression_level([], ProgressionPolicy())
# A heart rate older than this is not shown as live (bands notify about once a second).
STALE_AFTER_S = 3.0
MAX_NOTICES = 5


class LoopTimer:
    """The engine's timer on the asyncio loop, whose clock is monotonic."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def time(self) -> float:
        return self._loop.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self._loop.call_at(when, callback)


@dataclass
class CoreSettings:
    pattern: BreathPattern | None  # None: each routine's own pattern, else the default
    safety: SafetySettings


class SessionHost:
    def __init__(
        self,
        *,
        bus: EventBus,
        link: BandLink | None,
        routines: Mapping[str, Routine],
        profile_for_plans: DeviceProfile | None,
        settings: CoreSettings,
        progression: Callable[[str], Awaitable[ProgressionLevel]],
        max_streams: int = DEFAULT_MAX_STREAMS,
        clock: WallClock | None = None,
        preferences: Callable[[], Awaitable[CoreSettings]] | None = None,
    ) -> None:
        self._preferences = preferences
        self.clock = clock or WallClock()
        self.bus = bus
        self.link = link
        self.routines = dict(routines)
        self._profile_for_plans = profile_for_plans
        self.settings = settings
        self._progression = progression
        self.feed = FeedHub(max_streams)
        self.runner: SessionRunner | None = None
        self.last_run_id: str | None = None
        self._last_hr: HeartRateSample | None = None
        self._stale_timer: asyncio.TimerHandle | None = None
        self._notices: list[Notice] = []
        self._starting: _StartClaim | None = None
        self._unsubscribe_runner: Callable[[], None] | None = None
        bus.subscribe(self._on_event)
        bus.subscribe(self._to_dashboard)

    # --- events ---------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """What the status snapshot needs to remember; the bus delivers to everyone else."""
        if isinstance(event, HeartRateSample):
            self._last_hr = event
            self._arm_stale_timer()
        elif isinstance(event, Notice):
            self._notices = [*self._notices[-(MAX_NOTICES - 1) :], event]
        elif isinstance(event, SessionStateChanged) and event.state.is_final:
            self.clock.release()
            if self._unsubscribe_runner is not None:
                self._unsubscribe_runner()
                self._unsubscribe_runner = None

    def _to_dashboard(self, event: Event) -> None:
        shown = _for_dashboard(event)
        if shown is not None:
            self.feed.publish(shown)

    def _arm_stale_timer(self) -> None:
        if self._stale_timer is not None:
            self._stale_timer.cancel()
        self._stale_timer = asyncio.get_running_loop().call_later(
            STALE_AFTER_S, self._heart_rate_went_stale
        )

    def _heart_rate_went_stale(self) -> None:
        self._stale_timer = None
        last = self._last_hr
        if last is None:
            return
        mono = monotonic()
        self.bus.publish(
            HeartRateStale(
                mono=mono,
                wall=self.clock.now(),
                device=last.device,
                last_hr=last.hr,
                last_wall=last.wall,
                age_s=round(mono - last.mono, 1),
            )
        )

    # --- commands (on the loop) -----------------------------------------------------------

    def _profile(self) -> DeviceProfile | None:
        if self.link is not None and self.link.profile is not None:
            return self.link.profile
        return self._profile_for_plans

    def _wrist(self, cue: CueName) -> bool:
        return self.link.run_cue(cue) if self.link is not None else False

    def _session_busy(self) -> bool:
        return self._starting is not None or (
            self.runner is not None and not _is_final(self.runner.state)
        )

    async def start_session(self, routine_name: str, pain_before: int | None) -> str:
        # Decide and claim before the first await: every other start that arrives while
        # this one reads the store sees the claim and is refused, so one routine runs.
        if self._session_busy():
            raise SessionError("a routine is already running; stop it first")
        routine = self.routines.get(routine_name)
        if routine is None:
            raise UnknownNameError("routine", routine_name, list(self.routines))
        claim = _StartClaim()
        self._starting = claim
        try:
            if self._preferences is not None:
                # Settings saved on the dashboard apply from the next routine on.
                self.settings = await self._preferences()
            level = await self._progression(routine_name)
        finally:
            self._starting = None
        if claim.cancelled_by is not None:
            raise SessionError(f"the routine was not started: {claim.cancelled_by}")
        plan_settings = PlanSettings(pattern=self.settings.pattern)
        # Composed for the band's one haptic channel: the plan lists what the band receives.
        profile = self._profile()
        vocabulary = Vocabulary.from_profile(profile) if profile and profile.has_haptics else None
        plan = compose_plan(compile_plan(routine, plan_settings, level), vocabulary)
        run_id = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        runner = SessionRunner(
            plan,
            run_id=run_id,
            timer=LoopTimer(loop),
            wall=self.clock.now,
            bus=self.bus,
            wrist=self._wrist,
            replan=retime_from,
            safety=self.settings.safety,
            pain_before=pain_before,
            haptics=self.link,
        )
        self.runner = runner
        self.last_run_id = run_id
        self._unsubscribe_runner = self.bus.subscribe(_heart_rate_to(runner))
        self.clock.hold()
        if pain_before is not None:
            self.bus.publish(
                PainRated(
                    mono=monotonic(),
                    wall=self.clock.now(),
                    run_id=run_id,
                    moment="before",
                    pain=pain_before,
                )
            )
        runner.start()
        if plan.vocabulary is not None:
            # The band's side of the plan, beside the session rather than inside it: what
            # its one channel is to receive, write by write (the CLI and benches read it).
            self.bus.publish(
                BandScript(
                    mono=monotonic(),
                    wall=self.clock.now(),
                    run_id=run_id,
                    writes=band_script(plan),
                )
            )
        return run_id

    def command(self, name: str) -> SessionStatus:
        if self._starting is not None and name in _ENDING_COMMANDS:
            # Stop or Pain pressed while a start is still reading the store: that start
            # never begins, so nothing reaches the wrist.
            self._starting.cancelled_by = _ENDING_COMMANDS[name]
            return self.session_status()
        runner = self.runner
        if runner is None:
            raise SessionError("no routine has been started")
        actions: dict[str, Callable[[], None]] = {
            "pause": runner.pause,
            "resume": runner.resume,
            "skip": runner.skip,
            "stop": runner.stop,
            "pain": runner.pain,
        }
        action = actions.get(name)
        if action is None:
            raise UnknownNameError("command", name, list(actions))
        action()
        return self.session_status()

    def rate_pain_after(self, pain: int) -> None:
        if self.last_run_id is None:
            raise SessionError("there is no finished routine to rate")
        if self.runner is not None and not _is_final(self.runner.state):
            raise SessionError("rate your pain once the routine has ended")
        self.bus.publish(
            PainRated(
                mono=monotonic(),
                wall=self.clock.now(),
                run_id=self.last_run_id,
                moment="after",
                pain=pain,
            )
        )

    def interrupt(self, reason: str) -> None:
        if self.runner is not None:
            self.runner.interrupt(reason)

    def buzz(self, cue: CueName) -> bool:
        return self._wrist(cue)

    # --- status ---------------------------------------------------------------------------

    def routine_list(self) -> list[RoutineSummary]:
        listed = []
        for routine in self.routines.values():
            plan = compile_plan(routine, PlanSettings(pattern=self.settings.pattern), FIRST_LEVEL)
            listed.append(
                RoutineSummary(
                    name=routine.name,
                    title=routine.title,
                    description=routine.description,
                    total_s=plan.total_s,
                )
            )
        return listed

    def session_status(self) -> SessionStatus:
        runner = self.runner
        if runner is None or runner.state is None:
            return IdleSession()
        plan = runner.plan
        return SessionNow(
            id=runner.run_id,
            state=runner.state,
            routine=plan.routine,
            title=plan.title,
            level=plan.level,
            level_reason=plan.level_reason,
            offset_s=round(runner.offset(), 3),
            total_s=plan.total_s,
            reason=runner.finished_reason,
            pattern=plan.pattern,
            step=runner.step,
            steps=len(plan.steps),
        )

    def status(self) -> Status:
        link = self.link
        hr = self._last_hr
        return Status(
            link=LinkStatus(
                state=link.state if link else NO_LINK,
                detail=link.state_detail if link else "",
                device=link.address if link else None,
                profile=link.profile.name if link and link.profile else None,
                battery=link.battery if link else None,
                dropped_packets=link.dropped_packets if link else 0,
            ),
            heart_rate=None if hr is None else _heart_rate_now(hr, monotonic()),
            session=self.session_status(),
            notices=tuple(self._notices),
            streams=len(self.feed),
        )


def _for_dashboard(event: Event) -> Event | None:
    """The plan's cue timeline and the band's script are for the store, the CLI and
    `companion plan`; the page paces from the steps and the cue events (``Plan.outline``).
    None: the dashboard does not get the event (``Event.on_dashboard``)."""
    if not event.on_dashboard:
        return None
    if not isinstance(event, SessionStarted):
        return event
    return dataclasses.replace(event, plan=event.plan.outline())


def _heart_rate_to(runner: SessionRunner) -> Callable[[Event], None]:
    def deliver(event: Event) -> None:
        if isinstance(event, HeartRateSample):
            runner.on_heart_rate(event)

    return deliver


def _heart_rate_now(hr: HeartRateSample, now_mono: float) -> HeartRateNow:
    age_s = max(0.0, now_mono - hr.mono)
    return HeartRateNow(
        hr=hr.hr,
        contact=hr.contact,
        t=hr.wall,
        rr_ms=hr.rr_ms,
        age_s=round(age_s, 1),
        # From the instant the stale timer fires (at the threshold itself), never after it.
        stale=age_s >= STALE_AFTER_S,
    )


@dataclass
class _StartClaim:
    """A start in progress; Stop or Pain before it begins cancels it."""

    cancelled_by: str | None = None


_ENDING_COMMANDS = {"stop": "stopped by you", "pain": "pain reported"}


def _is_final(state: SessionState | None) -> bool:
    return state is None or state.is_final
