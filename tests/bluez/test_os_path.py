"""The companion's default path, no --hci: bleak's BlueZ backend over D-Bus, unchanged,
against a stand-in bluetoothd that presents the virtual band on a virtual radio."""

from __future__ import annotations

import pytest

from companion.ble.virtual_band import BAND_ADDRESS, BAND_NAME
from tests.bluez.conftest import run_companion
from tests.bluez.harness import BlueZWorld

pytestmark = pytest.mark.slow


def test_scan_lists_the_band_heard_through_bluez(
    world: BlueZWorld, companion_env: dict[str, str]
) -> None:
    result = run_companion(["scan", "--timeout", "2"], companion_env)

    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == [BAND_ADDRESS]
    assert rows[0][2] == "immediate-alert"
    assert " ".join(rows[0][3:]) == BAND_NAME
    filters = world.calls().discovery_filters
    assert filters and filters[0]["Transport"] == "le"
