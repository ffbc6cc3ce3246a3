"""The companion's default path, no --hci: bleak's BlueZ backend over D-Bus, unchanged,
against a stand-in bluetoothd that presents the virtual band on a virtual radio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from companion.ble.virtual_band import BAND_ADDRESS, BAND_NAME
from tests.bluez.conftest import run_companion, running_service
from tests.bluez.harness import BlueZWorld

pytestmark = pytest.mark.slow


def test_scan_lists_the_band_heard_through_bluez(
    world: BlueZWorld, companion_env: dict[str, str]
) -> None:
    result = run_companion(["scan", "--timeout", "1"], companion_env)

    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == [BAND_ADDRESS]
    assert rows[0][2] == "immediate-alert"
    assert " ".join(rows[0][3:]) == BAND_NAME
    filters = world.calls().discovery_filters
    assert filters and filters[0]["Transport"] == "le"


def test_watch_streams_heart_rate_through_bluez(
    world: BlueZWorld, companion_env: dict[str, str]
) -> None:
    result = run_companion(["watch", "--duration", "3", "--jsonl"], companion_env)

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) >= 2, result.stderr
    for line in lines:
        assert line["device"] == BAND_ADDRESS
        assert 40 <= line["hr"] <= 100 and line["contact"] is True
    assert any(line["rr_ms"] for line in lines)
    assert world.calls().start_notify, "notifications went through StartNotify"


def test_buzz_writes_the_cue_as_write_commands(
    world: BlueZWorld, companion_env: dict[str, str]
) -> None:
    result = run_companion(["buzz", "--cue", "hold-end"], companion_env)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "UserWarning" not in result.stderr, result.stderr
    felt = world.call(lambda: [v.value for v in world.band.vibrations])
    assert felt == [b"\x02", b"\x00"]
    # Immediate Alert's Alert Level is write-without-response: BlueZ is asked for commands.
    assert [kind for _, _, kind in world.calls().writes] == ["command", "command"]


def test_run_shows_live_heart_rate_from_bluez_on_the_dashboard(
    world: BlueZWorld, companion_env: dict[str, str], tmp_path: Path
) -> None:
    with running_service(companion_env, tmp_path / "data") as service:
        client = service.client()
        first = client.wait_until(
            lambda s: s["link"]["state"] == "connected" and s["heart_rate"] is not None,
            30,
            "a heart rate from the band through BlueZ",
        )
        assert first["link"]["device"] == BAND_ADDRESS
        later = client.wait_until(
            lambda s: s["heart_rate"] is not None and s != first, 10, "the next heart rate"
        )
        assert 40 <= later["heart_rate"]["hr"] <= 100


def test_a_scan_lists_the_band_the_service_is_connected_to_through_bluez(
    world: BlueZWorld, companion_env: dict[str, str], tmp_path: Path
) -> None:
    """Connected, the band stops advertising; the dashboard's scan and `companion scan` in
    another process both list it all the same, marked connected, from BlueZ's objects."""
    with running_service(companion_env, tmp_path / "data") as service:
        client = service.client()
        client.wait_until(
            lambda s: s["link"]["state"] == "connected", 30, "the band connected through BlueZ"
        )
        assert world.band_connected()

        on_the_dashboard = client.post("/api/devices/scan", {"timeout_s": 1})["devices"]
        result = run_companion(["scan", "--timeout", "1"], companion_env)

    assert [(d["address"], d["name"], d["connected"]) for d in on_the_dashboard] == [
        (BAND_ADDRESS, BAND_NAME, True)
    ]
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [row[:3] for row in rows] == [[BAND_ADDRESS, "-", "immediate-alert"]]
    assert " ".join(rows[0][3:]) == f"{BAND_NAME} (connected)"
