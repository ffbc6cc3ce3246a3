"""Stored cues say what reached the wrist: pending until the band's answer, then the truth."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Engine

from companion.events import CueDelivered, CueFired
from companion.store import queries
from tests.store.conftest import T0, cue, record, started


def fired(
    planned_s: float, *, fate: str = "played", reason: str = "", pending: bool = True
) -> CueFired:
    base = cue("run1", 0, T0 + planned_s, planned_s, planned_s + 0.002)
    return dataclasses.replace(base, fate=fate, reason=reason, pending=pending, on_wrist=pending)


def delivered(
    planned_s: float, *, ok: bool, reason: str = "", late: float | None = 0.003
) -> CueDelivered:
    return CueDelivered(
        mono=0.0, wall=T0 + planned_s + 1, run_id="run1", step=0, cue="hold-end",
        planned_s=planned_s, on_wrist=ok, acknowledged=False, first_write_late_s=late,
        reason=reason,
    )  # fmt: skip


def stored_cues(engine: Engine) -> list[queries.CueRow]:
    detail = queries.get_session(engine, "run1")
    assert detail is not None
    return list(detail.cues)


def test_a_cue_whose_writes_are_under_way_is_not_yet_stored_as_on_the_wrist(engine: Engine) -> None:
    record(engine, [started("run1", T0), fired(10.0)])

    (row,) = stored_cues(engine)

    assert (row.on_wrist, row.delivery, row.fate) == (False, "pending", "played")


def test_a_cue_the_band_took_is_stored_on_the_wrist_with_its_first_write_lateness(
    engine: Engine,
) -> None:
    record(engine, [started("run1", T0), fired(10.0), delivered(10.0, ok=True, late=0.0042)])

    (row,) = stored_cues(engine)

    assert (row.on_wrist, row.delivery, row.failure) == (True, "sent", None)
    assert row.first_write_late_s == 0.0042


def test_a_cue_whose_writes_failed_is_stored_off_the_wrist_with_the_reason(engine: Engine) -> None:
    reason = "ATT_Error: ATT_Error(error=WRITE_NOT_PERMITTED, handle=0000)"
    record(
        engine,
        [
            started("run1", T0),
            fired(10.0),
            fired(20.0),
            delivered(10.0, ok=False, reason=reason, late=None),
        ],
    )

    failed, pending = stored_cues(engine)

    assert (failed.on_wrist, failed.delivery, failed.failure) == (False, "failed", reason)
    assert (pending.on_wrist, pending.delivery) == (False, "pending")


def test_a_folded_cue_is_stored_with_the_channels_reason_and_off_the_wrist(engine: Engine) -> None:
    record(
        engine,
        [
            started("run1", T0),
            fired(10.0, fate="folded", reason="folded into hold-end", pending=False),
        ],
    )

    (row,) = stored_cues(engine)

    assert (row.on_wrist, row.fate, row.note, row.delivery) == (
        False,
        "folded",
        "folded into hold-end",
        None,
    )
