"""The session page says what reached the wrist: yes only when it did, else why not."""

from __future__ import annotations

import dataclasses
import re

from flask.testing import FlaskClient
from sqlalchemy import Engine

from companion.events import CueDelivered, CueFired, Event, SessionState
from tests.web.conftest import T0, record, session_events

REFUSED = "ATT_Error: ATT_Error(error=WRITE_NOT_PERMITTED, handle=0000)"


def delivered(planned_s: float, *, ok: bool, reason: str = "") -> CueDelivered:
    return CueDelivered(
        mono=0.0, wall=T0 + planned_s + 1, run_id="run", step=0, cue="hold-end",
        planned_s=planned_s, on_wrist=ok, acknowledged=False,
        first_write_late_s=0.0042 if ok else None, reason=reason,
    )  # fmt: skip


def with_delivery(outcome: CueDelivered | None) -> list[Event]:
    """The recorded session, its hold-end cue pending at the band, then ``outcome``."""
    events = session_events("run", T0, SessionState.COMPLETED)
    events = [
        dataclasses.replace(e, fate="played", pending=True) if isinstance(e, CueFired) else e
        for e in events
    ]
    return events + ([outcome] if outcome else [])


def cue_row(client: FlaskClient) -> str:
    page = client.get("/sessions/run").get_data(as_text=True)
    found = re.search(r"<td>hold-end</td>(.*?)</tr>", page, re.S)
    assert found is not None
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_a_cue_the_band_took_says_yes_with_its_first_writes_lateness(
    client: FlaskClient, engine: Engine
) -> None:
    record(engine, with_delivery(delivered(30.0, ok=True)))

    assert cue_row(client) == "30.0 s 30.2 s 200 ms yes 4 ms played"


def test_a_cue_whose_writes_failed_says_no_with_the_reason(
    client: FlaskClient, engine: Engine
) -> None:
    record(engine, with_delivery(delivered(30.0, ok=False, reason=REFUSED)))

    assert cue_row(client) == f"30.0 s 30.2 s 200 ms no: {REFUSED} played"


def test_a_cue_not_yet_confirmed_by_the_band_is_not_called_on_the_wrist(
    client: FlaskClient, engine: Engine
) -> None:
    record(engine, with_delivery(None))

    assert cue_row(client) == "30.0 s 30.2 s 200 ms not confirmed played"
