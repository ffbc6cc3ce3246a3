"""The ``companion`` command line. Output for people on stdout; warnings on stderr.

Exit codes: 0 ok, 2 usage error, 3 no matching device found, 4 link lost and not
recovered before ``--duration`` ended.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from companion.ble.profiles import DeviceProfile, load_profiles, select_profile
from companion.ble.virtual_band import Vibration, VirtualBand
from companion.ble.wearer import WearerMode
from companion.bus import EventBus
from companion.config import Settings
from companion.errors import CompanionError, DeviceNotFoundError
from companion.events import (
    CueFired,
    Event,
    HeartRateSample,
    LinkChanged,
    LinkState,
    PacketDropped,
)
from companion.links import BandChoice, band_link, virtual_band

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


def _pick_profile(settings: Settings, name: str | None) -> DeviceProfile | None:
    return select_profile(_profiles(settings), name) if name else None


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


@click.group()
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
    settings = _settings(data_dir)
    profiles = _profiles(settings)
    choice = BandChoice(
        hci=hci, simulate=simulate, device=device, profile=_pick_profile(settings, profile)
    )
    bus = EventBus()
    state = {"connected": False, "lost_at": None}

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
            if event.state in (LinkState.CONNECTED, LinkState.RECONNECTED):
                state["connected"], state["lost_at"] = True, None
            elif event.state == LinkState.LOST:
                state["connected"], state["lost_at"] = False, event.mono
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

    raise SystemExit(_guard(lambda: _run(go)))


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
    settings = _settings(data_dir)
    profiles = _profiles(settings)
    choice = BandChoice(
        hci=hci, simulate=simulate, device=device, profile=_pick_profile(settings, profile)
    )

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

    raise SystemExit(_guard(lambda: _run(go)))


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

    _guard(lambda: _run(go))


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


def _guard(action: Callable[[], T]) -> T:
    """Turn our own errors into a clear message and the documented exit code."""
    try:
        return action()
    except DeviceNotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(EXIT_NO_DEVICE) from None
    except CompanionError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


__all__ = ["CueFired", "main"]
