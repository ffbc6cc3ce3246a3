"""Missing Bluetooth said plainly, on a real system bus: one line, what is missing, the fix,
and exit 5, for every band command."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bluez.conftest import run_companion
from tests.bluez.harness import BlueZWorld
from tests.bluez.system_bus import private_system_bus

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


# With this rule in its policy nobody may talk to BlueZ, as on a machine where the user is
# not allowed to use Bluetooth.
DENY_BLUEZ = '<deny send_destination="org.bluez"/>'
# A bluetoothd with no adapter at all: org.bluez answers GetManagedObjects with nothing.
OWN_BLUEZ = """
import asyncio, sys
from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method

class ObjectManager(ServiceInterface):
    def __init__(self):
        super().__init__("org.freedesktop.DBus.ObjectManager")

    @method()
    def GetManagedObjects(self) -> "a{oa{sa{sv}}}":
        return {}

async def main():
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    bus.export("/", ObjectManager())
    await bus.request_name("org.bluez")
    print("owned", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


@contextlib.contextmanager
def bus_with_bluez_owned(tmp_path: Path, *, refuse_bluez: bool) -> Iterator[str]:
    deny = DENY_BLUEZ if refuse_bluez else ""
    with private_system_bus(tmp_path, extra_rules=deny) as address:
        owner = subprocess.Popen(
            [sys.executable, "-c", OWN_BLUEZ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address},
        )
        try:
            assert owner.stdout is not None and owner.stdout.readline() == "owned\n"
            yield address
        finally:
            owner.kill()
            owner.wait(10)
            for pipe in (owner.stdin, owner.stdout):
                if pipe is not None:
                    pipe.close()


@pytest.mark.parametrize("args", BAND_COMMANDS)
def test_a_bus_that_refuses_us_bluez_is_a_permission_problem(
    args: list[str], tmp_path: Path, companion_env: dict[str, str]
) -> None:
    with bus_with_bluez_owned(tmp_path, refuse_bluez=True) as address:
        done = run_companion(args, {**companion_env, "DBUS_SYSTEM_BUS_ADDRESS": address})

    line = one_error_line(done.stderr)
    assert done.returncode == EXIT_NO_BLUETOOTH
    assert line.startswith("error: not allowed to use Bluetooth (add yourself to the bluetooth")


@pytest.mark.parametrize("args", BAND_COMMANDS)
def test_bluez_without_an_adapter_is_named(
    args: list[str], tmp_path: Path, companion_env: dict[str, str]
) -> None:
    with bus_with_bluez_owned(tmp_path, refuse_bluez=False) as address:
        done = run_companion(args, {**companion_env, "DBUS_SYSTEM_BUS_ADDRESS": address})

    line = one_error_line(done.stderr)
    assert done.returncode == EXIT_NO_BLUETOOTH
    assert line.startswith("error: no Bluetooth adapter (plug in a Bluetooth adapter;")
