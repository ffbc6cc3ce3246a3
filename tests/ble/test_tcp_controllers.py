"""The documented newcomer's path: virtual controllers over TCP, the band in its own process,
and the CLI in another, exactly as the README tells people to run them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.ble.profiles import load_profiles
from companion.routines.haptics import Received, Vocabulary, read_wrist
from tests.support import wait_until

pytestmark = pytest.mark.slow

COMPANION = [sys.executable, "-m", "companion"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def controllers(tmp_path: Path) -> Iterator[tuple[str, str, subprocess.Popen[str], Path]]:
    hub_port, band_port = _free_port(), _free_port()
    env = {**os.environ, "COMPANION_DATA_DIR": str(tmp_path / "data")}
    radio = subprocess.Popen(
        [sys.executable, "-m", "bumble.apps.controllers",
         f"tcp-server:127.0.0.1:{hub_port}", f"tcp-server:127.0.0.1:{band_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    band_out = tmp_path / "band.jsonl"
    band: subprocess.Popen[str] | None = None
    try:
        wait_until(lambda: _listening(band_port), 15, "the virtual controllers")
        with band_out.open("w") as out:
            band = subprocess.Popen(
                [*COMPANION, "band", "--hci", f"tcp-client:127.0.0.1:{band_port}"],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.DEVNULL, text=True, env=env,
            )  # fmt: skip
        yield f"tcp-client:127.0.0.1:{hub_port}", str(tmp_path / "data"), band, band_out
    finally:
        for process in (band, radio):
            if process is not None:
                process.kill()
                process.wait()
        if band is not None and band.stdin is not None:
            band.stdin.close()


def _companion(args: list[str], data_dir: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COMPANION_DATA_DIR": data_dir}
    return subprocess.run(
        [*COMPANION, *args], capture_output=True, text=True, timeout=90, env=env, check=False
    )


def test_watch_and_buzz_reach_a_band_running_in_another_process(
    controllers: tuple[str, str, subprocess.Popen[str], Path],
) -> None:
    hci, data_dir, _band, band_out = controllers

    watched = _companion(["watch", "--hci", hci, "--duration", "4", "--jsonl"], data_dir)
    assert watched.returncode == 0, watched.stderr
    lines = [json.loads(line) for line in watched.stdout.splitlines()]
    assert len(lines) >= 2
    for line in lines:
        assert set(line) == {"t", "device", "hr", "contact", "energy_kj", "rr_ms"}
        assert line["device"] == "C0:FF:EE:00:00:01"
        assert 40 <= line["hr"] <= 100 and line["contact"] is True
    assert any(line["rr_ms"] for line in lines)

    buzzed = _companion(["buzz", "--hci", hci, "--cue", "hold-end"], data_dir)
    assert buzzed.returncode == 0, buzzed.stderr

    def band_record() -> list[str]:
        return [
            json.loads(line)["vibration"]["value"] for line in band_out.read_text().splitlines()
        ]

    wait_until(lambda: len(band_record()) >= 2, 10, "the band's record of the buzz")
    assert band_record() == ["02", "00"]


def test_watch_exits_3_when_no_band_is_there(tmp_path: Path) -> None:
    hub_port, other_port = _free_port(), _free_port()
    radio = subprocess.Popen(
        [sys.executable, "-m", "bumble.apps.controllers",
         f"tcp-server:127.0.0.1:{hub_port}", f"tcp-server:127.0.0.1:{other_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: _listening(hub_port), 15, "the virtual controllers")
        result = _companion(
            ["watch", "--hci", f"tcp-client:127.0.0.1:{hub_port}", "--duration", "1"],
            str(tmp_path),
        )
    finally:
        radio.kill()
        radio.wait()
    assert result.returncode == 3
    assert "no heart-rate band found" in result.stderr


def test_watch_exits_4_when_the_band_is_lost_and_not_back_before_the_duration_ends(
    controllers: tuple[str, str, subprocess.Popen[str], Path],
) -> None:
    hci, data_dir, band, _ = controllers
    env = {**os.environ, "COMPANION_DATA_DIR": data_dir}
    watch = subprocess.Popen(
        [*COMPANION, "watch", "--hci", hci, "--duration", "8", "--jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert watch.stdout is not None and band.stdin is not None
    first = watch.stdout.readline()  # the band is streaming
    assert json.loads(first)["hr"] > 0
    band.stdin.write("drop\n")  # out of range for good
    band.stdin.flush()

    _, err = watch.communicate(timeout=90)

    assert watch.returncode == 4, err
    assert "link: lost" in err


@pytest.mark.timeout(240)
def test_a_taster_session_reaches_a_band_in_another_process_write_for_write(
    controllers: tuple[str, str, subprocess.Popen[str], Path],
) -> None:
    hci, data_dir, _band, band_out = controllers

    result = _companion(["session", "--hci", hci, "--routine", "taster", "--jsonl"], data_dir)

    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["state"] for e in events if e["type"] == "state"] == ["running", "completed"]
    plan = next(e["plan"] for e in events if e["type"] == "session")
    # The band's script, printed beside the session: exactly the writes the band receives.
    script = next(e for e in events if e["type"] == "band_script")
    assert script["run_id"] == next(e["run_id"] for e in events if e["type"] == "session")
    planned = [(w["at_s"], w["value"]) for w in script["writes"]]
    received = [json.loads(line)["vibration"] for line in band_out.read_text().splitlines()]
    assert [value for _, value in planned] == [v["value"] for v in received]
    start = received[0]["mono"] - planned[0][0]
    errors = [abs((v["mono"] - start) - at) for (at, _), v in zip(planned, received, strict=True)]
    assert max(errors) < 0.25  # a loose check of order and pairing; bench/ measures timing
    # And as the wearer feels it: each cue meant for the wrist, whole and in order.
    vocabulary = Vocabulary.from_profile(load_profiles(None)["immediate-alert"])
    reading = read_wrist(
        [Received(v["mono"], v["characteristic"], bytes.fromhex(v["value"])) for v in received],
        vocabulary,
        tolerance_s=0.25,  # rhythm, loosely: this shared machine is often busy
    )
    meant = [c["cue"] for c in plan["cues"] if c["fate"] in ("played", "delayed")]
    assert reading.unreadable == ()
    assert [f.cue for f in reading.felt] == meant
    assert meant.count("hold-end") == 2  # each hold end is felt as the full hold-end pattern
