"""The ``companion`` command line. Output for people on stdout; warnings on stderr.

Exit codes: 0 ok, 2 usage error, 3 no matching device found, 4 link lost and not
recovered before ``--duration`` ended.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from companion.cli import archive, bands, reminders, routines, serve, upkeep
from companion.cli.common import exit_code_for
from companion.errors import CompanionError


class CompanionGroup(click.Group):
    """Our own errors end a command with a clear message and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CompanionError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(exit_code_for(exc)) from None


@click.group(cls=CompanionGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="bedside-companion")
def main(verbose: int) -> None:
    """Gentle in-bed back exercises, paced by your breath and a heart-rate band.

    Stop at once if you feel sharp pain. This is not medical advice: if your pain is
    severe or keeps coming back, talk to a doctor or physiotherapist.
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s"
    )


# --- bands ------------------------------------------------------------------------------------


for command in (
    bands.scan,
    bands.watch,
    bands.buzz,
    bands.band,
    routines.plan,
    routines.session,
    serve.run,
    reminders.remind,
    reminders.summary,
    upkeep.doctor,
    upkeep.install_service,
    archive.backup,
    archive.restore,
    archive.export,
):
    main.add_command(command)
