"""Commands load only what they use: help and plan need no Bluetooth, store or web code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("bumble", "sqlalchemy", "bleak", "flask", "dbus_fast", "alembic", "waitress")

# Runs one command in a fresh interpreter and reports which heavy packages it imported.
CHILD = """
import json, sys
from companion.cli import main
try:
    main(sys.argv[1:], prog_name="companion")
except SystemExit as stop:
    code = stop.code
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(HEAVY)))
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def loaded_by(args: list[str], data_dir: Path) -> dict[str, object]:
    child = subprocess.run(
        [sys.executable, "-c", CHILD.replace("HEAVY", repr(json.dumps(HEAVY))), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"COMPANION_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
    )
    result: dict[str, object] = json.loads(child.stderr.splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "args",
    [["--help"], ["plan", "taster"], ["plan", "bedtime", "--json"], ["run", "--help"]],
)
def test_help_and_plan_import_no_bluetooth_store_or_web_code(
    tmp_path: Path, args: list[str]
) -> None:
    assert loaded_by(args, tmp_path) == {"code": 0, "loaded": []}


def test_plan_reads_an_existing_history_without_sqlalchemy(tmp_path: Path) -> None:
    from companion.store.database import upgrade_to_head

    upgrade_to_head(f"sqlite:///{tmp_path / 'companion.db'}")

    assert loaded_by(["plan", "taster"], tmp_path) == {"code": 0, "loaded": []}
