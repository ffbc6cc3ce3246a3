"""Heart rate from the band to the dashboard: a notification at the band to its SSE event at a
client of ``GET /api/stream``, measured two ways.

a. service: ``companion run --simulate`` as a subprocess (free port, temporary data dir),
   read by a plain HTTP client in this process. The band's send time is not visible from
   outside, so each event's ``wall`` field stands in for it: BandLink stamps it when the
   notification arrives, a fraction of a millisecond after the band sends it in the same
   process (see bench.ble_latency). Latency = the client's ``time.time()`` at receipt minus
   ``wall``. Events come at the band's own pace, once a second.
b. in-process: the same parts ``run_service`` builds (``open_store``, ``build_companion``,
   ``web.create_app``, ``web.server.serve``) in this process, with the virtual band's
   ``notify_subscribers`` wrapped so that every heart-rate notification carries a tag (in its
   energy-expended field) and is timestamped right before it is sent; latency = the SSE
   client's receipt (a thread of this process) minus that stamp. The band's notification
   interval is shortened (``--rate``, 20 a second by default) so a few hundred events take
   seconds, not minutes.

Both run a routine meanwhile (bedtime by default, started again whenever it ends), so the
engine, the recorder and cue events share the loop as they do at the bedside; ``--idle``
leaves it out. Target: p99 under 50 ms.

The service, its API and its stream are reached through ``bench.service_harness``, the
harness the end-to-end tests use too.

    .venv/bin/python -m bench.service_latency [--events 300] [--in-process-events 1000]
        [--rate 20] [--variant both|service|in-process] [--routine bedtime] [--idle]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bumble.profiles.heart_rate_service import HeartRateService

import companion.ble.virtual_band as virtual_band_module
from bench.common import (
    LOOP_PROBE_INTERVAL_S,
    MS_PER_S,
    GcPauses,
    LoopLagProbe,
    Summary,
    Verdict,
    conditions,
    exit_status,
    judge,
    judge_true,
    ms,
    quiet_logging,
    reproduce,
    table,
)
from bench.service_harness import (
    ApiClient,
    RoutineCycler,
    ServiceError,
    SseReader,
    running_service,
)
from companion.ble import uuids
from companion.ble.virtual_band import VirtualBand
from companion.catalogues import Catalogues
from companion.clock import WallClock
from companion.config import Settings
from companion.session.bridge import SessionBridge
from companion.store.opening import Store, open_store
from companion.wiring import build_companion
from web import create_app
from web.server import serve
from web.settings import WebSettings

MODULE = "bench.service_latency"
# What `python -m bench --quick` passes: a check, not figures.
QUICK_ARGS = ("--events", "20", "--in-process-events", "100")
DEFAULT_EVENTS = 300
DEFAULT_IN_PROCESS_EVENTS = 1000
DEFAULT_RATE_HZ = 20.0
DEFAULT_WARMUP = 5
DEFAULT_ROUTINE = "bedtime"
TARGET_P99_MS = 50.0

CONNECT_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 15.0
# How long to wait past the last expected event before giving up on a run.
EVENT_SLACK_S = 60.0

# Tags go in the energy-expended field (uint16); the band's own count stays far below.
TAG_BASE = 10_000
TAG_LIMIT = 0xFFFF
SAMPLE_HR_BPM = 62
SAMPLE_RR_S = 0.968


# --- a. the service as a subprocess ------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRun:
    latencies_s: list[float]
    wall_minus_mono_drift_s: float
    sessions: int


def measure_service(events: int, warmup: int, routine: str | None) -> ServiceRun:
    latencies: list[float] = []
    offset_before = time.time() - time.monotonic()
    with running_service() as service:
        api = service.api()
        api.wait_connected()
        cycler = RoutineCycler(api, [routine] if routine else [])
        deadline = time.monotonic() + (events + warmup) * 1.0 + EVENT_SLACK_S
        stream = SseReader(api, read_timeout_s=None)
        with contextlib.closing(stream):
            # If no event comes at all, the watchdog hangs up rather than wait for ever.
            watchdog = threading.Timer(max(1.0, deadline - time.monotonic()), stream.hang_up)
            watchdog.daemon = True
            watchdog.start()
            cycler.start_next()
            seen = 0
            try:
                for event in stream:
                    cycler.on_event(event)
                    if event.name != "hr":
                        continue
                    seen += 1
                    if seen > warmup:
                        latencies.append(event.received_wall - float(event.data["wall"]))
                    if len(latencies) >= events:
                        break
            finally:
                watchdog.cancel()
                cycler.stop()
        if cycler.failures:
            raise ServiceError(f"routines did not start: {cycler.failures}")
    if len(latencies) < events:
        raise ServiceError(f"only {len(latencies)} of {events} heart-rate events arrived")
    drift = (time.time() - time.monotonic()) - offset_before
    return ServiceRun(latencies, drift, len(cycler.session_ids))


# --- b. in one process, stamped at the band ----------------------------------------------------


def _tagged_measurement(tag: int) -> bytes:
    # Encoded with Bumble's codec, as the virtual band encodes its own packets.
    return bytes(
        HeartRateService.HeartRateMeasurement(
            heart_rate=SAMPLE_HR_BPM,
            sensor_contact_detected=True,
            energy_expended=tag,
            rr_intervals=[SAMPLE_RR_S],
        )
    )


@dataclass
class NotifyStamps:
    """The monotonic time each tagged notification was handed to Bumble, by tag."""

    sent_mono: dict[int, float] = field(default_factory=dict)
    _count: int = 0

    def next_tag(self) -> int:
        tag = TAG_BASE + self._count % (TAG_LIMIT - TAG_BASE)
        self._count += 1
        return tag


def stamp_notifications(band: VirtualBand, stamps: NotifyStamps) -> Callable[[], None]:
    """Wrap the band's ``notify_subscribers`` (bench only): each heart-rate notification is
    sent as a tagged packet and timestamped right before it goes. Returns the undo."""
    device = band._device  # the band keeps its Bumble device private; the bench reaches in
    original = device.notify_subscribers

    async def stamped(attribute: Any, value: Any = None, force: bool = False) -> None:
        if getattr(attribute, "uuid", None) != uuids.HEART_RATE_MEASUREMENT:
            await original(attribute, value, force)
            return
        tag = stamps.next_tag()
        packet = _tagged_measurement(tag)
        stamps.sent_mono[tag] = time.monotonic()
        await original(attribute, packet, force)

    device.notify_subscribers = stamped  # type: ignore[method-assign]

    def undo() -> None:
        device.notify_subscribers = original  # type: ignore[method-assign]

    return undo


@dataclass
class _TaggedReader:
    """The SSE client: a thread that keeps each tagged heart-rate event's receipt time."""

    url: str
    wanted: int
    # tag -> (monotonic receipt, the event's wall field)
    received: dict[int, tuple[float, float]] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _stream: SseReader | None = None

    def run(self) -> None:
        try:
            self._stream = SseReader(ApiClient(self.url), read_timeout_s=None)
            with contextlib.closing(self._stream) as stream:
                for event in stream:
                    if event.name != "hr":
                        continue
                    tag = event.data.get("energy_kj")
                    if isinstance(tag, int) and tag >= TAG_BASE:
                        wall = float(event.data["wall"])
                        self.received[tag] = (event.received_mono, wall)
                        if len(self.received) >= self.wanted:
                            break
        except BaseException as error:  # reported by the caller, on its thread
            self.error = error
        finally:
            self.done.set()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.hang_up()


@dataclass(frozen=True)
class InProcessRun:
    band_to_sse_s: list[float]
    band_to_link_s: list[float]
    lost: int
    rate_hz: float
    loop_lags_s: list[float]
    gc: str = ""


async def _in_process(
    settings: Settings, store: Store, events: int, warmup: int, routine: str | None, rate: float
) -> InProcessRun:
    catalogues = Catalogues.load(settings)
    stamps = NotifyStamps()
    async with build_companion(settings, catalogues=catalogues, store=store) as built:
        core, stack = built.host, built.links
        if stack.band is None:
            raise ServiceError("the simulated link came without its virtual band")
        if not await stack.link.async_wait_connected(CONNECT_TIMEOUT_S):
            raise ServiceError("the link never reached the virtual band")
        undo = stamp_notifications(stack.band, stamps)
        app = create_app(
            SessionBridge(core, asyncio.get_running_loop()),
            store_engine=store.engine,
            settings=WebSettings(),
        )
        server = await asyncio.to_thread(serve, app, "127.0.0.1", 0)
        reader = _TaggedReader(server.url, events + warmup)
        thread = threading.Thread(target=reader.run, name="bench-sse-client", daemon=True)
        probe = LoopLagProbe()
        try:
            probe.start()
            thread.start()
            if routine:
                await core.start_session(routine, pain_before=None)
            timeout = (events + warmup) / rate + EVENT_SLACK_S
            if not await asyncio.to_thread(reader.done.wait, timeout):
                raise ServiceError(f"the SSE client had {len(reader.received)} events")
            if reader.error is not None:
                raise ServiceError(f"the SSE client failed: {reader.error!r}")
        finally:
            await probe.stop()
            reader.stop()
            await asyncio.to_thread(thread.join, HTTP_TIMEOUT_S)
            await asyncio.to_thread(server.close)
            undo()
        clock: WallClock = core.clock
    # In the order the band sent them: tags the client read, past the warm-up.
    sent = sorted(stamps.sent_mono.items(), key=lambda item: item[1])
    read = [(i, tag, at) for i, (tag, at) in enumerate(sent) if tag in reader.received]
    measured = read[warmup : warmup + events]
    if not measured:
        raise ServiceError("no tagged heart-rate event reached the SSE client")
    # Sent between the first and last measured event but never read: dropped on the way.
    lost = measured[-1][0] - measured[0][0] + 1 - len(measured)
    to_sse = [reader.received[tag][0] - at for _, tag, at in measured]
    # The event's wall field is the link's stamp on the core's clock: the same scale here.
    to_link = [reader.received[tag][1] - clock.wall_at(at) for _, tag, at in measured]
    return InProcessRun(to_sse, to_link, lost, rate, probe.lags_s)


def measure_in_process(
    events: int, warmup: int, routine: str | None, rate_hz: float
) -> InProcessRun:
    interval = virtual_band_module.NOTIFY_INTERVAL_S
    virtual_band_module.NOTIFY_INTERVAL_S = 1.0 / rate_hz  # bench only: a faster band
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sse-") as data_dir:
            settings = Settings.build(data_dir=Path(data_dir), simulate=True)
            with open_store(settings) as store, GcPauses().watching() as pauses:
                run = asyncio.run(_in_process(settings, store, events, warmup, routine, rate_hz))
            return dataclasses.replace(run, gc=pauses.describe())
    finally:
        virtual_band_module.NOTIFY_INTERVAL_S = interval


# --- reporting ---------------------------------------------------------------------------------


def _row(name: str, seconds: Sequence[float], note: str) -> list[str]:
    s = Summary.of([x * MS_PER_S for x in seconds])
    return [name, str(s.count), ms(s.p50), ms(s.p99), ms(s.max), ms(s.mean), note]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--events", type=int, default=DEFAULT_EVENTS, help="events measured from the service"
    )
    parser.add_argument(
        "--in-process-events",
        type=int,
        default=DEFAULT_IN_PROCESS_EVENTS,
        help="events measured in one process",
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE_HZ, help="in-process notifications a second"
    )
    parser.add_argument(
        "--warmup", type=int, default=DEFAULT_WARMUP, help="first events not counted"
    )
    parser.add_argument(
        "--variant", choices=("both", "service", "in-process"), default="both", help="which runs"
    )
    parser.add_argument(
        "--routine", default=DEFAULT_ROUTINE, help="the routine run meanwhile, again and again"
    )
    parser.add_argument("--idle", action="store_true", help="run no routine meanwhile")
    args = parser.parse_args(argv)
    if args.events < 1 or args.in_process_events < 1 or args.warmup < 0:
        parser.error("event counts must be at least 1 and --warmup at least 0")
    if not 0 < args.rate <= 100:
        parser.error("--rate must be within (0, 100]")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    routine = None if args.idle else args.routine
    rows: list[list[str]] = []
    notes: list[str] = []
    p99s: list[tuple[str, float]] = []
    delivered: list[Verdict] = []
    if args.variant in ("both", "service"):
        run = measure_service(args.events, args.warmup, routine)
        rows.append(
            _row(
                "service subprocess: BandLink stamp (wall) -> SSE client",
                run.latencies_s,
                "1 event/s",
            )
        )
        p99s.append(("service", Summary.of(run.latencies_s).p99 * MS_PER_S))
        notes.append(
            f"Wall clock against the monotonic clock moved {run.wall_minus_mono_drift_s * 1e3:+.3f}"
            " ms over the service run (the error the wall-time method could carry)"
        )
    if args.variant in ("both", "in-process"):
        inproc = measure_in_process(args.in_process_events, args.warmup, routine, args.rate)
        rows.append(
            _row(
                "in-process: band notify -> SSE client",
                inproc.band_to_sse_s,
                f"{inproc.rate_hz:g} events/s, {inproc.lost} lost",
            )
        )
        rows.append(
            _row("in-process: band notify -> BandLink stamp", inproc.band_to_link_s, "one leg")
        )
        delivered.append(
            judge_true(
                MODULE,
                "no heart-rate event lost on the way",
                inproc.lost == 0,
                f"{inproc.lost} lost",
            )
        )
        p99s.append(("in-process, from the band", Summary.of(inproc.band_to_sse_s).p99 * MS_PER_S))
        lag = Summary.of([x * MS_PER_S for x in inproc.loop_lags_s])
        notes.append(
            f"In-process core loop wake-up lag (a probe sleeping to deadlines "
            f"{LOOP_PROBE_INTERVAL_S:g} s apart, {lag.count} wake-ups): p50 {ms(lag.p50)} ms, "
            f"p99 {ms(lag.p99)} ms, max {ms(lag.max)} ms"
        )
        notes.append(f"In-process garbage collector: {inproc.gc}")
    command = [
        "--events", str(args.events), "--in-process-events", str(args.in_process_events),
        "--rate", f"{args.rate:g}", "--warmup", str(args.warmup), "--variant", args.variant,
    ]  # fmt: skip
    command += ["--idle"] if args.idle else ["--routine", args.routine]
    during = "idle (no routine)" if args.idle else f"while {args.routine} runs back to back"
    print(f"Heart rate, band -> dashboard stream (GET /api/stream), {during}")
    print(table(["path", "events", "p50 ms", "p99 ms", "max ms", "mean ms", "note"], rows))
    for note in notes:
        print(note)
    print(f"Conditions: {conditions(False)}")
    print(f"Reproduce: {reproduce(MODULE, command)}")
    verdicts = [
        judge(MODULE, f"heart rate to the dashboard p99 ({path})", p99, TARGET_P99_MS, "ms")
        for path, p99 in p99s
    ]
    return exit_status(verdicts + delivered)


if __name__ == "__main__":
    raise SystemExit(main())
