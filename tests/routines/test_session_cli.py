"""`companion session` in a terminal: Ctrl-C stops the routine cleanly and says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from companion.store.database import create_engine_for_url
from companion.store.queries import list_sessions

pytestmark = pytest.mark.slow


def test_ctrl_c_stops_the_routine_cleanly_and_the_session_is_saved_as_stopped(
    tmp_path: Path,
) -> None:
    session = subprocess.Popen(
        [sys.executable, "-m", "companion", "session", "--simulate", "--routine", "taster",
         "--jsonl", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert session.stdout is not None
    lines: list[dict[str, object]] = []
    for line in session.stdout:
        lines.append(json.loads(line))
        if lines[-1]["type"] == "cue":
            break
    session.send_signal(signal.SIGINT)
    rest, err = session.communicate(timeout=60)
    lines += [json.loads(line) for line in rest.splitlines()]

    assert session.returncode == 0, err
    assert "Stopped by Ctrl-C" in err
    states = [e["state"] for e in lines if e["type"] == "state"]
    assert states == ["running", "stopped"]
    engine = create_engine_for_url(f"sqlite:///{tmp_path / 'companion.db'}")
    try:
        assert [s.outcome for s in list_sessions(engine)] == ["stopped"]
    finally:
        engine.dispose()
