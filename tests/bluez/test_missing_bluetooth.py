"""Missing Bluetooth said plainly, on a real system bus: one line, what is missing, the fix,
and exit 5, for every band command."""

from __future__ import annotations

import pytest

from tests.bluez.conftest import run_companion
from tests.bluez.harness import BlueZWorld

pytestmark = pytest.mark.slow

EXIT_NO_BLUETOOTH = 5
BAND_COMMANDS = [
    ["scan", "--timeout", "1"],
    ["watch", "--duration", "1"],
    ["buzz", "--cue", "hold-end"],
    ["session", "--routine", "taster"],
]


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("args", BAND_COMMANDS)
def test_a_system_bus_without_bluez_is_named(
    args: list[str], companion_env: dict[str, str]
) -> None:
    # The bus is there, but nothing owns org.bluez (bluetoothd not running).
    done = run_companion(args, companion_env)

    line = one_error_line(done.stderr)
    assert done.returncode == EXIT_NO_BLUETOOTH
    assert line.startswith("error: BlueZ (org.bluez) is not running (start BlueZ: sudo systemctl")
    assert "--simulate" in line and "--hci usb:0" in line


@pytest.mark.parametrize("args", BAND_COMMANDS)
def test_an_adapter_switched_off_is_named(
    args: list[str], world: BlueZWorld, companion_env: dict[str, str]
) -> None:
    world.set_powered(False)

    done = run_companion(args, companion_env)

    line = one_error_line(done.stderr)
    assert done.returncode == EXIT_NO_BLUETOOTH
    assert line.startswith(
        "error: the Bluetooth adapter is switched off (switch it on: bluetoothctl power on"
    )
