"""Fixtures for the operating system's Bluetooth path: a private system bus, a stand-in
bluetoothd on it over the virtual radio, and the companion as a child process pointed there."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bluez.harness import BlueZWorld, bluez_world
from tests.bluez.system_bus import private_system_bus

COMPANION = [sys.executable, "-m", "companion"]


@pytest.fixture(scope="module")
def system_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_system_bus(tmp_path_factory.mktemp("dbus")) as address:
        yield address


@pytest.fixture
def world(system_bus: str) -> Iterator[BlueZWorld]:
    with bluez_world(system_bus) as running:
        yield running


@pytest.fixture
def companion_env(system_bus: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a companion that finds the stand-in as the system's BlueZ."""
    return {
        **os.environ,
        "DBUS_SYSTEM_BUS_ADDRESS": system_bus,
        "COMPANION_DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
    }


def run_companion(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMPANION, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def start_companion(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMPANION, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
