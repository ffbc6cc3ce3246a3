"""Fixtures for the operating system's Bluetooth path: a private system bus, a stand-in
bluetoothd on it over the virtual radio, and the companion as a child process pointed there."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bluez.harness import BlueZWorld, bluez_world
from tests.bluez.system_bus import private_system_bus
from tests.e2e.live import START_TIMEOUT_S, LiveService, OutputLines

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
    """``companion run`` with no --simulate and no --hci: the band is reached through BlueZ."""
    process = subprocess.Popen(
        [*COMPANION, "run", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout = OutputLines(process.stdout, "service-stdout")
    stderr = OutputLines(process.stderr, "service-stderr")
    service: LiveService | None = None
    try:
        announced = stdout.wait_for(re.compile(r"Dashboard: (http://\S+)"), START_TIMEOUT_S)
        assert announced is not None, f"{stdout.text()}\n{stderr.text()}"
        service = LiveService(process, announced.group(1), data_dir, stdout, stderr)
        yield service
    finally:
        if service is not None:
            service.stop()
        else:
            process.kill()
            process.wait()
            stdout.join(10)
            stderr.join(10)
