"""`companion doctor` finds what is wrong and says what to do, check by check."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from companion.cli import main
from companion.config import Settings
from companion.doctor import Status, run_checks
from companion.systemd import UNIT_NAME, install_user_unit, render_unit

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
    assert "5 device profiles, 3 routines" in checks["profiles and routines"][1]


def test_a_data_dir_that_cannot_be_made_fails_with_advice(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    status, message, fix = _by_name(Settings.build(data_dir=blocker / "data"))["data dir"]

    assert status == Status.FAIL
    assert "cannot create" in message and "--data-dir" in fix


def test_a_broken_user_profile_is_named_with_its_field(tmp_path: Path) -> None:
    settings = Settings.build(data_dir=tmp_path)
    settings.profiles_dir.mkdir(parents=True)
    (settings.profiles_dir / "my-band.toml").write_text(BROKEN_PROFILE)

    status, message, _ = _by_name(settings)["profiles and routines"]

    assert status == Status.FAIL
    assert "my-band.toml" in message and "offers.heart_rate" in message


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


def test_the_systemd_unit_runs_the_companion_and_installs_into_the_user_dir(
    tmp_path: Path,
) -> None:
    unit = render_unit(companion=Path("/opt/companion/bin/companion"), simulate=False)
    path, commands = install_user_unit(unit, tmp_path)

    assert "ExecStart=/opt/companion/bin/companion run\n" in unit
    assert "WantedBy=default.target" in unit
    assert path == tmp_path / UNIT_NAME and path.read_text() == unit
    assert f"systemctl --user enable --now {UNIT_NAME}" in commands
