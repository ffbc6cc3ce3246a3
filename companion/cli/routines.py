"""Commands for routines: show a plan, run a session in the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from companion.cli.common import (
    DRAIN_TIMEOUT_S,
    FIND_BAND_TIMEOUT_S,
    as_companion_error,
    async_require_bluetooth,
    band_options,
    data_dir_option,
    echo_json,
    profile_option,
    profiles_for,
    routine_by_name_or_file,
    settings_for,
)
from companion.config import Settings
from companion.errors import CompanionError
from companion.pain import PAIN_MAX, PAIN_MIN

if TYPE_CHECKING:
    from companion.cues import CueName
    from companion.events import Event
    from companion.routines.pacer import BreathPattern
    from companion.routines.plan_json import CueWrite
    from companion.routines.progression import ProgressionLevel

_T = TypeVar("_T")


@click.command()
@click.argument("routine")
@click.option(
    "--json", "as_json", is_flag=True, help="The timeline as JSON, with each cue's writes."
)
@profile_option
@data_dir_option
def plan(routine: str, as_json: bool, profile: str | None, data_dir: Path | None) -> None:
    """Show the timeline of a routine (a built-in name, a user routine, or a .toml file)."""
    from companion.ble.profiles import select_profile
    from companion.routines.haptics import Vocabulary
    from companion.routines.plan import (
        PlanSettings,
        compile_plan,
        compose_plan,
        format_plan_text,
        with_band_writes,
    )

    settings = settings_for(data_dir)
    chosen = select_profile(profiles_for(settings), profile) if profile else None
    level = _progression_now(settings)
    # The breathing pattern saved in Settings, as the next session will use it.
    pattern = _saved_pattern_now(settings)
    compiled = compile_plan(
        routine_by_name_or_file(settings, routine), PlanSettings(pattern=pattern), level
    )
    if chosen is not None and chosen.has_haptics:
        # The exact writes the band receives, composed on its one haptic channel.
        compiled = compose_plan(compiled, Vocabulary.from_profile(chosen))
    if as_json:

        def writes(cue: CueName) -> list[CueWrite]:
            return chosen.writes_json(cue) if chosen else []

        click.echo(json.dumps(with_band_writes(compiled, writes), indent=2))
    else:
        click.echo(format_plan_text(compiled))


def _progression_now(settings: Settings) -> ProgressionLevel:
    """The level the next session would use, from the stored history when there is one
    (a history that cannot be read is said so, and the plan starts gently)."""
    from companion.routines.progression import ProgressionPolicy, progression_level

    def read(db_url: str) -> ProgressionLevel:
        from companion.store.progress import progression_level_from_store

        return progression_level_from_store(db_url)

    return _from_store(
        settings,
        read,
        lambda: progression_level([], ProgressionPolicy()),
        "your history cannot be read, so this is level 1",
    )


def _saved_pattern_now(settings: Settings) -> BreathPattern | None:
    """The pattern saved in Settings (None: each routine's own), as the next session reads
    it; a store that cannot be read is said so, and the routine's own pattern is shown."""

    def read(db_url: str) -> BreathPattern | None:
        from companion.store.saved_pattern import saved_pattern_from_store

        return saved_pattern_from_store(db_url)

    return _from_store(settings, read, lambda: None, "saved settings cannot be read")


def _from_store(
    settings: Settings, read: Callable[[str], _T], fallback: Callable[[], _T], warning: str
) -> _T:
    """``read`` of the store when there is one, else ``fallback``; a store that cannot be
    read is a warning on stderr, not a failed command (any other error still raises).
    The readers import the store themselves: without a store, ``plan`` loads none of it."""
    if not settings.db_path_exists():
        return fallback()
    try:
        return read(settings.db_url)
    except Exception as exc:
        problem = as_companion_error(exc, settings)
        if problem is None:
            raise
        click.echo(f"warning: {warning}: {problem}", err=True)
        return fallback()


@click.command()
@band_options
@click.option("--routine", required=True, metavar="NAME|FILE", help="Routine name or .toml file.")
@click.option("--pain-before", type=click.IntRange(PAIN_MIN, PAIN_MAX), help="Your pain now, 0-10.")
@click.option("--jsonl", is_flag=True, help="One JSON object per event on stdout.")
@data_dir_option
def session(
    hci: str | None,
    simulate: bool,
    device: str | None,
    profile: str | None,
    routine: str,
    pain_before: int | None,
    jsonl: bool,
    data_dir: Path | None,
) -> None:
    """Run one routine against a band, printing its events. Ctrl-C stops it cleanly."""
    from companion.catalogues import Catalogues
    from companion.cli.session_output import SessionPrinter
    from companion.events import SessionStateChanged
    from companion.wiring import build_companion

    settings = settings_for(data_dir, hci=hci, simulate=simulate, device=device, profile=profile)
    printer = SessionPrinter()
    finished = asyncio.Event()

    def on_event(event: Event) -> None:
        if jsonl:
            echo_json(event.to_json())
        else:
            for line in printer.lines_for(event):
                click.echo(line)
        if isinstance(event, SessionStateChanged) and event.state.is_final:
            finished.set()

    async def run_session(catalogues: Catalogues, name: str) -> int:
        loop = asyncio.get_running_loop()
        stopped_by_user = False
        async with build_companion(
            settings, catalogues=catalogues, listeners=[on_event]
        ) as companion:
            host, link = companion.host, companion.links.link

            def ctrl_c() -> None:
                nonlocal stopped_by_user
                stopped_by_user = True
                with contextlib.suppress(CompanionError):
                    host.command("stop")
                finished.set()

            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, ctrl_c)
            if not await link.async_wait_connected(FIND_BAND_TIMEOUT_S):
                click.echo(
                    "No band yet; cues go to this screen and reach the wrist once it connects.",
                    err=True,
                )
            await host.start_session(name, pain_before)
            await finished.wait()
            # Let the last cue's vibration finish (and stop) before the link closes.
            await link.async_drain(DRAIN_TIMEOUT_S)
        if stopped_by_user:
            click.echo("Stopped by Ctrl-C; the session is saved as stopped.", err=True)
        return 0

    def go() -> int:
        chosen = routine_by_name_or_file(settings, routine)
        catalogues = Catalogues.load(settings).with_routine(chosen)
        asyncio.run(async_require_bluetooth(hci, simulate))
        return asyncio.run(run_session(catalogues, chosen.name))

    raise SystemExit(go())
