"""Start-up against a person's broken files and a computer without Bluetooth: the real
service as a child process keeps serving and says what is wrong on the dashboard."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.live import (
    _ANNOUNCED,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    LiveService,
    OutputLines,
    child_env,
    running_service,
    service_command,
)

pytestmark = pytest.mark.slow

NOTICE_TIMEOUT_S = 20.0
NO_SYSTEM_BUS = {"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/companion-test/bus"}


def notices(snapshot: dict[str, Any]) -> dict[str, str]:
    return {n["topic"]: n["message"] for n in snapshot["notices"]}


def test_a_bad_routine_file_is_named_on_the_dashboard_while_everything_else_serves(
    tmp_path: Path,
) -> None:
    routines = tmp_path / "routines"
    routines.mkdir(parents=True)
    (routines / "typo.toml").write_text('title = "Typo"\nstepz = 1\n')
    (routines / "zero.toml").symlink_to("/dev/zero")

    with running_service(tmp_path) as service:
        shown = notices(service.client().status())
        names = [r["name"] for r in service.client().get_json("/api/routines")]

    assert "stepz" in shown["data-file:typo.toml"]
    assert "typo.toml" in shown["data-file:typo.toml"]
    assert "is not a regular file" in shown["data-file:zero.toml"]
    assert {"taster", "bedtime", "morning"} <= set(names)
    assert service.process.returncode == 0


def test_run_without_a_system_bus_says_so_on_the_dashboard(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*service_command(), "run", "--port", "0", "--data-dir", str(tmp_path)],
        env=child_env(NO_SYSTEM_BUS),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout = OutputLines(process.stdout, "service-stdout")
    stderr = OutputLines(process.stderr, "service-stderr")
    announced = stdout.wait_for(_ANNOUNCED, START_TIMEOUT_S)
    assert announced is not None, stderr.text()
    service = LiveService(process, announced.group(1), tmp_path, stdout, stderr)
    try:
        snapshot = service.client().wait_until(
            lambda s: "bluetooth" in notices(s) and s["link"]["state"] == "unavailable",
            NOTICE_TIMEOUT_S,
            "a Bluetooth notice and the band line saying Bluetooth is unavailable",
        )
    finally:
        service.stop()

    message = notices(snapshot)["bluetooth"]
    assert message.startswith("No band can connect: no D-Bus system bus")
    assert "--simulate" in message and "companion doctor" in message
    assert "warning: no D-Bus system bus" in stdout.text()
    assert process.wait(STOP_TIMEOUT_S) == 0
