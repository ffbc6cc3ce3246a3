"""Fixtures for the operating system's Bluetooth path: a private system bus, a stand-in
bluetoothd on it over the virtual radio, and the companion as a child process pointed there."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bluez.harness import BlueZWorld, bluez_world
from tests.bluez.system_bus import private_system_bus
from tests.e2e.live import LiveService, service_command
from tests.e2e.live import running_service as harness_service

COMPANION = service_command()


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


SHORT_ROUTINE = """\
title = "Short"
description = "One short hold: the wrist cues of a routine, in 25 seconds."
taster = true

[breathing]
inhale_s = 2
exhale_s = 3

[[steps]]
exercise = "knee-to-chest"
sides = ["both"]
hold_s = 20
"""


@pytest.fixture
def short_routine(tmp_path: Path) -> Path:
    path = tmp_path / "short.toml"
    path.write_text(SHORT_ROUTINE)
    return path


@contextlib.contextmanager
def running_service(env: dict[str, str], data_dir: Path) -> Iterator[LiveService]:
    """``companion run`` with no --simulate and no --hci: the band is reached through BlueZ
    (``env`` is the child's whole environment, ``companion_env``)."""
    with harness_service(data_dir, link_args=(), env=env, inherit_env=False) as service:
        yield service
