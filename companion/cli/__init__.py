"""The ``companion`` command line. Output for people on stdout; warnings on stderr.

Exit codes: 0 ok, 1 doctor found a problem (or an unexpected failure), 2 usage error,
3 no matching device found, 4 link lost and not recovered before ``--duration`` ended,
5 Bluetooth unavailable, 6 the data directory or database cannot be used, 7 the dashboard
cannot listen. Every non-zero exit prints one line saying why, and what to do.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import click

from companion.cli import archive, bands, reminders, routines, serve, upkeep
from companion.cli.common import EXIT_FAILURE, EXIT_USAGE, as_companion_error, exit_code_for
from companion.errors import CompanionError

_LOGGER = logging.getLogger("companion.cli")


def _one_line(text: str) -> str:
    return " ".join(text.split())


class CompanionGroup(click.Group):
    """Every failure ends a command with one line on stderr and a documented exit code;
    a traceback only reaches the log at -v."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:
            # A bare `companion` is a request for help, not a mistake.
            click.echo(ctx.get_help())
            ctx.exit(0)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _fail(f"{exc.format_message()} (see: {ctx.command_path} --help)", EXIT_USAGE, exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CompanionError as exc:
            _fail(str(exc), exit_code_for(exc), exc)
        except click.exceptions.NoArgsIsHelpError as exc:
            # `companion remind` alone: its help, as `companion` alone gives the main help.
            click.echo(exc.ctx.get_help() if exc.ctx is not None else ctx.get_help())
            raise SystemExit(0) from None
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            _fail(f"{exc.format_message()} (see: {where} --help)", EXIT_USAGE, exc)
        except (click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            problem = as_companion_error(exc)
            if problem is not None:
                _fail(str(problem), exit_code_for(problem), exc)
            _fail(
                f"unexpected {type(exc).__name__}: {exc} (this is a bug; run again with -v "
                "for details and report it)",
                EXIT_FAILURE,
                exc,
            )


def _fail(message: str, code: int, exc: BaseException) -> NoReturn:
    _LOGGER.info("command failed", exc_info=exc)
    click.echo(f"error: {_one_line(message)}", err=True)
    raise SystemExit(code) from None


@click.group(cls=CompanionGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="bedside-companion")
def main(verbose: int) -> None:
    """Gentle in-bed back exercises, paced by your breath and a heart-rate band.

    Stop at once if you feel sharp pain. This is not medical advice: if your pain is
    severe or keeps coming back, talk to a doctor or physiotherapist.

    Exit codes: 0 ok, 1 doctor found a problem, 2 usage error, 3 no band found, 4 link
    lost, 5 Bluetooth unavailable, 6 data dir or database unusable, 7 port unavailable.
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s"
    )


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
