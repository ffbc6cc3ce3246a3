"""Commands that talk to a band: scan, watch, buzz, and the virtual band itself."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from companion.ble.wearer import WearerMode
from companion.cli.common import (
    DRAIN_TIMEOUT_S,
    EXIT_LINK_LOST,
    EXIT_NO_DEVICE,
    FIND_BAND_TIMEOUT_S,
    async_require_bluetooth,
    band_options,
    band_settings,
    data_dir_option,
    echo_json,
    hci_option,
    run_async,
    simulate_option,
)
from companion.errors import DeviceNotFoundError

if TYPE_CHECKING:
    from companion.ble.virtual_band import VirtualBand
    from companion.events import Event


@click.command()
@hci_option
@simulate_option
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to listen.")
@data_dir_option
def scan(hci: str | None, simulate: bool, timeout: float, data_dir: Path | None) -> None:
    """List nearby devices, their signal strength and the profile each matches, and the
    band connected now (it does not advertise while connected)."""
    from companion.ble.found import NO_RSSI
    from companion.wiring import StoreUse, build_companion

    settings, catalogues = band_settings(data_dir, hci, simulate, None, None)

    async def go() -> None:
        await async_require_bluetooth(hci, simulate)
        async with build_companion(
            settings, catalogues=catalogues, store=StoreUse.NONE, start_link=False
        ) as companion:
            found = await companion.links.link.async_scan(timeout)
        if not found:
            click.echo(
                f"error: no devices found in {timeout:g} s (wake the band by tapping it, keep "
                "it within a metre, or listen longer with --timeout)",
                err=True,
            )
            raise SystemExit(EXIT_NO_DEVICE)
        click.echo(f"{'ADDRESS':<18} {'RSSI':>5}  {'PROFILE':<22} NAME")
        for device in found:
            profile = device.profile or "-"
            # A connected band is not heard advertising: no signal strength, and it says so.
            rssi = "-" if device.connected and device.rssi == NO_RSSI else str(device.rssi)
            name = f"{device.name or ''} (connected)" if device.connected else device.name or ""
            click.echo(f"{device.address:<18} {rssi:>5}  {profile:<22} {name}")

    run_async(go)


@click.command()
@band_options
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
    from companion.events import HeartRateSample, LinkChanged, PacketDropped
    from companion.wiring import StoreUse, build_companion

    settings, catalogues = band_settings(data_dir, hci, simulate, device, profile)

    def on_event(event: Event) -> None:
        if isinstance(event, HeartRateSample):
            if jsonl:
                echo_json(
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

    async def go() -> int:
        await async_require_bluetooth(hci, simulate)
        async with build_companion(
            settings, catalogues=catalogues, store=StoreUse.NONE, listeners=[on_event]
        ) as companion:
            link = companion.links.link
            if not await link.async_wait_connected(FIND_BAND_TIMEOUT_S):
                raise DeviceNotFoundError(device)
            if duration is None:
                await asyncio.Event().wait()
            await asyncio.sleep(duration or 0)
            return 0 if link.is_connected else EXIT_LINK_LOST

    code = run_async(go)
    if code == EXIT_LINK_LOST:
        click.echo(
            f"error: the link to the band was lost and had not come back when the {duration:g} s "
            "ended (keep the band within a metre and charged, then run watch again)",
            err=True,
        )
    raise SystemExit(code)


@click.command()
@band_options
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
    from companion.ble.profiles import cue_named
    from companion.wiring import StoreUse, build_companion

    cue_name = cue_named(cue)  # an unknown name stops here, before any band is sought
    settings, catalogues = band_settings(data_dir, hci, simulate, device, profile)

    async def go() -> int:
        await async_require_bluetooth(hci, simulate)
        async with build_companion(
            settings, catalogues=catalogues, store=StoreUse.NONE
        ) as companion:
            link = companion.links.link
            if not await link.async_wait_connected(FIND_BAND_TIMEOUT_S):
                raise DeviceNotFoundError(device)
            assert link.profile is not None
            writes = link.profile.cue_writes(cue_name)
            if not link.run_cue(cue_name):
                click.echo(f"{link.profile.name} has no vibration for '{cue}'.", err=True)
                return 0
            # Let the cue's timed writes go out before disconnecting.
            await link.async_drain(DRAIN_TIMEOUT_S)
            click.echo(
                f"sent '{cue}' to {link.address} ({len(writes)} writes via {link.profile.name})"
            )
            return 0

    raise SystemExit(run_async(go))


@click.command()
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
    `contact on|off`, `battery PERCENT`, `exert BPM` (the wearer's heart climbs towards
    BPM), `rest`, `quit`.
    """
    from companion.ble.transport import virtual_band
    from companion.ble.virtual_band import Vibration

    def on_vibration(vibration: Vibration) -> None:
        echo_json({"vibration": vibration.to_json()})

    async def go() -> None:
        async with virtual_band(
            hci, mode=WearerMode(wearer), seed=seed, on_vibration=on_vibration
        ) as vband:
            click.echo(f"virtual band advertising on {hci}; Ctrl-C to stop", err=True)
            async for line in stdin_lines():
                if not await band_command(vband, line.split()):
                    return

    run_async(go)


async def stdin_lines() -> AsyncIterator[str]:
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


async def band_command(vband: VirtualBand, words: list[str]) -> bool:
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
        case ["exert", bpm]:
            try:
                vband.exert(float(bpm))
            except ValueError as error:
                click.echo(f"exert: {error}", err=True)
            else:
                click.echo(f"exerting: heart rate climbs towards {float(bpm):g} bpm", err=True)
        case ["rest"]:
            vband.rest()
            click.echo("resting: heart rate settles back", err=True)
        case _:
            click.echo(f"unknown command: {' '.join(words)}", err=True)
    return True
