"""``companion run``: the whole service."""

from __future__ import annotations

from pathlib import Path

import click

from companion.cli.common import (
    data_dir_option,
    device_option,
    hci_option,
    profile_option,
    settings_for,
    simulate_option,
)
from companion.config import DEFAULT_HOST, DEFAULT_PORT


@click.command()
@hci_option
@simulate_option
@device_option
@profile_option
@click.option(
    "--host", default=DEFAULT_HOST, show_default=True, help="Where the dashboard listens."
)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option(
    "--db", "db_url", metavar="URL", help="Database URL (default: SQLite in the data dir)."
)
@data_dir_option
def run(
    hci: str | None,
    simulate: bool,
    device: str | None,
    profile: str | None,
    host: str,
    port: int,
    db_url: str | None,
    data_dir: Path | None,
) -> None:
    """Start the companion: band link, routines, recorder, reminders and the dashboard."""
    from companion.service import run_service

    settings = settings_for(
        data_dir, db_url=db_url, hci=hci, simulate=simulate, device=device, profile=profile,
        host=host, port=port,
    )  # fmt: skip
    raise SystemExit(run_service(settings, announce=click.echo))
