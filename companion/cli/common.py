"""What the commands share: options, settings, the event loop runner and exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from companion.ble.profiles import DeviceProfile, load_profiles, select_profile
from companion.config import Settings
from companion.errors import CompanionError, DataFileError, DeviceNotFoundError, UnknownNameError
from companion.links import BandChoice
from companion.routines.catalog import Routine, load_routine_file, load_routines

EXIT_USAGE = 2
EXIT_NO_DEVICE = 3
EXIT_LINK_LOST = 4
FIND_BAND_TIMEOUT_S = 15.0
DRAIN_TIMEOUT_S = 10.0  # the longest vibration pattern a profile may hold is far shorter

T = TypeVar("T")

hci_option = click.option(
    "--hci",
    metavar="TRANSPORT",
    help="Bumble HCI transport (usb:0, tcp-client:127.0.0.1:9001); default: the OS stack.",
)
device_option = click.option(
    "--device", metavar="NAME|ADDRESS", help="Which band (name glob or address)."
)
simulate_option = click.option(
    "--simulate", is_flag=True, help="Use the virtual band in this process instead of a real one."
)
profile_option = click.option(
    "--profile", metavar="NAME", help="Device profile by name (file stem)."
)
data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Where sessions and settings are kept."
)


def settings_for(data_dir: Path | None = None, **options: Any) -> Settings:
    return Settings.build(data_dir=data_dir, **options)


def profiles_for(settings: Settings) -> dict[str, DeviceProfile]:
    return load_profiles(settings.profiles_dir)


def band_choice(
    data_dir: Path | None,
    hci: str | None,
    simulate: bool,
    device: str | None,
    profile: str | None,
) -> tuple[dict[str, DeviceProfile], BandChoice]:
    """The profiles and the band the options ask for (an unknown profile is a usage error)."""
    profiles = profiles_for(settings_for(data_dir))
    chosen = select_profile(profiles, profile) if profile else None
    return profiles, BandChoice(hci=hci, simulate=simulate, device=device, profile=chosen)


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; Ctrl-C cancels it and the command says so."""

    async def guarded() -> T:
        task = asyncio.ensure_future(main())
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, task.cancel)
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        return await task

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        click.echo("Stopped.", err=True)
        raise SystemExit(0) from None


def echo_json(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, separators=(",", ":")))


def exit_code_for(error: CompanionError) -> int:
    if isinstance(error, DeviceNotFoundError):
        return EXIT_NO_DEVICE
    if isinstance(error, (UnknownNameError, DataFileError)):
        # Bad names and bad data files are usage errors: the message says what is allowed.
        return EXIT_USAGE
    return 1


def store_engine(settings: Settings) -> Engine:
    """The store, migrated to the current schema (reads and small edits from the CLI)."""
    from companion.store.database import create_engine_for_url, upgrade_to_head

    settings.ensure_data_dir()
    upgrade_to_head(settings.db_url)
    return create_engine_for_url(settings.db_url)


db_option = click.option("--db", "db_url", metavar="URL", help="Database URL.")


def routine_by_name_or_file(settings: Settings, name_or_file: str) -> Routine:
    path = Path(name_or_file)
    if path.suffix == ".toml" and path.exists():
        return load_routine_file(path)
    routines = load_routines(settings.routines_dir)
    if name_or_file not in routines:
        raise UnknownNameError("routine", name_or_file, list(routines))
    return routines[name_or_file]
