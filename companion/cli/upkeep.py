"""Looking after an installation: doctor and the systemd unit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from companion.cli.common import (
    EXIT_FAILURE,
    data_dir_option,
    db_option,
    settings_for,
)


@click.command()
@click.option("--no-bluetooth", is_flag=True, help="Skip the Bluetooth checks.")
@db_option
@data_dir_option
def doctor(no_bluetooth: bool, db_url: str | None, data_dir: Path | None) -> None:
    """Check Bluetooth, the data dir, the database and the data files; say what to fix."""
    from companion.doctor import Status, run_checks

    checks = run_checks(settings_for(data_dir, db_url=db_url), bluetooth=not no_bluetooth)
    marks = {Status.OK: "ok  ", Status.WARN: "warn", Status.FAIL: "FAIL"}
    for check in checks:
        click.echo(f"[{marks[check.status]}] {check.name}: {check.message}")
        if check.fix:
            click.echo(f"       fix: {check.fix}")
    failed = [c.name for c in checks if c.status == Status.FAIL]
    if failed:
        click.echo(f"error: {', '.join(failed)} need fixing (see the fix: lines above)", err=True)
        raise SystemExit(EXIT_FAILURE)


@click.command("install-service")
@click.option("--simulate", is_flag=True, help="Run with the virtual band (for a try-out).")
@click.option(
    "--print", "print_only", is_flag=True, help="Print the unit instead of installing it."
)
def install_service(simulate: bool, print_only: bool) -> None:
    """Install a systemd user unit that starts the companion at boot (e.g. on a Raspberry Pi)."""
    from companion.systemd import install_user_unit, render_unit

    unit = render_unit(companion=Path(sys.argv[0]).resolve(), simulate=simulate)
    if print_only:
        click.echo(unit)
        return
    path, commands = install_user_unit(unit)
    click.echo(f"Wrote {path}. To start it now and at every boot, run:")
    for command in commands:
        click.echo(f"  {command}")
