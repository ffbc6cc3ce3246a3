"""What the commands share: options, settings, the event loop runner and exit codes.

Imports stay light here: ``companion --help`` and ``companion plan`` load this module, so
Bluetooth (bleak, Bumble), the store (SQLAlchemy) and the web layer (Flask) are imported
inside the functions that use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from companion.config import Settings
from companion.errors import (
    CompanionError,
    DataFileError,
    DeviceNotFoundError,
    ListenError,
    SettingError,
    StoreUnavailableError,
    TransportError,
    UnknownNameError,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from companion.ble.profiles import DeviceProfile
    from companion.catalogues import Catalogues
    from companion.routines.catalog import Routine

# The documented exit codes (README, "Using it").
EXIT_OK = 0
EXIT_FAILURE = 1  # doctor found a problem, or something unexpected (a bug: run with -v)
EXIT_USAGE = 2
EXIT_NO_DEVICE = 3
EXIT_LINK_LOST = 4
EXIT_NO_BLUETOOTH = 5
EXIT_STORE = 6
EXIT_LISTEN = 7

FIND_BAND_TIMEOUT_S = 15.0
DRAIN_TIMEOUT_S = 10.0  # the longest vibration pattern a profile may hold is far shorter

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

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


def band_options(command: F) -> F:
    """Which band, and over which radio: the options every command that reaches one takes."""
    for option in (profile_option, device_option, simulate_option, hci_option):
        command = option(command)
    return command


data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Where sessions and settings are kept."
)
db_option = click.option("--db", "db_url", metavar="URL", help="Database URL.")


def settings_for(data_dir: Path | None = None, **options: Any) -> Settings:
    return Settings.build(data_dir=data_dir, **options)


def profiles_for(settings: Settings) -> dict[str, DeviceProfile]:
    """Built-in and the person's device profiles; a file that cannot be used is named in
    one warning line and skipped."""
    from companion.user_files import read_profiles

    profiles, problems = read_profiles(settings.profiles_dir)
    for problem in problems:
        click.echo(f"warning: skipped {problem}", err=True)
    return profiles


def band_settings(
    data_dir: Path | None,
    hci: str | None,
    simulate: bool,
    device: str | None,
    profile: str | None,
) -> tuple[Settings, Catalogues]:
    """The settings and the profiles (no routines) for a command that only talks to a
    band; an unknown profile is a usage error, said before anything starts."""
    from companion.catalogues import Catalogues

    settings = settings_for(data_dir, hci=hci, simulate=simulate, device=device, profile=profile)
    catalogues = Catalogues(profiles=profiles_for(settings), routines={})
    catalogues.band_choice(settings)
    return settings, catalogues


def uses_os_bluetooth(hci: str | None, simulate: bool) -> bool:
    return hci is None and not simulate


async def async_require_bluetooth(hci: str | None, simulate: bool) -> None:
    """On the OS stack, fail at once (exit 5) when Bluetooth itself is missing, rather
    than waiting for a band that cannot be found."""
    if uses_os_bluetooth(hci, simulate):
        from companion.ble.availability import async_check_os_bluetooth

        await async_check_os_bluetooth()


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
    from companion.ble.availability import BluetoothUnavailableError

    if isinstance(error, DeviceNotFoundError):
        return EXIT_NO_DEVICE
    if isinstance(error, BluetoothUnavailableError | TransportError):
        return EXIT_NO_BLUETOOTH
    if isinstance(error, StoreUnavailableError):
        return EXIT_STORE
    if isinstance(error, ListenError):
        return EXIT_LISTEN
    if isinstance(error, UnknownNameError | DataFileError | SettingError):
        # Bad names, values and data files are usage errors: the message says what is allowed.
        return EXIT_USAGE
    return EXIT_FAILURE


def as_companion_error(exc: Exception, settings: Settings | None = None) -> CompanionError | None:
    """A one-line error for a failure that is about the world, not the code: the store,
    Bluetooth, the disk. None when ``exc`` is none of those (then it is a bug)."""
    if isinstance(exc, CompanionError):
        return exc
    if type(exc).__module__.startswith(("sqlalchemy", "sqlite3", "psycopg")):
        from companion.store.database import store_problem

        url = settings.db_url if settings is not None else ""
        problem = store_problem(exc, url)
        if problem is not None:
            return problem
    if type(exc).__module__.startswith(("bleak", "dbus_fast")):
        from companion.ble.availability import bluetooth_unavailable

        unavailable = bluetooth_unavailable(exc)
        if unavailable is not None:
            return unavailable
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        advice = {
            errno.ENOSPC: "free some disk space",
            errno.EROFS: "the disk is mounted read-only; choose another --data-dir",
            errno.EACCES: "check the owner and permissions of the file named",
            errno.EPERM: "check the owner and permissions of the file named",
        }.get(exc.errno or 0)
        if advice is not None:
            return StoreUnavailableError(f"{exc.strerror}{where}", advice)
    return None


def store_engine(settings: Settings) -> Engine:
    """The store, migrated to the current schema (reads and small edits from the CLI)."""
    from companion.store.database import check_url, create_engine_for_url, upgrade_to_head

    check_url(settings.db_url)
    settings.ensure_data_dir()
    try:
        upgrade_to_head(settings.db_url)
        return create_engine_for_url(settings.db_url)
    except Exception as exc:
        problem = as_companion_error(exc, settings)
        if problem is None:
            raise
        raise problem from None


def routine_by_name_or_file(settings: Settings, name_or_file: str) -> Routine:
    from companion.routines.catalog import load_routine_file, read_routines

    path = Path(name_or_file)
    if path.suffix == ".toml" and path.exists():
        return load_routine_file(path)
    loaded = read_routines(settings.routines_dir)
    for problem in loaded.problems:
        click.echo(f"warning: skipped {problem}", err=True)
    routines = loaded.routines
    if name_or_file not in routines:
        raise UnknownNameError("routine", name_or_file, list(routines))
    return routines[name_or_file]
