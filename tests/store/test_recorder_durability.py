"""The recorder against real failures: a file that turns read-only, a disk that fills, a
process killed with SIGKILL."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.pool import NullPool

from companion.events import SessionState
from companion.store import queries
from companion.store.database import create_engine_for_url, sqlite_url, upgrade_to_head
from companion.store.day_facts import kept_zone
from companion.store.recorder import (
    Recorder,
    StoreHealth,
    mark_interrupted_sessions,
    replay_spilled,
)
from companion.store.schema import Outcome, Sample
from tests.store.conftest import T0, cue, ended, sample, started
from tests.support import skip_without_a_private_tmpfs

WAIT_S = 10.0
CHILD_TIMEOUT_S = 60.0
REPO = Path(__file__).resolve().parents[2]


def sample_hrs(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(select(Sample.hr).order_by(Sample.t)).scalars())


class SwitchableFile:
    """A store file whose writer opens it afresh for every write, read-write or read-only
    as ``mode`` says now: a disk that turns read-only and back. ``reader`` always reads."""

    def __init__(self, tmp_path: Path, mode: str = "rw") -> None:
        self.path = tmp_path / "companion.db"
        upgrade_to_head(sqlite_url(self.path))
        self.mode = mode
        self.writer = create_engine_for_url("sqlite://", creator=self._connect, poolclass=NullPool)
        self.reader = create_engine_for_url(sqlite_url(self.path))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode={self.mode}", uri=True)


def test_a_file_turned_read_only_mid_run_loses_nothing_once_writable_again(
    tmp_path: Path,
) -> None:
    store = SwitchableFile(tmp_path)
    writer, reader = store.writer, store.reader
    changes: list[tuple[bool, str]] = []
    recorder = Recorder(writer, on_health_change=lambda *change: changes.append(change))
    recorder.start()
    try:
        recorder.submit(started("run1", T0))
        for i in range(5):
            recorder.submit(sample(T0 + i, 60 + i))
        assert recorder.flush(WAIT_S)

        store.mode = "ro"
        for i in range(5, 10):
            recorder.submit(sample(T0 + i, 60 + i))
        recorder.submit(cue("run1", 0, T0 + 10, 10.0, 10.0))
        recorder.submit(ended("run1", T0 + 11, SessionState.COMPLETED))
        assert not recorder.flush(WAIT_S)
        assert recorder.health() == StoreHealth(
            False, "cannot write to the store: attempt to write a readonly database", 7, 0
        )
        assert sample_hrs(reader) == [60, 61, 62, 63, 64]

        store.mode = "rw"
        assert recorder.flush(WAIT_S)
    finally:
        recorder.stop()

    assert changes == [
        (False, "cannot write to the store: attempt to write a readonly database"),
        (True, "store ready"),
    ]
    assert recorder.health() == StoreHealth(True, "store ready", 0, 0)
    assert sample_hrs(reader) == list(range(60, 70))
    detail = queries.get_session(reader, "run1")
    assert detail is not None
    assert (detail.outcome, len(detail.cues)) == (Outcome.COMPLETED, 1)
    reader.dispose()


def test_rows_the_store_refuses_at_stop_are_kept_and_written_at_the_next_start(
    tmp_path: Path,
) -> None:
    store = SwitchableFile(tmp_path)
    writer, reader = store.writer, store.reader
    unsaved = tmp_path / "unsaved"
    recorder = Recorder(writer, spill_dirs=[tmp_path / "not-a-dir" / "x", unsaved])
    (tmp_path / "not-a-dir").write_text("a file where a folder would go")
    recorder.start()
    recorder.submit(started("run1", T0))
    recorder.submit(sample(T0, 60))
    assert recorder.flush(WAIT_S)

    store.mode = "ro"
    for i in range(1, 6):
        recorder.submit(sample(T0 + i, 60 + i))
    recorder.submit(ended("run1", T0 + 6, SessionState.INTERRUPTED))
    assert not recorder.stop(timeout=0.5)

    assert recorder.spilled_to is not None and recorder.spilled_to.parent == unsaved
    assert queries.recent_outcomes(reader, 1) == []  # still "running" in the store
    assert replay_spilled(reader, [unsaved]) == 6
    assert sample_hrs(reader) == [60, 61, 62, 63, 64, 65]
    assert queries.recent_outcomes(reader, 1)[0].outcome is Outcome.INTERRUPTED
    assert list(unsaved.iterdir()) == []
    assert replay_spilled(reader, [unsaved]) == 0
    reader.dispose()


def test_samples_between_sessions_the_store_refuses_at_stop_are_kept_and_written_later(
    tmp_path: Path,
) -> None:
    store = SwitchableFile(tmp_path)
    writer, reader = store.writer, store.reader
    unsaved = tmp_path / "unsaved"
    # Between sessions the samples would wait an hour: only the stop writes them.
    recorder = Recorder(writer, spill_dirs=[unsaved], idle_flush_interval_s=3600.0)
    recorder.start()
    for i in range(4):
        recorder.submit(sample(T0 + i, 60 + i))
    deadline = time.monotonic() + WAIT_S
    while recorder.health().buffered < 4 and time.monotonic() < deadline:
        time.sleep(0.01)

    store.mode = "ro"
    assert not recorder.stop(timeout=0.5)

    assert sample_hrs(reader) == []
    assert replay_spilled(reader, [unsaved]) == 4
    assert sample_hrs(reader) == [60, 61, 62, 63]
    reader.dispose()


def test_day_facts_the_store_refused_at_start_are_built_once_it_takes_writes(
    tmp_path: Path,
) -> None:
    store = SwitchableFile(tmp_path, mode="ro")
    writer, reader = store.writer, store.reader
    recorder = Recorder(writer, tz=ZoneInfo("Europe/Berlin"))
    recorder.start()
    try:
        recorder.submit(started("run1", T0))
        assert not recorder.flush(WAIT_S)
        with reader.connect() as connection:
            assert kept_zone(connection) is None

        store.mode = "rw"
        assert recorder.flush(WAIT_S)
    finally:
        recorder.stop()

    with reader.connect() as connection:
        assert kept_zone(connection) == "Europe/Berlin"
    reader.dispose()


def test_a_kept_file_that_cannot_be_read_is_set_aside(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "companion.db")
    upgrade_to_head(url)
    engine = create_engine_for_url(url)
    (tmp_path / "unsaved-1.jsonl").write_text("{not json\n")

    assert replay_spilled(engine, [tmp_path]) == 0
    assert [p.name for p in tmp_path.glob("unsaved-*")] == ["unsaved-1.bad"]
    engine.dispose()


# The child limits its own file size to nothing (as a full disk would), records, lifts the
# limit again and reports what the recorder saw.
DISK_FULL_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys
    from companion.events import SessionState
    from companion.store.recorder import Recorder
    from tests.store.conftest import T0, ended, sample, started

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, do not kill us
    changes = []
    recorder = Recorder(sys.argv[1], on_health_change=lambda *c: changes.append(c))
    recorder.start()
    recorder.submit(started("run1", T0))
    for i in range(5):
        recorder.submit(sample(T0 + i, 60 + i))
    first = recorder.flush(10)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    for i in range(5, 10):
        recorder.submit(sample(T0 + i, 60 + i))
    recorder.submit(ended("run1", T0 + 10, SessionState.COMPLETED))
    while_full = recorder.flush(10)
    health_full = recorder.health()
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    after = recorder.flush(10)
    stopped = recorder.stop()
    print(json.dumps({
        "flushes": [first, while_full, after, stopped],
        "health_full": [health_full.ok, health_full.buffered, health_full.dropped],
        "health_changes": [ok for ok, _ in changes],
        "health_end": list(recorder.health()),
    }))
    """
)


@pytest.mark.slow
def test_a_full_disk_mid_run_loses_nothing_once_space_returns(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "companion.db")
    upgrade_to_head(url)

    child = subprocess.run(
        [sys.executable, "-c", DISK_FULL_CHILD, url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )

    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout) == {
        "flushes": [True, False, True, True],
        "health_full": [False, 6, 0],
        "health_changes": [False, True],
        "health_end": [True, "store ready", 0, 0],
    }
    engine = create_engine_for_url(url)
    assert sample_hrs(engine) == list(range(60, 70))
    assert queries.recent_outcomes(engine, 1)[0].outcome is Outcome.COMPLETED
    engine.dispose()


# Runs in a mount namespace of its own on a 2 MiB tmpfs: fills the disk with a ballast file
# while recording, keeps recording (a backlog builds up in memory), then frees a little
# space (argv[2] KiB: less than the backlog needs in one transaction on top of the WAL the
# failed writes left behind) and reports what the recorder managed.
SMALL_DISK_CHILD = textwrap.dedent(
    """
    import json, os, shutil, sys
    from sqlalchemy import text
    from companion.events import SessionState
    from companion.store.database import create_engine_for_url, upgrade_to_head
    from companion.store.recorder import Recorder
    from tests.store.conftest import T0, ended, sample, started

    folder, freed_kib = sys.argv[1], int(sys.argv[2])
    url = f"sqlite:///{folder}/companion.db"
    upgrade_to_head(url)
    reader = create_engine_for_url(url)
    with reader.connect() as connection:  # as the dashboard's pool keeps one open
        connection.execute(text("SELECT 1"))
    recorder = Recorder(url, flush_interval_s=0.05)
    recorder.start()
    recorder.submit(started("run1", T0))
    assert recorder.flush(10)
    ballast = os.path.join(folder, "ballast")
    with open(ballast, "wb") as handle:
        handle.write(bytes(shutil.disk_usage(folder).free - 96 * 1024))
    i = 0
    while True:
        recorder.submit(sample(T0 + i, 60 + i % 50))
        i += 1
        if i % 20 == 0 and not recorder.flush(5):
            break
    for _ in range(3000):
        recorder.submit(sample(T0 + i, 60 + i % 50))
        i += 1
    full = recorder.flush(5)
    os.truncate(ballast, os.path.getsize(ballast) - freed_kib * 1024)
    recovered = recorder.flush(30)
    recorder.submit(ended("run1", T0 + i, SessionState.COMPLETED))
    stopped = recorder.stop(10)
    with reader.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM samples")).scalar_one()
        outcome = connection.execute(text("SELECT outcome FROM sessions")).scalar_one()
    print(json.dumps({
        "flushes": [full, recovered, stopped], "lost": i - stored, "outcome": outcome,
        "health_end": list(recorder.health()),
    }))
    """
)
SMALL_DISK_KIB = 2048
FREED_KIB = 224


@pytest.mark.slow
def test_a_full_disk_with_a_little_space_freed_recovers_every_row(tmp_path: Path) -> None:
    skip_without_a_private_tmpfs()
    folder = tmp_path / "disk"
    folder.mkdir()
    script = (
        f"mount -t tmpfs -o size={SMALL_DISK_KIB}k tmpfs {folder} && "
        f'exec "{sys.executable}" -c "$0" {folder} {FREED_KIB}'
    )
    child = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, SMALL_DISK_CHILD],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )

    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout.splitlines()[-1]) == {
        "flushes": [False, True, True],
        "lost": 0,
        "outcome": "completed",
        "health_end": [True, "store ready", 0, 0],
    }


# Records a sample every 20 ms, numbered in energy_kj, until killed.
KILLED_CHILD = textwrap.dedent(
    """
    import sys, time
    from companion.store.recorder import Recorder
    from tests.store.conftest import T0, sample, started

    recorder = Recorder(sys.argv[1])
    recorder.start()
    recorder.submit(started("run1", time.time()))
    print("recording", flush=True)
    i = 0
    while True:
        recorder.submit(sample(time.time(), 60, energy_kj=i))
        i += 1
        time.sleep(0.02)
    """
)
RUN_BEFORE_KILL_S = 2.0
MAY_LOSE_S = 1.0


@pytest.mark.slow
def test_a_killed_process_loses_at_most_the_last_second_and_is_marked_interrupted(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path / "companion.db")
    upgrade_to_head(url)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "recording\n"
        time.sleep(RUN_BEFORE_KILL_S)
        killed_at = time.time()
        child.send_signal(signal.SIGKILL)
        child.wait(CHILD_TIMEOUT_S)
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()

    engine = create_engine_for_url(url)
    with engine.connect() as connection:
        rows = connection.execute(select(Sample.energy_kj, Sample.t).order_by(Sample.t)).all()
    numbers = [number for number, _ in rows]
    last_t = rows[-1][1]
    assert numbers == list(range(len(numbers)))  # nothing missing before the last one kept
    assert last_t >= killed_at - MAY_LOSE_S

    assert mark_interrupted_sessions(engine, now_wall=time.time()) == ["run1"]
    (summary,) = queries.list_sessions(engine)
    assert (summary.outcome, summary.ended_at) == (Outcome.INTERRUPTED, last_t)
    engine.dispose()


@pytest.mark.postgres
def test_a_postgres_connection_cut_mid_run_loses_nothing(postgres_url: str) -> None:
    upgrade_to_head(postgres_url)
    name = f"recorder-{uuid.uuid4().hex[:8]}"
    writer = create_engine_for_url(postgres_url, connect_args={"application_name": name})
    admin = create_engine_for_url(postgres_url)
    recorder = Recorder(writer)
    recorder.start()
    try:
        recorder.submit(started("run1", T0))
        recorder.submit(sample(T0, 60))
        assert recorder.flush(WAIT_S)
        with admin.begin() as connection:
            cut = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar_one()
        assert cut == 1

        recorder.submit(sample(T0 + 1, 61))
        recorder.submit(ended("run1", T0 + 2, SessionState.COMPLETED))
        assert recorder.flush(WAIT_S)
    finally:
        recorder.stop()
        writer.dispose()

    assert sample_hrs(admin) == [60, 61]
    assert queries.recent_outcomes(admin, 1)[0].outcome is Outcome.COMPLETED
    assert recorder.health().dropped == 0
    admin.dispose()
