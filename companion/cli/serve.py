"""``companion run``: the whole service."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import click

from companion.cli.common import (
    band_options,
    data_dir_option,
    settings_for,
)
from companion.config import DEFAULT_HOST, DEFAULT_PORT

MAX_PORT = 65535
_DOTTED = re.compile(r"^[0-9.]+$")


def check_host(host: str) -> str:
    """Refuse a host that can never be an address (999.1.1.1, an empty name) at once;
    a name that does not resolve is reported when the dashboard tries to listen."""
    text = host.strip().strip("[]")
    if not text:
        raise click.BadParameter("give an address such as 127.0.0.1 or 0.0.0.0")
    if _DOTTED.match(text) or ":" in text:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise click.BadParameter(
                f"{host!r} is not an IP address (use e.g. 127.0.0.1, or 0.0.0.0 for all)"
            ) from None
    return text


@click.command()
@band_options
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    callback=lambda _ctx, _param, value: check_host(value),
    help="Where the dashboard listens (an address of this machine, or 0.0.0.0 for all).",
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, MAX_PORT),
    help="The dashboard's TCP port (0: any free one).",
)
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
