from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from companion.events import (
    BatteryLevel,
    Event,
    LinkChanged,
    LinkState,
    Notice,
    PacingAdapted,
    PacketDropped,
    PainRated,
    SessionStarted,
    SessionState,
    SessionStateChanged,
)
from companion.routines.catalog import Mode
from companion.routines.plan import PlannedStep
from companion.store.writes import EventTranslator, Write, WriteKind, plan_steps
from tests.store.conftest import BAND, PLAN, T0, cue, ended, sample, started, step


def writes_of(events: list[Event]) -> list[Write]:
    translator = EventTranslator()
    return [write for event in events for write in translator.writes_for(event)]


def sample_row(t: float, session_id: str | None, **overrides: Any) -> dict[str, Any]:
    row = {
        "session_id": session_id,
        "device": BAND,
        "t": t,
        "hr": 60,
        "contact": True,
        "energy_kj": None,
        "rr_ms": None,
    }
    return row | overrides


def test_samples_name_the_running_session_and_none_outside_it() -> None:
    writes = writes_of(
        [
            sample(T0 - 1, 60),
            started("run1", T0),
            sample(T0 + 1, 60, rr_ms=(1012.5, 998.0)),
            SessionStateChanged(
                mono=0, wall=T0 + 2, run_id="run1", state=SessionState.PAUSED, step=0
            ),
            sample(T0 + 3, 60),
            ended("run1", T0 + 4, SessionState.STOPPED),
            sample(T0 + 5, 60),
        ]
    )

    assert [w.params for w in writes if w.kind is WriteKind.SAMPLE] == [
        sample_row(T0 - 1, None),
        sample_row(T0 + 1, "run1", rr_ms="[1012.5, 998.0]"),
        sample_row(T0 + 3, "run1"),
        sample_row(T0 + 5, None),
    ]


def test_session_start_writes_the_session_and_every_planned_step() -> None:
    writes = writes_of(
        [
            LinkChanged(mono=0, wall=T0 - 5, device=BAND, state=LinkState.CONNECTED),
            started("run1", T0, pain_before=3),
        ]
    )

    assert writes[2:] == [
        Write(
            WriteKind.INSERT_SESSION,
            {
                "id": "run1",
                "routine": "bedtime",
                "title": "Bedtime unwind",
                "level": 2,
                "level_reason": "first week: start slow",
                "started_at": T0,
                "ended_at": None,
                "outcome": "running",
                "pain_before": 3,
                "pain_after": None,
                "device": BAND,
                "total_planned_s": 60.0,
                "plan_json": json.dumps(PLAN.to_json(), sort_keys=True),
                "pain_step": None,
                "pain_at": None,
            },
        ),
        Write(WriteKind.INSERT_STEP, plan_steps("run1", PLAN)[0]),
        Write(WriteKind.INSERT_STEP, plan_steps("run1", PLAN)[1]),
    ]


def test_plan_steps_become_rows_numbered_as_the_plan_numbers_them() -> None:
    rest = PlannedStep(
        index=3, name="Rest", exercise="rest", side=None, mode=Mode.REST, start_s=60.0,
        end_s=70.0, instructions="Rest.", breaths=1, reps=None,
    )  # fmt: skip
    plan = dataclasses.replace(
        PLAN, steps=(PLAN.steps[0], dataclasses.replace(PLAN.steps[1], index=2), rest)
    )

    assert plan_steps("run1", plan) == [
        {
            "session_id": "run1",
            "idx": 0,
            "name": "Knee to chest",
            "exercise": "knee-to-chest",
            "side": "left",
            "mode": "hold",
            "planned_start_s": 0.0,
            "planned_end_s": 30.0,
            "breaths": 3,
            "reps": None,
            "started_at": None,
            "ended_at": None,
        },
        {
            "session_id": "run1",
            "idx": 2,
            "name": "Pelvic tilt",
            "exercise": "pelvic-tilt",
            "side": None,
            "mode": "reps",
            "planned_start_s": 30.0,
            "planned_end_s": 60.0,
            "breaths": None,
            "reps": 5,
            "started_at": None,
            "ended_at": None,
        },
        {
            "session_id": "run1",
            "idx": 3,
            "name": "Rest",
            "exercise": "rest",
            "side": None,
            "mode": "rest",
            "planned_start_s": 60.0,
            "planned_end_s": 70.0,
            "breaths": 1,
            "reps": None,
            "started_at": None,
            "ended_at": None,
        },
    ]


def test_a_session_without_a_title_is_titled_by_its_routine() -> None:
    event = SessionStarted(
        mono=0, wall=T0, run_id="r", routine="morning", level=1, total_s=1.0,
        pain_before=None, plan=dataclasses.replace(PLAN, title="", level_reason="", steps=()),
    )  # fmt: skip

    (write,) = writes_of([event])

    assert (write.params["title"], write.params["level_reason"]) == ("morning", None)


@pytest.mark.parametrize(
    ("state", "pain_step", "pain_at"),
    [
        (SessionState.COMPLETED, None, None),
        (SessionState.STOPPED, None, None),
        (SessionState.INTERRUPTED, None, None),
        (SessionState.PAIN, 1, T0 + 9),
    ],
)
def test_a_final_state_finishes_the_session_and_pain_records_where(
    state: SessionState, pain_step: int | None, pain_at: float | None
) -> None:
    (write,) = writes_of([ended("run1", T0 + 9, state, step_idx=1)])

    assert write == Write(
        WriteKind.FINISH_SESSION,
        {
            "id": "run1",
            "outcome": state.value,
            "ended_at": T0 + 9,
            "pain_step": pain_step,
            "pain_at": pain_at,
        },
    )


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            step("run1", 1, T0 + 30),
            [Write(WriteKind.START_STEP, {
                "session_id": "run1", "idx": 1, "name": "Pelvic tilt",
                "exercise": "pelvic-tilt", "side": None, "mode": None,
                "planned_start_s": 30.0, "planned_end_s": 60.0, "breaths": None,
                "reps": None, "started_at": T0 + 30, "ended_at": None,
            })],
        ),
        (
            cue("run1", 0, T0 + 10, 10.0, 10.02),
            [Write(WriteKind.INSERT_CUE, {
                "session_id": "run1", "step_idx": 0, "cue": "hold-end", "planned_s": 10.0,
                "actual_s": 10.02, "duration_s": 0.4, "on_wrist": True, "at": T0 + 10,
                "fate": None, "note": None, "delivery": None, "acknowledged": None,
                "first_write_late_s": None, "failure": None,
            })],
        ),
        (
            PacingAdapted(mono=0, wall=T0 + 3, run_id="run1", exhale_s=7.0, reason="slower"),
            [Write(WriteKind.INSERT_PACING, {
                "session_id": "run1", "t": T0 + 3, "exhale_s": 7.0, "reason": "slower",
            })],
        ),
        (
            PainRated(mono=0, wall=T0, run_id="run1", moment="before", pain=5),
            [Write(WriteKind.PAIN_BEFORE, {"id": "run1", "pain": 5})],
        ),
        (
            PainRated(mono=0, wall=T0, run_id="run1", moment="after", pain=2),
            [Write(WriteKind.PAIN_AFTER, {"id": "run1", "pain": 2})],
        ),
        (PainRated(mono=0, wall=T0, run_id="run1", moment="during", pain=2), []),
        (
            LinkChanged(mono=0, wall=T0, device=BAND, state=LinkState.LOST, detail="timeout"),
            [Write(WriteKind.INSERT_LINK, {
                "device": BAND, "t": T0, "state": "lost", "detail": "timeout",
                "session_id": None,
            })],
        ),
        (
            LinkChanged(mono=0, wall=T0, device=BAND, state=LinkState.RECONNECTED,
                        name="Polar H10 A1B2", profile="polar-h10"),
            [
                Write(WriteKind.SEEN_DEVICE, {"address": BAND, "t": T0, "name": "Polar H10 A1B2",
                                              "profile": "polar-h10"}),
                Write(WriteKind.INSERT_LINK, {
                    "device": BAND, "t": T0, "state": "reconnected", "detail": "",
                    "session_id": None,
                }),
            ],
        ),
        (BatteryLevel(mono=0, wall=T0, device=BAND, percent=80), []),
        (
            PacketDropped(
                mono=0, wall=T0, device=BAND, characteristic="2a37", reason="short", total=1
            ),
            [],
        ),
        (Notice(mono=0, wall=T0, level="info", topic="t", message="m"), []),
        (
            SessionStateChanged(
                mono=0, wall=T0, run_id="run1", state=SessionState.RUNNING, step=0
            ),
            [],
        ),
    ],
)  # fmt: skip
def test_each_event_becomes_its_writes(event: Event, expected: list[Write]) -> None:
    assert writes_of([event]) == expected
