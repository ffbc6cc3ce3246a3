"""Latency over the in-process virtual radio, both ways through the real bleak and Bumble stacks.

a. notify -> bus: the band sends a heart-rate notification (timestamped right before
   Bumble's ``notify_subscribers``); we measure when BandLink's notification callback
   stamped it (``HeartRateSample.mono``) and when the sample arrived on the bus.
b. cue -> band: ``BandLink.run_cue`` (timestamped right before the call) to the band's
   ``Vibration.mono`` for that write.

Events go one at a time: the next is sent once the previous one has arrived. Each
notification carries a tag in its energy-expended field so it is told apart from the
band's own once-a-second packets; cues use a profile with one write per cue.

Goals: p99 of each way at most 10 ms (the cue-timing goal; the whole stack costs a quarter
of a millisecond, so a miss says the process waited for a core).

    .venv/bin/python -m bench.ble_latency [--events 1000] [--busy]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bumble import gatt
from bumble.device import Device
from bumble.profiles.heart_rate_service import HeartRateService

from bench.common import (
    MS_PER_S,
    HostWatch,
    Summary,
    busy_core,
    conditions,
    exit_status,
    judge,
    ms,
    quiet_logging,
    reproduce,
    table,
)
from companion.ble.link import BandLink
from companion.ble.profiles import DeviceProfile, load_profiles, profile_from_data
from companion.ble.radio import VIRTUAL_TRANSPORT, VirtualRadio, powered_device
from companion.ble.transport import BandChoice, bleak_transport
from companion.ble.virtual_band import BAND_ADDRESS, Vibration, VirtualBand
from companion.ble.wearer import Wearer
from companion.bus import EventBus
from companion.cues import CueName
from companion.events import Event, HeartRateSample

MODULE = "bench.ble_latency"
# What `python -m bench --quick` passes.
QUICK_ARGS = ("--events", "200")
DEFAULT_EVENTS = 1000
GOAL_P99_MS = 10.0
DEFAULT_WARMUP = 20
CONNECT_TIMEOUT_S = 20.0
EVENT_TIMEOUT_S = 5.0
# Tags go in the energy-expended field (uint16); the band's own packets count up from 1.
TAG_BASE = 10_000
TAG_LIMIT = 0xFFFF
SAMPLE_HR_BPM = 62
SAMPLE_RR_S = 0.968

# A band like the virtual one (heart rate + Immediate Alert) whose cues are one write each,
# so every run_cue maps to exactly one receipt at the band.
ONE_WRITE_PROFILE_DATA: dict[str, object] = {
    "title": "Benchmark band: one write per cue",
    "description": "Immediate Alert with a single write per cue, for timing one write.",
    "match": {"required_service_uuids": ["180d", "1802"]},
    "offers": {"heart_rate": True},
    "cues": {
        "breath-in": [{"after_s": 0.0, "characteristic": "2a06", "value": "01"}],
        "breath-out": [{"after_s": 0.0, "characteristic": "2a06", "value": "00"}],
    },
}
ALTERNATING_CUES = (CueName.BREATH_IN, CueName.BREATH_OUT)


def one_write_profile() -> DeviceProfile:
    return profile_from_data(
        ONE_WRITE_PROFILE_DATA, name="bench-one-write", path=Path("bench/ble_latency.py")
    )


@dataclass(frozen=True)
class Latencies:
    """Seconds per event for each leg measured."""

    notify_to_callback: list[float]
    notify_to_bus: list[float]
    cue_to_band: list[float]


@dataclass
class _Rig:
    device: Device
    band: VirtualBand
    link: BandLink
    bus: EventBus
    vibrations: asyncio.Queue[Vibration]


@contextlib.asynccontextmanager
async def _rig(seed: int) -> AsyncIterator[_Rig]:
    """The same wiring as ``companion.ble.transport.band_link`` with ``simulate``, keeping
    the band's Bumble device at hand so notifications can be sent on demand."""
    radio = VirtualRadio()
    bus = EventBus()
    vibrations: asyncio.Queue[Vibration] = asyncio.Queue()
    async with contextlib.AsyncExitStack() as stack:
        device = await stack.enter_async_context(
            powered_device(
                VIRTUAL_TRANSPORT, name="virtual-band", address=BAND_ADDRESS, radio=radio
            )
        )
        band = VirtualBand(device, Wearer(seed=seed), on_vibration=vibrations.put_nowait)
        await band.start()
        stack.push_async_callback(band.stop)
        transport = await stack.enter_async_context(
            bleak_transport(BandChoice(simulate=True), radio)
        )
        link = BandLink(
            bus=bus,
            profiles=load_profiles(None),
            transport=transport,
            profile=one_write_profile(),
        )
        await link.async_start()
        stack.push_async_callback(link.async_stop)
        if not await link.async_wait_connected(CONNECT_TIMEOUT_S):
            raise RuntimeError("the link never reached the virtual band")
        yield _Rig(device, band, link, bus, vibrations)


def _measurement_characteristic(device: Device) -> gatt.Characteristic[bytes]:
    found = device.gatt_server.get_characteristic_attributes(
        gatt.GATT_HEART_RATE_SERVICE, gatt.GATT_HEART_RATE_MEASUREMENT_CHARACTERISTIC
    )
    if found is None:
        raise RuntimeError("the virtual band has no heart-rate measurement characteristic")
    return found[1]


def _tagged_measurement(tag: int) -> bytes:
    # Encoded with Bumble's codec, exactly as the virtual band encodes its own packets.
    measurement = HeartRateService.HeartRateMeasurement(
        heart_rate=SAMPLE_HR_BPM,
        sensor_contact_detected=True,
        energy_expended=tag,
        rr_intervals=[SAMPLE_RR_S],
    )
    return bytes(measurement)


async def _notify_latencies(rig: _Rig, events: int) -> tuple[list[float], list[float]]:
    characteristic = _measurement_characteristic(rig.device)
    arrivals: asyncio.Queue[tuple[float, HeartRateSample]] = asyncio.Queue()

    def on_event(event: Event) -> None:
        if isinstance(event, HeartRateSample) and (event.energy_kj or 0) >= TAG_BASE:
            arrivals.put_nowait((time.monotonic(), event))

    # The band's own packets prove the subscription is in place before we start.
    subscribed = asyncio.Event()

    def on_first(event: Event) -> None:
        if isinstance(event, HeartRateSample):
            subscribed.set()

    unsubscribe_first = rig.bus.subscribe(on_first)
    await asyncio.wait_for(subscribed.wait(), CONNECT_TIMEOUT_S)
    unsubscribe_first()

    unsubscribe = rig.bus.subscribe(on_event)
    to_callback: list[float] = []
    to_bus: list[float] = []
    try:
        for i in range(events):
            tag = TAG_BASE + i % (TAG_LIMIT - TAG_BASE)
            value = _tagged_measurement(tag)
            sent = time.monotonic()
            await rig.device.notify_subscribers(characteristic, value)
            arrived, sample = await asyncio.wait_for(arrivals.get(), EVENT_TIMEOUT_S)
            if sample.energy_kj != tag:
                raise RuntimeError(f"sample {sample.energy_kj} arrived for {tag}")
            to_callback.append(sample.mono - sent)
            to_bus.append(arrived - sent)
    finally:
        unsubscribe()
    return to_callback, to_bus


async def _cue_latencies(rig: _Rig, events: int) -> list[float]:
    latencies: list[float] = []
    while not rig.vibrations.empty():
        rig.vibrations.get_nowait()
    for i in range(events):
        cue = ALTERNATING_CUES[i % len(ALTERNATING_CUES)]
        requested = time.monotonic()
        if not rig.link.run_cue(cue):
            raise RuntimeError(f"the link refused cue {cue}")
        vibration = await asyncio.wait_for(rig.vibrations.get(), EVENT_TIMEOUT_S)
        latencies.append(vibration.mono - requested)
    return latencies


async def measure(events: int, warmup: int, seed: int, host: HostWatch) -> Latencies:
    """Both legs on one rig; the first ``warmup`` events of each are sent but not kept."""
    async with _rig(seed) as rig:
        host.start()
        cb, bus = await _notify_latencies(rig, warmup + events)
        cues = await _cue_latencies(rig, warmup + events)
        await host.stop()
    return Latencies(cb[warmup:], bus[warmup:], cues[warmup:])


def report(result: Latencies) -> str:
    rows = []
    legs = (
        ("band notify -> BandLink callback", result.notify_to_callback),
        ("band notify -> HeartRateSample on bus", result.notify_to_bus),
        ("run_cue -> band receives the write", result.cue_to_band),
    )
    for name, seconds in legs:
        s = Summary.of([x * MS_PER_S for x in seconds])
        rows.append([name, str(s.count), ms(s.p50, 3), ms(s.p99, 3), ms(s.max, 3)])
    return table(["leg", "events", "p50 ms", "p99 ms", "max ms"], rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events per leg")
    parser.add_argument(
        "--warmup", type=int, default=DEFAULT_WARMUP, help="events sent first and not counted"
    )
    parser.add_argument("--seed", type=int, default=7, help="the simulated wearer's seed")
    parser.add_argument(
        "--busy", action="store_true", help="keep one core busy with another process"
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.warmup < 0:
        parser.error("--events must be at least 1 and --warmup at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    with busy_core(args.busy):
        host = HostWatch()
        result = asyncio.run(measure(args.events, args.warmup, args.seed, host))
    command = ["--events", str(args.events), "--warmup", str(args.warmup), "--seed", str(args.seed)]
    if args.busy:
        command.append("--busy")
    print("BLE latency over the in-process virtual radio (one event at a time)")
    print(report(result))
    print(f"Conditions: {conditions(args.busy)}")
    print(f"Machine during the run: {host.describe()}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    legs = (
        ("heart rate, band notify -> bus, p99", result.notify_to_bus),
        ("cue, run_cue -> band receives it, p99", result.cue_to_band),
    )
    verdicts = [
        judge(MODULE, goal, Summary.of(seconds).p99 * MS_PER_S, GOAL_P99_MS, "ms", digits=3)
        for goal, seconds in legs
    ]
    return exit_status(verdicts)


if __name__ == "__main__":
    raise SystemExit(main())
