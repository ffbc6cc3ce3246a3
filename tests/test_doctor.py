"""`companion doctor` finds what is wrong and says what to do, check by check."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from companion.cli import main
from companion.config import Settings
from companion.doctor import Status, run_checks
from companion.routines.catalog import load_routines
from companion.store.database import upgrade_to_head
from companion.systemd import UNIT_NAME, install_user_unit, render_unit

SQLITE_PAGE = 4096
BUILT_IN_ROUTINES = len(load_routines(None))

BROKEN_PROFILE = """\
title = "My band"
description = "A band with a typo in it"
[offers]
heart_rate = "yes"
"""


def _by_name(settings: Settings) -> dict[str, tuple[Status, str, str]]:
    return {c.name: (c.status, c.message, c.fix) for c in run_checks(settings, bluetooth=False)}


def test_a_fresh_data_dir_passes_every_check(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path / "data", port=0)

    checks = _by_name(settings)

    assert {name: status for name, (status, _, _) in checks.items()} == {
        "python": Status.OK,
        "data dir": Status.OK,
        "database": Status.OK,
        "profiles and routines": Status.OK,
        "dashboard port": Status.OK,
    }
    assert f"5 device profiles, {BUILT_IN_ROUTINES} routines" in checks["profiles and routines"][1]


def test_a_data_dir_that_cannot_be_made_fails_with_advice(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    status, message, fix = _by_name(Settings.build(data_dir=blocker / "data"))["data dir"]

    assert status == Status.FAIL
    assert "cannot be created" in message and "--data-dir" in fix


def test_a_broken_user_profile_is_named_with_its_field_and_skipped(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path)
    settings.profiles_dir.mkdir(parents=True)
    (settings.profiles_dir / "my-band.toml").write_text(BROKEN_PROFILE)

    status, message, fix = _by_name(settings)["profiles and routines"]

    # The service skips the file and runs with the rest, so it is a warning, not a failure.
    assert status == Status.WARN
    assert f"5 device profiles, {BUILT_IN_ROUTINES} routines; skipped:" in message
    assert "my-band.toml" in message and "offers.heart_rate" in message
    assert "fix or remove" in fix


def test_a_malformed_routine_and_one_linked_to_dev_zero_are_named(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path)
    settings.routines_dir.mkdir(parents=True)
    (settings.routines_dir / "typo.toml").write_text('title = "Typo"\nstepz = 1\n')
    (settings.routines_dir / "zero.toml").symlink_to("/dev/zero")

    status, message, _ = _by_name(settings)["profiles and routines"]

    assert status == Status.WARN
    assert "typo.toml: field 'stepz': unknown key" in message
    assert "zero.toml: field '(file)': is not a regular file" in message


def test_an_unreachable_database_fails_with_advice(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path, db_url=f"sqlite:///{tmp_path}/no/such/dir/x.db")

    status, message, fix = _by_name(settings)["database"]

    assert status == Status.FAIL and "cannot open" in message and "--db" in fix


def test_a_busy_dashboard_port_is_a_warning(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status, message, _ = _by_name(Settings.build(data_dir=tmp_path, port=port))[
            "dashboard port"
        ]

    assert status == Status.WARN and str(port) in message


def test_the_command_exits_1_when_a_check_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(
        main, ["doctor", "--no-bluetooth", "--data-dir", str(blocker / "d")]
    )

    assert result.exit_code == 1
    assert "[FAIL] data dir" in result.output and "fix:" in result.output
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: data dir") and last.endswith("(see the fix: lines above)")


def test_the_systemd_unit_runs_the_companion_and_installs_into_the_user_dir(
    tmp_path: Path,
) -> None:
    unit = render_unit(companion=Path("/opt/companion/bin/companion"), simulate=False)
    path, commands = install_user_unit(unit, tmp_path)

    assert "ExecStart=/opt/companion/bin/companion run\n" in unit
    assert "WantedBy=default.target" in unit
    assert path == tmp_path / UNIT_NAME and path.read_text() == unit
    assert f"systemctl --user enable --now {UNIT_NAME}" in commands


def _corrupt_a_data_page(path: Path) -> None:
    """Overwrite one page near the end of a sound SQLite file (the header stays intact,
    so the file still opens and its schema revision still reads)."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE filler (x TEXT)")
        connection.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 200)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = path.stat().st_size // SQLITE_PAGE
    with path.open("r+b") as handle:
        handle.seek((pages - 3) * SQLITE_PAGE)
        handle.write(b"\xff" * SQLITE_PAGE)


def test_a_page_corrupted_database_fails_the_quick_check(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path)
    upgrade_to_head(settings.db_url)
    _corrupt_a_data_page(tmp_path / "companion.db")

    status, message, fix = _by_name(settings)["database"]

    assert status == Status.FAIL
    assert "is damaged" in message and "malformed" in message
    assert "move it aside" in fix


def test_a_sound_database_passes_the_quick_check(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path)
    upgrade_to_head(settings.db_url)

    status, message, _ = _by_name(settings)["database"]

    assert status == Status.OK and "quick_check ok" in message


def test_a_postgres_password_is_never_printed(tmp_path: Path) -> None:
    # Nothing listens on port 1, so the connection fails and the driver's message is shown.
    url = "postgresql://companion:s3cret-pw@127.0.0.1:1/companion"
    result = CliRunner().invoke(
        main, ["doctor", "--no-bluetooth", "--data-dir", str(tmp_path), "--db", url]
    )

    assert "[FAIL] database" in result.output
    assert "s3cret-pw" not in result.output
    assert "companion:***@127.0.0.1:1" in result.output
