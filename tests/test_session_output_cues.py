"""The terminal session says where each cue went: the wrist, the screen, folded, or refused."""

from __future__ import annotations

from companion.cli.session_output import SessionPrinter
from companion.cues import CueName
from companion.events import CueDelivered, CueFired


def fired(cue: CueName, *, on_wrist: bool, fate: str = "", reason: str = "") -> CueFired:
    return CueFired(
        mono=0.0, wall=0.0, run_id="r", step=1, cue=cue, planned_s=30.0, actual_s=30.0,
        on_wrist=on_wrist, fate=fate, reason=reason, pending=on_wrist,
    )  # fmt: skip


def said(event: object) -> str:
    lines = SessionPrinter().lines_for(event)  # type: ignore[arg-type]
    return " ".join(" ".join(lines).split()[1:])  # without the time stamp


def test_a_folded_breath_cue_says_what_carried_it_not_the_screen() -> None:
    event = fired(CueName.BREATH_IN, on_wrist=False, fate="folded", reason="folded into hold-end")

    assert said(event) == "breath-in at 30.00 s (folded into hold-end)"


def test_a_played_cue_says_wrist() -> None:
    played = fired(CueName.HOLD_END, on_wrist=True, fate="played")

    assert said(played) == "hold-end at 30.00 s (wrist)"


def test_a_cue_the_band_refused_is_said_with_the_reason() -> None:
    refused = CueDelivered(
        mono=0.0, wall=0.0, run_id="r", step=1, cue=CueName.HOLD_END, planned_s=30.0,
        on_wrist=False, acknowledged=False, first_write_late_s=None,
        reason="ATT_Error: WRITE_NOT_PERMITTED",
    )  # fmt: skip

    assert said(refused) == "hold-end did not reach the wrist: ATT_Error: WRITE_NOT_PERMITTED"


def test_a_cue_the_band_took_adds_no_line() -> None:
    took = CueDelivered(
        mono=0.0, wall=0.0, run_id="r", step=1, cue=CueName.HOLD_END, planned_s=30.0,
        on_wrist=True, acknowledged=False, first_write_late_s=0.002,
    )  # fmt: skip

    assert SessionPrinter().lines_for(took) == []
