"""Start-up against a person's broken files and a computer without Bluetooth: the real
service as a child process keeps serving and says what is wrong on the dashboard."""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text

from companion.store.database import create_engine_for_url
from tests.e2e.live import STOP_TIMEOUT_S, running_service, service_command, start_service
from tests.support import skip_without_a_private_tmpfs

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


def test_run_without_a_system_bus_says_so_on_the_dashboard(tmp_path: Path) -> None:
    service = start_service(tmp_path, link_args=(), env=NO_SYSTEM_BUS)
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
    assert "warning: Bluetooth unavailable: no D-Bus system bus: install and start BlueZ" in (
        service.stdout.text()
    )
    assert service.process.wait(STOP_TIMEOUT_S) == 0


SMALL_DISK = "8m"
FREED_BYTES = 256 * 1024
RECOVERY_TIMEOUT_S = 60.0
SAMPLE_PERIOD_S = 1.0


def _stored_samples(client: Any, run_id: str) -> list[Any]:
    answer = client.request("GET", f"/api/sessions/{run_id}/samples")
    return list(answer.json()["samples"]) if answer.status == 200 else []


def _fill(path: Path) -> int:
    """Write zeros to ``path`` until the disk is full; how many bytes went in."""
    written = 0
    with path.open("wb", buffering=0) as handle:
        while True:
            try:
                written += handle.write(bytes(64 * 1024))
            except OSError:
                return written


def test_a_full_disk_recovers_with_a_little_space_and_sigterm_ends_the_session_honestly(
    tmp_path: Path,
) -> None:
    """The service's data dir on a small tmpfs of its own (a private mount namespace, so
    nothing outlives the test); the test fills that disk through /proc/PID/root, frees a
    little, then stops the service with SIGTERM mid-routine. The data dir is copied out
    after the service has exited."""
    skip_without_a_private_tmpfs()
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    # The service runs inside the private mount namespace, in a shell that mounts the small
    # disk first and copies the data dir out after the service has exited.
    in_small_disk = (
        f"mount -t tmpfs -o size={SMALL_DISK} tmpfs {disk} && "
        f'"$@"; status=$?; cp -a {disk}/data/. {out}/; exit $status'
    )
    service = start_service(
        disk / "data",
        command=["unshare", "-rm", "sh", "-c", in_small_disk, "sh", *service_command()],
    )
    process, stdout, stderr = service.process, service.stdout, service.stderr
    (companion,) = psutil.Process(process.pid).children()
    view = Path(f"/proc/{companion.pid}/root") / str(disk).lstrip("/")
    client = service.client()
    try:
        service.wait_for_band()
        run_id = client.start_routine("bedtime", pain_before=2)
        deadline = time.monotonic() + NOTICE_TIMEOUT_S
        while len(_stored_samples(client, run_id)) < 2:
            assert time.monotonic() < deadline, "no samples stored before the disk filled"
            time.sleep(0.2)
        ballast = view / "ballast"
        full_at = time.time()
        _fill(ballast)
        client.wait_until(
            lambda s: "Sessions cannot be saved" in notices(s).get("store", ""),
            NOTICE_TIMEOUT_S,
            "the store's notice that saving stopped",
        )
        time.sleep(5 * SAMPLE_PERIOD_S)  # rows wait in memory meanwhile
        os.truncate(ballast, ballast.stat().st_size - FREED_BYTES)
        client.wait_until(
            lambda s: "Saving works again" in notices(s).get("store", ""),
            RECOVERY_TIMEOUT_S,
            "the store's notice that saving works again",
        )
        back_at = time.time()
        time.sleep(2 * SAMPLE_PERIOD_S)
        companion.send_signal(signal.SIGTERM)
        assert process.wait(STOP_TIMEOUT_S) == 0, stderr.text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(STOP_TIMEOUT_S)
        stdout.join(STOP_TIMEOUT_S)
        stderr.join(STOP_TIMEOUT_S)

    engine = create_engine_for_url(f"sqlite:///{out / 'companion.db'}")
    with engine.connect() as connection:
        outcome = connection.execute(
            text("SELECT outcome FROM sessions WHERE id = :id"), {"id": run_id}
        ).scalar_one()
        times = list(
            connection.execute(
                text("SELECT t FROM samples WHERE session_id = :id ORDER BY t"), {"id": run_id}
            ).scalars()
        )
    engine.dispose()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert outcome == "interrupted"
    # Nothing was lost across the outage: the heart rate is stored without a hole from
    # before the disk filled to after saving worked again.
    assert times[0] < full_at and times[-1] > back_at, (full_at, back_at, times)
    assert max(gaps) < 2 * SAMPLE_PERIOD_S, gaps
