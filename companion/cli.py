"""The ``companion`` command line. Output for people on stdout; warnings on stderr.

Exit codes: 0 ok, 2 usage error, 3 no matching device found, 4 link lost and not
recovered before ``--duration`` ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from companion.ble.profiles import DeviceProfile, load_profiles, select_profile
from companion.ble.virtual_band import Vibration, VirtualBand
from companion.ble.wearer import WearerMode
from companion.bus import EventBus
from companion.config import DEFAULT_HOST, DEFAULT_PORT, Settings
from companion.errors import CompanionError, DataFileError, DeviceNotFoundError, UnknownNameError
from companion.events import (
    CueFired,
    Event,
    HeartRateSample,
    LinkChanged,
    Notice,
    PacingAdapted,
    PacketDropped,
    SessionStateChanged,
    StepStarted,
)
from companion.links import BandChoice, band_link, virtual_band
from companion.routines.catalog import Routine, load_routine_file, load_routines
from companion.routines.plan import PlanSettings, compile_plan, format_plan_text, plan_to_json
from companion.routines.progression import ProgressionLevel, ProgressionPolicy, progression_level

EXIT_USAGE = 2
EXIT_NO_DEVICE = 3
EXIT_LINK_LOST = 4
FIND_BAND_TIMEOUT_S = 15.0

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


def _settings(data_dir: Path | None = None, **options: Any) -> Settings:
    return Settings.build(data_dir=data_dir, **options)


def _profiles(settings: Settings) -> dict[str, DeviceProfile]:
    return load_profiles(settings.profiles_dir)


def _band_choice(
    data_dir: Path | None,
    hci: str | None,
    simulate: bool,
    device: str | None,
    profile: str | None,
) -> tuple[dict[str, DeviceProfile], BandChoice]:
    """The profiles and the band the options ask for (an unknown profile is a usage error)."""
    profiles = _profiles(_settings(data_dir))
    chosen = select_profile(profiles, profile) if profile else None
    return profiles, BandChoice(hci=hci, simulate=simulate, device=device, profile=chosen)


def _run(main: Callable[[], Awaitable[T]]) -> T:
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


def _echo_json(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, separators=(",", ":")))


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


@main.command()
@hci_option
@simulate_option
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to listen.")
@data_dir_option
def scan(hci: str | None, simulate: bool, timeout: float, data_dir: Path | None) -> None:
    """List nearby devices, their signal strength and the profile each matches."""
    settings = _settings(data_dir)
    profiles = _profiles(settings)
    choice = BandChoice(hci=hci, simulate=simulate)

    async def go() -> None:
        async with band_link(choice, EventBus(), profiles, start=False) as stack:
            found = await stack.link.async_scan(timeout)
        if not found:
            click.echo("No devices found.", err=True)
            raise SystemExit(EXIT_NO_DEVICE)
        click.echo(f"{'ADDRESS':<18} {'RSSI':>5}  {'PROFILE':<22} NAME")
        for device in found:
            profile = device.profile or "-"
            click.echo(f"{device.address:<18} {device.rssi:>5}  {profile:<22} {device.name or ''}")

    _run(go)


@main.command()
@hci_option
@simulate_option
@device_option
@profile_option
@click.option(
    "--duration", type=float, help="Stop after this many seconds (default: until Ctrl-C)."
)
@click.option("--jsonl", is_flag=True, help="One JSON object per measurement on stdout.")
@data_dir_option
def watch(
    hci: str | None,
    simulate: bool,
    device: str | None,
    profile: str | None,
    duration: float | None,
    jsonl: bool,
    data_dir: Path | None,
) -> None:
    """Show live heart rate (and RR intervals) from the band."""
    profiles, choice = _band_choice(data_dir, hci, simulate, device, profile)
    bus = EventBus()

    def on_event(event: Event) -> None:
        if isinstance(event, HeartRateSample):
            if jsonl:
                _echo_json(
                    {
                        "t": round(event.wall, 3),
                        "device": event.device,
                        "hr": event.hr,
                        "contact": event.contact,
                        "energy_kj": event.energy_kj,
                        "rr_ms": [round(rr, 1) for rr in event.rr_ms],
                    }
                )
            else:
                rr = " ".join(f"{r:.0f}" for r in event.rr_ms)
                contact = {True: "", False: " (no skin contact)", None: ""}[event.contact]
                click.echo(
                    f"{time.strftime('%H:%M:%S')}  {event.hr:3d} bpm  RR {rr or '-'} ms{contact}"
                )
        elif isinstance(event, PacketDropped):
            click.echo(
                f"warning: dropped a malformed packet ({event.reason}); {event.total} so far",
                err=True,
            )
        elif isinstance(event, LinkChanged):
            click.echo(f"link: {event.state.value} {event.detail}".rstrip(), err=True)

    bus.subscribe(on_event)

    async def go() -> int:
        async with band_link(choice, bus, profiles) as stack:
            if not await stack.link.async_wait_connected(FIND_BAND_TIMEOUT_S):
                raise DeviceNotFoundError(device)
            if duration is None:
                await asyncio.Event().wait()
            await asyncio.sleep(duration or 0)
            return 0 if stack.link.is_connected else EXIT_LINK_LOST

    raise SystemExit(_run(go))


@main.command()
@hci_option
@simulate_option
@device_option
@profile_option
@click.option(
    "--cue", required=True, help="Cue name: breath-in, breath-out, hold-end, routine-end, ..."
)
@data_dir_option
def buzz(
    hci: str | None,
    simulate: bool,
    device: str | None,
    profile: str | None,
    cue: str,
    data_dir: Path | None,
) -> None:
    """Run one haptic cue on the band."""
    profiles, choice = _band_choice(data_dir, hci, simulate, device, profile)

    async def go() -> int:
        async with band_link(choice, EventBus(), profiles) as stack:
            if not await stack.link.async_wait_connected(FIND_BAND_TIMEOUT_S):
                raise DeviceNotFoundError(device)
            link = stack.link
            assert link.profile is not None
            writes = link.profile.cue_writes(cue)
            if not link.run_cue(cue):
                click.echo(f"{link.profile.name} has no vibration for '{cue}'.", err=True)
                return 0
            # Let the cue's timed writes go out before disconnecting.
            await asyncio.sleep(max(w.after_s for w in writes) + 0.5)
            click.echo(
                f"sent '{cue}' to {link.address} ({len(writes)} writes via {link.profile.name})"
            )
            return 0

    raise SystemExit(_run(go))


@main.command()
@click.option("--hci", required=True, metavar="TRANSPORT", help="Where the band's controller is.")
@click.option(
    "--wearer",
    type=click.Choice([m.value for m in WearerMode]),
    default=WearerMode.FOLLOW_CUES.value,
    show_default=True,
    help="How the simulated person breathes.",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated wearer.")
def band(hci: str, wearer: str, seed: int) -> None:
    """Run the virtual band on its own.

    Each vibration it receives is printed as one JSON line. Type commands on stdin:
    `drop [SECONDS]` (go out of range, and come back after SECONDS), `back`,
    `contact on|off`, `battery PERCENT`, `quit`.
    """

    def on_vibration(vibration: Vibration) -> None:
        _echo_json({"vibration": vibration.to_json()})

    async def go() -> None:
        async with virtual_band(
            hci, mode=WearerMode(wearer), seed=seed, on_vibration=on_vibration
        ) as vband:
            click.echo(f"virtual band advertising on {hci}; Ctrl-C to stop", err=True)
            async for line in _stdin_lines():
                if not await _band_command(vband, line.split()):
                    return

    _run(go)


async def _stdin_lines() -> AsyncIterator[str]:
    """Lines typed on stdin, read on a daemon thread so Ctrl-C never waits for Enter."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, name="stdin", daemon=True).start()
    while (line := await lines.get()) is not None:
        yield line
    await asyncio.Event().wait()  # stdin closed: keep running until stopped


async def _band_command(vband: VirtualBand, words: list[str]) -> bool:
    """Carry out one typed command; False means quit."""
    match words:
        case []:
            pass
        case ["quit"]:
            return False
        case ["drop"]:
            vband.start_drop(None)
            click.echo("link dropped; the band stays away until `back`", err=True)
        case ["drop", seconds]:
            vband.start_drop(float(seconds))
            click.echo(f"link dropped; back in {float(seconds):g} s", err=True)
        case ["back"]:
            await vband.come_back()
        case ["contact", ("on" | "off") as state]:
            vband.set_contact(state == "on")
        case ["battery", percent] if percent.isdigit():
            vband.set_battery(int(percent))
        case _:
            click.echo(f"unknown command: {' '.join(words)}", err=True)
    return True


def exit_code_for(error: CompanionError) -> int:
    if isinstance(error, DeviceNotFoundError):
        return EXIT_NO_DEVICE
    if isinstance(error, (UnknownNameError, DataFileError)):
        # Bad names and bad data files are usage errors: the message says what is allowed.
        return EXIT_USAGE
    return 1


# --- routines ---------------------------------------------------------------------------------


def _routine(settings: Settings, name_or_file: str) -> Routine:
    path = Path(name_or_file)
    if path.suffix == ".toml" and path.exists():
        return load_routine_file(path)
    routines = load_routines(settings.routines_dir)
    if name_or_file not in routines:
        raise UnknownNameError("routine", name_or_file, list(routines))
    return routines[name_or_file]


@main.command()
@click.argument("routine")
@click.option(
    "--json", "as_json", is_flag=True, help="The timeline as JSON, with each cue's writes."
)
@profile_option
@data_dir_option
def plan(routine: str, as_json: bool, profile: str | None, data_dir: Path | None) -> None:
    """Show the timeline of a routine (a built-in name, a user routine, or a .toml file)."""
    settings = _settings(data_dir)
    chosen = select_profile(_profiles(settings), profile) if profile else None
    level = _progression_now(settings)
    compiled = compile_plan(_routine(settings, routine), PlanSettings(), level)
    if as_json:

        def writes(cue: str) -> list[dict[str, Any]]:
            return chosen.writes_json(cue) if chosen else []

        click.echo(json.dumps(plan_to_json(compiled, writes), indent=2))
    else:
        click.echo(format_plan_text(compiled))


def _progression_now(settings: Settings) -> ProgressionLevel:
    """The level the next session would use, from the stored history when there is one."""
    if not settings.db_path_exists():
        return progression_level([], ProgressionPolicy())
    from companion.service import progression_level_from_store

    return progression_level_from_store(settings.db_url)


@main.command()
@hci_option
@simulate_option
@device_option
@profile_option
@click.option("--routine", required=True, metavar="NAME|FILE", help="Routine name or .toml file.")
@click.option("--pain-before", type=click.IntRange(0, 10), help="Your pain now, 0-10.")
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
    from companion.service import Catalogues, open_store, running_core

    settings = _settings(data_dir, hci=hci, simulate=simulate, device=device, profile=profile)

    def go() -> int:
        catalogues = Catalogues.load(settings)
        chosen = _routine(settings, routine)
        catalogues.routines[chosen.name] = chosen
        with open_store(settings) as store:
            return asyncio.run(_run_session(settings, catalogues, store, chosen.name, pain_before))

    async def _run_session(
        settings: Settings, catalogues: Any, store: Any, name: str, pain: int | None
    ) -> int:
        loop = asyncio.get_running_loop()
        finished = asyncio.Event()
        stopped_by_user = False

        async with running_core(settings, catalogues, store) as (core, stack):

            def on_event(event: Event) -> None:
                _print_event(event, jsonl)
                if isinstance(event, SessionStateChanged) and event.state.is_final:
                    finished.set()

            core.bus.subscribe(on_event)

            def ctrl_c() -> None:
                nonlocal stopped_by_user
                stopped_by_user = True
                with contextlib.suppress(CompanionError):
                    core.command("stop")
                finished.set()

            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, ctrl_c)
            if not await stack.link.async_wait_connected(FIND_BAND_TIMEOUT_S):
                click.echo(
                    "No band yet; cues go to this screen and reach the wrist once it connects.",
                    err=True,
                )
            await core.start_session(name, pain)
            await finished.wait()
            # Let the last cue's vibration finish before the link closes.
            await asyncio.sleep(1.0)
        if stopped_by_user:
            click.echo("Stopped by Ctrl-C; the session is saved as stopped.", err=True)
        return 0

    raise SystemExit(go())


def _print_event(event: Event, jsonl: bool) -> None:
    if jsonl:
        _echo_json(event.to_json())
        return
    stamp = time.strftime("%H:%M:%S", time.localtime(event.wall))
    if isinstance(event, StepStarted):
        count = f" ({event.breaths} breaths)" if event.breaths else ""
        click.echo(f"{stamp}  ▶ {event.name}{count}\n           {event.instructions}")
    elif isinstance(event, CueFired):
        where = "wrist" if event.on_wrist else "screen"
        click.echo(f"{stamp}    {event.cue:<12} at {event.planned_s:7.2f} s ({where})")
    elif isinstance(event, SessionStateChanged):
        click.echo(f"{stamp}  ■ {event.state.value}: {event.reason}")
    elif isinstance(event, (LinkChanged, Notice, PacingAdapted)):
        click.echo(f"{stamp}  · {event.to_json()}")


# --- the service ------------------------------------------------------------------------------


@main.command()
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

    settings = _settings(
        data_dir, db_url=db_url, hci=hci, simulate=simulate, device=device, profile=profile,
        host=host, port=port,
    )  # fmt: skip
    raise SystemExit(run_service(settings, announce=click.echo))


# --- reminders and the morning summary --------------------------------------------------------


def _store_engine(settings: Settings) -> Engine:
    """The store, migrated to the current schema (reads and small edits from the CLI)."""
    from companion.store.database import create_engine_for_url, upgrade_to_head

    settings.ensure_data_dir()
    upgrade_to_head(settings.db_url)
    return create_engine_for_url(settings.db_url)


db_option = click.option("--db", "db_url", metavar="URL", help="Database URL.")


@main.group()
def remind() -> None:
    """Bedtime and morning reminders (the running service picks up changes within 30 s)."""


@remind.command("list")
@db_option
@data_dir_option
def remind_list(db_url: str | None, data_dir: Path | None) -> None:
    """Show every reminder."""
    from companion.store.reminders import list_reminders

    engine = _store_engine(_settings(data_dir, db_url=db_url))
    reminders = list_reminders(engine)
    engine.dispose()
    if not reminders:
        click.echo("No reminders yet. Add one: companion remind add --at 21:30 --routine bedtime")
    for r in reminders:
        state = "" if r.enabled else "  (off)"
        click.echo(f"{r.id:>3}  {r.at:%H:%M}  {','.join(r.days):<27}  {r.routine}{state}")


@remind.command("add")
@click.option("--at", "at_text", required=True, metavar="HH:MM", help="Time on a 24-hour clock.")
@click.option("--days", metavar="mon,tue,...", help="Weekdays (default: every day).")
@click.option("--routine", required=True, help="The routine the reminder names.")
@db_option
@data_dir_option
def remind_add(
    at_text: str, days: str | None, routine: str, db_url: str | None, data_dir: Path | None
) -> None:
    """Add a reminder."""
    from companion.reminders import parse_days, parse_time
    from companion.store.reminders import add_reminder

    settings = _settings(data_dir, db_url=db_url)
    try:
        at, weekdays = parse_time(at_text), parse_days(days)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    _routine(settings, routine)  # must exist
    engine = _store_engine(settings)
    try:
        added = add_reminder(engine, at=at, days=weekdays, routine=routine, now_wall=time.time())
    finally:
        engine.dispose()
    click.echo(f"Added reminder {added.id}: {at:%H:%M} on {','.join(weekdays)} for {routine}.")


@remind.command("remove")
@click.argument("reminder_id", type=int)
@db_option
@data_dir_option
def remind_remove(reminder_id: int, db_url: str | None, data_dir: Path | None) -> None:
    """Remove a reminder by its number."""
    from companion.store.reminders import remove_reminder

    engine = _store_engine(_settings(data_dir, db_url=db_url))
    removed = remove_reminder(engine, reminder_id)
    engine.dispose()
    if not removed:
        click.echo(f"error: no reminder {reminder_id}", err=True)
        raise SystemExit(EXIT_USAGE)
    click.echo(f"Removed reminder {reminder_id}.")


@main.command()
@click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Which morning (default: today)."
)
@click.option("--json", "as_json", is_flag=True, help="The summary as JSON.")
@db_option
@data_dir_option
def summary(
    day: dt.datetime | None, as_json: bool, db_url: str | None, data_dir: Path | None
) -> None:
    """The morning summary: last evening's and this morning's sessions, heart rate, trends."""
    import tzlocal

    from companion.store.summary_facts import summary_for
    from companion.summary import format_summary_text

    tz = tzlocal.get_localzone()
    now = dt.datetime.now(tz)
    engine = _store_engine(_settings(data_dir, db_url=db_url))
    try:
        result = summary_for(engine, day.date() if day else now.date(), tz, now)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(format_summary_text(result))


# --- looking after the installation -----------------------------------------------------------


@main.command()
@click.option("--no-bluetooth", is_flag=True, help="Skip the Bluetooth checks.")
@db_option
@data_dir_option
def doctor(no_bluetooth: bool, db_url: str | None, data_dir: Path | None) -> None:
    """Check Bluetooth, the data dir, the database and the data files; say what to fix."""
    from companion.doctor import Status, run_checks

    checks = run_checks(_settings(data_dir, db_url=db_url), bluetooth=not no_bluetooth)
    marks = {Status.OK: "ok  ", Status.WARN: "warn", Status.FAIL: "FAIL"}
    for check in checks:
        click.echo(f"[{marks[check.status]}] {check.name}: {check.message}")
        if check.fix:
            click.echo(f"       fix: {check.fix}")
    if any(c.status == Status.FAIL for c in checks):
        raise SystemExit(1)


@main.command("install-service")
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
