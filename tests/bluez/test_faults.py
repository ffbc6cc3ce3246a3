"""Faults at the operating system's Bluetooth boundary, each against a companion streaming
through bleak's BlueZ backend: after each, the stream goes on and the link says what happened."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bluez.conftest import COMPANION
from tests.bluez.harness import BlueZWorld
from tests.bluez.objects import (
    ERROR_FAILED,
    ERROR_IN_PROGRESS,
    LE_CONNECTION_ABORT_BY_LOCAL,
)
from tests.e2e.live import OutputLines
from tests.support import wait_until

pytestmark = pytest.mark.slow

FIRST_SAMPLE_S = 20.0
# The link's silence watchdog reconnects after 10 s without data; a stack that never
# confirms the disconnect costs it up to 5 s more; then scanning and connecting again.
RECOVERY_S = 30.0


class Watch:
    """``companion watch --jsonl`` with no --hci and no end, read as it streams."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [*COMPANION, "watch", "--jsonl"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout = OutputLines(self.process.stdout, "watch-stdout")
        self.stderr = OutputLines(self.process.stderr, "watch-stderr")

    def samples(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.lines() if line.startswith("{")]

    def links(self) -> list[str]:
        """The link states it reported, in order (``link: STATE detail`` on stderr)."""
        return [m.group(1) for line in self.stderr.lines() if (m := _LINK.match(line))]

    def wait_for_samples(self, count: int, timeout: float, what: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.samples()) < count:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{what}: no heart rate within {timeout} s\n{self.log()}")
            time.sleep(0.1)
        return self.samples()

    def wait_for_link(self, state: str, timeout: float) -> None:
        """Until the link's latest reported state is ``state``."""
        deadline = time.monotonic() + timeout
        while not self.links() or self.links()[-1] != state:
            if time.monotonic() > deadline:
                raise AssertionError(f"the link did not become {state!r}\n{self.log()}")
            time.sleep(0.1)

    def stream_resumes(self, timeout: float, what: str) -> None:
        """At least two more samples than now, as a band streaming again gives."""
        self.wait_for_samples(len(self.samples()) + 2, timeout, what)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stdout.join(5)
        self.stderr.join(5)
        return self.process.returncode

    def log(self) -> str:
        return f"--- stdout ---\n{self.stdout.text()}\n--- stderr ---\n{self.stderr.text()}"


_LINK = re.compile(r"link: (\w+)")


@pytest.fixture
def watch(world: BlueZWorld, companion_env: dict[str, str]) -> Iterator[Watch]:
    running = Watch(companion_env)
    try:
        yield running
    finally:
        running.stop()


def streaming(watch: Watch) -> None:
    watch.wait_for_samples(2, FIRST_SAMPLE_S, "the band before the fault")


def test_bluetoothd_going_away_and_coming_back(world: BlueZWorld, watch: Watch) -> None:
    streaming(watch)

    world.restart_bluetoothd(away_s=2.0)

    watch.stream_resumes(RECOVERY_S, "after bluetoothd came back")
    watch.wait_for_link("reconnected", 5)
    # Lost at once, with the reason, rather than "silent" until the watchdog gives up; then
    # "unavailable" while bluetoothd is away, not a connection to what bleak remembers.
    assert "link: lost bluetoothd left the system bus" in watch.stderr.lines(), watch.log()
    links = watch.links()
    assert "silent" not in links, watch.log()
    after = links[links.index("lost") :]
    assert "unavailable" in after, watch.log()
    assert "connecting" not in after[: after.index("unavailable")], watch.log()
    assert world.band_connected()
    assert watch.stop() == 0, watch.log()


def test_adapter_powered_off_and_on_during_a_session(
    world: BlueZWorld, companion_env: dict[str, str], short_routine: Path
) -> None:
    session = subprocess.Popen(
        [*COMPANION, "session", "--routine", str(short_routine), "--jsonl"],
        env=companion_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = OutputLines(session.stdout, "session-stdout")
    err = OutputLines(session.stderr, "session-stderr")

    def events() -> list[dict[str, Any]]:
        return [json.loads(line) for line in out.lines() if line.startswith("{")]

    def links() -> list[str]:
        return [e["state"] for e in events() if e["type"] == "link"]

    def felt() -> list[tuple[float, str]]:
        return world.call(lambda: [(v.wall, v.value.hex()) for v in world.band.vibrations])

    try:
        wait_until(lambda: len(felt()) >= 2, 30, "the routine's first cues on the wrist")
        world.set_powered(False)
        wait_until(lambda: "lost" in links(), 5, "the link saying it was lost")
        assert not world.band_connected()
        time.sleep(1.0)
        powered_on_at = time.time()
        world.set_powered(True)
        wait_until(lambda: "reconnected" in links(), RECOVERY_S, "the link coming back")
        # The dropped connection's D-Bus client was let go: bluetoothd holds one notify
        # session, the live one, not one more per reconnect.
        wait_until(lambda: world.value_subscribers() == 1, 5, "one notify session in bluez")
        session.wait(60)
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
        out.join(5)
        err.join(5)

    log = "\n".join([*out.lines()[-30:], *err.lines()[-20:]])
    assert session.returncode == 0, log
    assert [e["state"] for e in events() if e["type"] == "state"] == ["running", "completed"], log
    states = links()
    assert "reconnected" in states[states.index("lost") :], log
    plan = next(e["plan"] for e in events() if e["type"] == "session")
    planned = [w["value"] for cue in plan["cues"] for w in cue["writes"]]
    received = felt()
    # What the wrist felt came in the plan's order; cues due while the adapter was off were
    # not sent late, and the routine's cues reached the band again once it was back.
    assert _in_order([value for _, value in received], planned), log
    assert any(at > powered_on_at for at, _ in received), log


def _in_order(felt: list[str], planned: list[str]) -> bool:
    remaining = iter(planned)
    return all(any(value == want for want in remaining) for value in felt)


def test_connect_failing_in_progress(world: BlueZWorld, companion_env: dict[str, str]) -> None:
    # Two in a row: bleak-retry-connector's own attempts are used up and the link's
    # supervisor has to try again.
    world.fail_next_connects((ERROR_IN_PROGRESS, "In Progress"), (ERROR_IN_PROGRESS, "In Progress"))
    watch = Watch(companion_env)
    try:
        watch.wait_for_samples(3, FIRST_SAMPLE_S, "after Connect failed twice")
        assert world.calls().connect >= 3
        watch.wait_for_link("connected", 5)
    finally:
        assert watch.stop() == 0, watch.log()


def test_connect_aborted_by_local(world: BlueZWorld, companion_env: dict[str, str]) -> None:
    world.fail_next_connects((ERROR_FAILED, LE_CONNECTION_ABORT_BY_LOCAL))
    watch = Watch(companion_env)
    try:
        watch.wait_for_samples(2, FIRST_SAMPLE_S, "after Connect was aborted")
        # The aborted attempt's Connected true/false belongs to that attempt: the link
        # that came up afterwards stays up (it was reported lost at once when it did not).
        watch.stream_resumes(5, "on the link that came up after the abort")
        assert "lost" not in watch.links(), watch.log()
        assert world.calls().connect == 2
    finally:
        assert watch.stop() == 0, watch.log()


def test_services_never_resolved(world: BlueZWorld, watch: Watch) -> None:
    streaming(watch)
    world.never_resolve_next_connections(1)

    world.drop_band_link(away_s=0.5)

    # The link gives connecting and resolving 10 s, then drops it and tries afresh.
    watch.stream_resumes(RECOVERY_S, "after services never resolved on one connection")
    watch.wait_for_link("reconnected", 5)
    assert world.calls().connect == 3
    assert world.band_connected()


def test_band_connected_but_silent(world: BlueZWorld, watch: Watch) -> None:
    streaming(watch)

    world.mute_band()

    watch.stream_resumes(RECOVERY_S, "after the band went quiet")
    watch.wait_for_link("reconnected", 5)
    links = watch.links()
    assert "silent" in links and "lost" in links, watch.log()
    assert world.calls().connect == 2


def test_device_removed_from_the_cache_while_connected(world: BlueZWorld, watch: Watch) -> None:
    streaming(watch)

    world.forget_band()

    watch.stream_resumes(RECOVERY_S, "after the device was removed from BlueZ")
    watch.wait_for_link("reconnected", 5)
    # bleak tells no client about the removal; the link hears it from the bus at once.
    assert "link: lost the band was removed from BlueZ" in watch.stderr.lines(), watch.log()
    assert "silent" not in watch.links(), watch.log()
    assert world.band_connected()


def test_a_band_left_connected_by_a_killed_companion_is_picked_up_again(
    world: BlueZWorld, watch: Watch, companion_env: dict[str, str]
) -> None:
    streaming(watch)
    watch.process.kill()  # no goodbye: bluetoothd keeps the link, and a connected band is silent
    watch.stop()
    wait_until(lambda: world.value_subscribers() == 0, 5, "bluetoothd dropping the dead session")
    assert world.band_connected()

    again = Watch(companion_env)
    try:
        again.wait_for_samples(2, FIRST_SAMPLE_S, "from the band still connected to the system")
        again.wait_for_link("connected", 5)
    finally:
        assert again.stop() == 0, again.log()
