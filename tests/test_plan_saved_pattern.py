"""`companion plan` shows the breathing pattern the next session will use: the one saved in
Settings (the service reads it at each routine's start)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from companion.cli import main
from companion.cli.common import settings_for
from companion.store import setting_writes
from companion.store.database import create_engine_for_url, upgrade_to_head
from companion.store.saved_pattern import pattern_from_preferences

SAVED = {"inhale_s": 5.0, "hold_in_s": 0.0, "exhale_s": 7.0, "hold_out_s": 0.0}


def plan_json(data_dir: Path) -> dict[str, object]:
    result = CliRunner().invoke(
        main, ["plan", "taster", "--json"], env={"COMPANION_DATA_DIR": str(data_dir)}
    )
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def save_preferences(data_dir: Path, record: object) -> None:
    settings = settings_for(data_dir)
    settings.ensure_data_dir()
    upgrade_to_head(settings.db_url)
    engine = create_engine_for_url(settings.db_url)
    try:
        setting_writes.put_setting(engine, "preferences", record)
    finally:
        engine.dispose()


def test_plan_uses_the_saved_breathing_pattern(tmp_path: Path) -> None:
    save_preferences(tmp_path, {"pattern": SAVED, "hr_ceiling": 110})
    assert plan_json(tmp_path)["pattern"] == SAVED


def test_plan_without_saved_settings_uses_the_routines_own_pattern(tmp_path: Path) -> None:
    save_preferences(tmp_path, {"hr_ceiling": 110})
    assert plan_json(tmp_path)["pattern"] == {
        "inhale_s": 4.0,
        "hold_in_s": 0.0,
        "exhale_s": 6.0,
        "hold_out_s": 0.0,
    }


def test_a_saved_pattern_that_is_not_one_is_ignored() -> None:
    assert pattern_from_preferences({"pattern": {"inhale_s": -1}}) is None
    assert pattern_from_preferences({"pattern": "fast"}) is None
    assert pattern_from_preferences(None) is None
