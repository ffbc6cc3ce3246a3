"""Operational errors in the command line: one line saying what is wrong and what to do,
a documented exit code, and never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import main
from companion.cli.common import (
    EXIT_LINK_LOST,
    EXIT_LISTEN,
    EXIT_NO_BLUETOOTH,
    EXIT_STORE,
    EXIT_USAGE,
)
from companion.store.database import upgrade_to_head

# A system bus socket that cannot exist: the situation on a machine without BlueZ.
NO_SYSTEM_BUS = {"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/companion-test/bus"}


def invoke(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, [*args], env={"COMPANION_DATA_DIR": str(data_dir), **(env or {})}
    )
    return result.exit_code, result.stderr


def assert_one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("run", "--port", "-1"), EXIT_USAGE, "-1 is not in the range 0<=x<=65535"),
        (("run", "--port", "99999"), EXIT_USAGE, "99999 is not in the range 0<=x<=65535"),
        (("run", "--host", "999.1.1.1"), EXIT_USAGE, "'999.1.1.1' is not an IP address"),
        (("remind", "list", "--db", "notaurl"), EXIT_USAGE, "'notaurl' is not a database URL"),
        (("remind", "list", "--db", "mysql://x"), EXIT_USAGE, "SQLite or PostgreSQL, not mysql"),
        (("summary", "--db", "mysql://x"), EXIT_USAGE, "SQLite or PostgreSQL, not mysql"),
        (("remind", "list", "--data-dir", "/dev/null"), EXIT_STORE,
         "the data directory /dev/null is not a directory"),
        (("remind", "remove", "99999999999999999999999"), EXIT_USAGE,
         "no reminder 99999999999999999999999"),
        (("summary", "--date", "0001-01-01"), EXIT_USAGE, "there are no summaries before 1970"),
        (("plan", "taster", "--bogus"), EXIT_USAGE, "No such option '--bogus'"),
        (("--bogus",), EXIT_USAGE, "No such option '--bogus'"),
        # TEST-NET-1: an address that is never this machine's.
        (("run", "--simulate", "--port", "0", "--host", "192.0.2.1"), EXIT_LISTEN,
         "192.0.2.1 is not an address of this machine"),
        (("bogus",), EXIT_USAGE, "No such command 'bogus'"),
    ],
)  # fmt: skip
def test_bad_values_are_one_line_with_a_documented_code(
    tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    exit_code, err = invoke(*args, data_dir=tmp_path)

    line = assert_one_line(err)
    assert exit_code == code
    assert says in line


def _database(tmp_path: Path) -> Path:
    path = tmp_path / "companion.db"
    upgrade_to_head(f"sqlite:///{path}")
    return path


@pytest.mark.parametrize("args", [(), ("remind",)])
def test_a_bare_command_group_shows_its_help_and_exits_0(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = CliRunner().invoke(main, list(args), env={"COMPANION_DATA_DIR": str(tmp_path)})

    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    assert result.stderr == ""


def test_a_database_that_is_not_one_says_so_and_how_to_move_it_aside(tmp_path: Path) -> None:
    _database(tmp_path).write_bytes(b"this is not a database" * 100)

    code, err = invoke("remind", "list", data_dir=tmp_path)

    line = assert_one_line(err)
    assert code == EXIT_STORE
    assert "is damaged: file is not a database" in line
    assert f"mv {tmp_path / 'companion.db'} {tmp_path / 'companion.db'}.broken" in line


def test_a_truncated_database_says_it_is_damaged(tmp_path: Path) -> None:
    path = _database(tmp_path)
    path.write_bytes(path.read_bytes()[:5000])

    code, err = invoke("summary", data_dir=tmp_path)

    line = assert_one_line(err)
    assert code == EXIT_STORE and "is damaged" in line


def test_a_read_only_database_says_so(tmp_path: Path) -> None:
    path = _database(tmp_path)
    # Opened read-only by SQLite itself, so the test also holds when run as root.
    url = f"sqlite:///file:{path}?mode=ro&uri=true"

    code, err = invoke(
        "remind", "add", "--at", "21:30", "--routine", "bedtime", "--db", url, data_dir=tmp_path
    )

    line = assert_one_line(err)
    assert code == EXIT_STORE and "read-only" in line


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_run_with_a_damaged_database_is_one_line_with_exit_6(tmp_path: Path, damage: str) -> None:
    path = _database(tmp_path)
    broken = b"not a database" * 100 if damage == "garbage" else path.read_bytes()[:5000]
    path.write_bytes(broken)

    code, err = invoke("run", "--simulate", "--port", "0", data_dir=tmp_path)

    line = assert_one_line(err)
    assert code == EXIT_STORE and "is damaged" in line and "mv " in line


def test_run_with_a_data_dir_that_is_not_a_directory_is_one_line(tmp_path: Path) -> None:
    code, err = invoke(
        "run", "--simulate", "--port", "0", "--data-dir", "/dev/null", data_dir=tmp_path
    )

    line = assert_one_line(err)
    assert code == EXIT_STORE
    assert line.startswith("error: the data directory /dev/null is not a directory")


def test_a_busy_port_is_one_line_with_exit_7(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err = invoke("run", "--simulate", "--port", str(port), data_dir=tmp_path)

    lines = [line for line in err.splitlines() if line.startswith("error")]
    assert "Traceback" not in err
    assert code == EXIT_LISTEN
    assert lines == [
        f"error: the dashboard cannot listen on 127.0.0.1:{port}: the port is in use (is the "
        "companion already running? Stop it, or choose another --port)"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "--timeout", "1"),
        ("watch", "--duration", "1"),
        ("buzz", "--cue", "hold-end"),
        ("session", "--routine", "taster"),
    ],
)
def test_without_a_system_bus_band_commands_say_so_with_exit_5(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    code, err = invoke(*args, data_dir=tmp_path, env=NO_SYSTEM_BUS)

    line = assert_one_line(err)
    assert code == EXIT_NO_BLUETOOTH
    assert line.startswith("error: no D-Bus system bus (install and start BlueZ")
    assert "--simulate" in line and "--hci usb:0" in line and "companion doctor" in line


def test_watch_ending_with_the_link_lost_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import companion.cli.bands as bands

    monkeypatch.setattr(bands, "run_async", lambda _go: EXIT_LINK_LOST)

    code, err = invoke("watch", "--simulate", "--duration", "5", data_dir=tmp_path)

    line = assert_one_line(err)
    assert code == EXIT_LINK_LOST
    assert "the link to the band was lost and had not come back when the 5 s ended" in line


def test_an_unexpected_failure_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import companion.cli.routines as routines

    def broken(*_args: object) -> None:
        raise RuntimeError("something nobody planned for")

    monkeypatch.setattr(routines, "routine_by_name_or_file", broken)

    code, err = invoke("plan", "taster", data_dir=tmp_path)

    line = assert_one_line(err)
    assert code == 1
    assert "unexpected RuntimeError: something nobody planned for" in line and "-v" in line


def test_plan_works_beside_a_malformed_routine_and_one_linked_to_dev_zero(tmp_path: Path) -> None:
    routines = tmp_path / "routines"
    routines.mkdir()
    (routines / "typo.toml").write_text('title = "Typo"\nstepz = 1\n')
    (routines / "zero.toml").symlink_to("/dev/zero")

    result = CliRunner().invoke(main, ["plan", "taster"], env={"COMPANION_DATA_DIR": str(tmp_path)})

    assert result.exit_code == 0
    assert "Taster" in result.stdout
    assert "typo.toml: field 'stepz'" in result.stderr


def test_plan_beside_a_damaged_database_warns_twice_and_shows_the_gentle_plan(
    tmp_path: Path,
) -> None:
    _database(tmp_path).write_bytes(b"this is not a database" * 100)

    result = CliRunner().invoke(main, ["plan", "taster"], env={"COMPANION_DATA_DIR": str(tmp_path)})

    assert result.exit_code == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert [w.split(":")[0] for w in warnings] == ["warning", "warning"]
    assert "your history cannot be read, so this is level 1" in warnings[0]
    assert "saved settings cannot be read" in warnings[1]
    assert all("is damaged" in w for w in warnings)
    assert "Level 1 of 4: starting gently" in result.stdout
