"""The small decisions around the composition root: saved preferences, the dashboard token,
opening the store, and what the service says about itself."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from companion.config import Settings
from companion.dashboard_token import load_token
from companion.preferences import PREFERENCES_KEY
from companion.routines.pacer import BreathPattern
from companion.routines.watch import SafetySettings
from companion.session.host import CoreSettings
from companion.session.store_loaders import core_settings
from companion.store.database import create_engine_for_url, upgrade_to_head
from companion.store.setting_writes import put_setting


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade_to_head(url)
    engine = create_engine_for_url(url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        ({}, CoreSettings(pattern=None, safety=SafetySettings())),
        ({"pattern": None, "hr_ceiling": 110},
         CoreSettings(pattern=None, safety=SafetySettings(ceiling_bpm=110))),
        ({"pattern": {"inhale_s": 4, "hold_in_s": 0, "exhale_s": 8, "hold_out_s": 0}},
         CoreSettings(pattern=BreathPattern(exhale_s=8.0), safety=SafetySettings())),
        # Whatever else may be in the store falls back to the conservative defaults.
        ({"pattern": {"inhale_s": 99}}, CoreSettings(pattern=None, safety=SafetySettings())),
        ({"hr_ceiling": "lots"}, CoreSettings(pattern=None, safety=SafetySettings())),
    ],
)  # fmt: skip
def test_saved_preferences_become_core_settings(
    engine: Engine, saved: dict[str, Any], expected: CoreSettings
) -> None:
    put_setting(engine, PREFERENCES_KEY, saved)

    assert core_settings(engine) == expected


def test_the_token_is_made_once_and_kept_owner_only(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path / "data")

    token, fresh = load_token(settings)
    again, fresh_again = load_token(settings)

    assert fresh and not fresh_again and token == again and len(token) >= 24
    assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600


def test_rows_kept_at_the_last_shutdown_are_written_before_unfinished_sessions_are_marked(
    tmp_path: Path,
) -> None:
    from companion.events import SessionState
    from companion.store.opening import open_store
    from companion.store.queries import list_sessions
    from companion.store.recorder import spill_writes
    from companion.store.writes import EventTranslator, apply_writes
    from tests.store.conftest import T0, ended, sample, started

    settings = Settings.build(data_dir=tmp_path)
    upgrade_to_head(settings.db_url)
    engine = create_engine_for_url(settings.db_url)
    translator = EventTranslator()
    with engine.begin() as connection:
        apply_writes(connection, translator.writes_for(started("run1", T0)))
    engine.dispose()
    # What the recorder could not write when the service last stopped: two samples and
    # the session's honest end.
    kept = [
        *translator.writes_for(sample(T0 + 1, 61)),
        *translator.writes_for(sample(T0 + 2, 62)),
        *translator.writes_for(ended("run1", T0 + 3, SessionState.INTERRUPTED)),
    ]
    assert spill_writes(kept, settings.unsaved_dirs) is not None

    with open_store(settings) as store:
        (session,) = list_sessions(store.engine)

    # Written as kept (ended at T0 + 3), not guessed by the start-up sweep.
    assert (session.outcome, session.ended_at, session.samples) == ("interrupted", T0 + 3, 2)
    assert list(settings.unsaved_dirs[0].iterdir()) == []


def test_missing_bluetooth_becomes_one_dashboard_notice_per_cause() -> None:
    from companion.clock import WallClock
    from companion.events import Event, LinkChanged, LinkState, Notice
    from companion.service_notices import bluetooth_notice

    published: list[Event] = []
    said: list[str] = []

    listener = bluetooth_notice(published.append, WallClock(), said.append)

    def link(state: LinkState, detail: str) -> LinkChanged:
        return LinkChanged(mono=0.0, wall=0.0, device="", state=state, detail=detail)

    for event in (
        link(LinkState.SCANNING, "any heart-rate band"),
        link(LinkState.UNAVAILABLE, "no D-Bus system bus: install and start BlueZ"),
        link(LinkState.UNAVAILABLE, "no D-Bus system bus: install and start BlueZ"),
        link(LinkState.UNAVAILABLE, "the Bluetooth adapter is switched off: switch it on"),
    ):
        listener(event)

    assert all(isinstance(n, Notice) for n in published)
    notices = [n for n in published if isinstance(n, Notice)]
    assert [(n.topic, n.level) for n in notices] == [("bluetooth", "error")] * 2
    assert notices[0].message.startswith("No band can connect: no D-Bus system bus")
    assert said == [
        "warning: Bluetooth unavailable: no D-Bus system bus: install and start BlueZ",
        "warning: Bluetooth unavailable: the Bluetooth adapter is switched off: switch it on",
    ]
