"""The recorder: the one writer of the store, on its own thread with its own connection.

The core loop hands it events through :meth:`Recorder.submit`, which only enqueues. The
thread turns events into writes and commits them in batches, at most ``flush_interval_s``
after the oldest one arrived, so a killed process loses about that much. Heart-rate
samples between sessions (a band connected while no routine runs, about one a second
around the clock) wait longer: they go at most ``idle_flush_interval_s`` (60 s) after the
oldest of them arrived, or once ``idle_max_rows`` of them are waiting, or with the next
other row, whichever comes first. That is one commit a minute instead of one a second,
and on an SD card a commit costs a few 4 KiB pages of write-ahead log whatever it holds;
a killed process (or a power cut) loses up to that much between-session heart rate.
Stopping writes everything first, as before. When the database refuses writes (read-only,
disk full, PostgreSQL gone) nothing is thrown away: writes wait in memory and are retried
with backoff. Only heart-rate samples beyond ``max_buffer`` are dropped, oldest first and
counted; session, step, cue, link and pacing rows are always kept.

After a failure the rows go in small transactions, session rows first, and SQLite's
write-ahead log is written back and cut before each, so writing resumes as soon as any
disk space is back. Rows still unwritten when the recorder stops are kept in a file
(``spill_dirs``) that the next start writes (:func:`replay_spilled`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import NamedTuple

import tzlocal
from sqlalchemy import Engine, func, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError

from companion.backoff import Backoff
from companion.events import Event
from companion.store.database import checkpoint_wal, create_engine_for_url
from companion.store.day_facts import keep_day_facts, sessions_changed
from companion.store.schema import Cue, Outcome, Sample, Session, Step, table_of
from companion.store.writes import EventTranslator, Write, WriteKind, apply_writes

_LOGGER = logging.getLogger(__name__)

DEFAULT_FLUSH_INTERVAL_S = 0.5
# Between sessions heart-rate samples alone wait this long, or for this many of them:
# after the raw window they are folded into one row a minute anyway.
DEFAULT_IDLE_FLUSH_INTERVAL_S = 60.0
DEFAULT_IDLE_MAX_ROWS = 240
# Ten hours of one-per-second heart rate: a night with the database away.
DEFAULT_MAX_BUFFER = 36_000
# A batch this large is written at once rather than waiting for the interval.
MAX_BATCH_ROWS = 5_000
# While recovering, rows go in transactions this small, so a little free space is enough.
RECOVERY_CHUNK_ROWS = 200
RETRY = Backoff(first_s=0.5, max_s=30.0)
DEFAULT_STOP_TIMEOUT_S = 5.0

HealthCallback = Callable[[bool, str], None]


class StoreHealth(NamedTuple):
    ok: bool
    message: str
    buffered: int  # rows waiting to be written
    dropped: int  # rows given up on since start (oldest samples beyond the bound, bad rows)


class Failure(enum.Enum):
    TRANSIENT = "transient"  # the database is the problem: keep the rows, retry later
    REJECTED = "rejected"  # the rows are the problem: write them one at a time


def classify_failure(exc: BaseException) -> Failure:
    """Whether a failed write should be retried as is or split to find the bad row.

    Every error the database itself reports counts as transient unless it is about a row
    (a constraint, a value out of range): keeping rows the database may never take costs
    bounded memory, dropping good rows costs the record. Errors raised before the
    database saw the rows are about the rows.
    """
    if isinstance(exc, IntegrityError | DataError):
        return Failure.REJECTED
    if isinstance(exc, DBAPIError):
        return Failure.TRANSIENT
    if isinstance(exc, StatementError):
        return Failure.REJECTED  # parameters that never reached the database
    if isinstance(exc, SQLAlchemyError):
        return Failure.TRANSIENT  # pool timeouts, disconnects
    return Failure.REJECTED


def retry_delay_s(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): the one backoff policy."""
    return RETRY.delay_s(attempt)


class _Flush:
    """A request to write everything now; the caller waits for the answer."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._ok = False

    def answer(self, ok: bool) -> None:
        self._ok = ok
        self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout) and self._ok


@dataclasses.dataclass(frozen=True)
class _Stop:
    deadline: float


class Recorder:
    """Writes events to the store from its own thread.

    ``url_or_engine``: a database URL, or an engine the recorder may use exclusively
    (it disposes the engine's pooled connections after a failure so a retry reconnects).
    ``on_health_change(ok, message)`` is called from the recorder's thread whenever the
    store starts or stops accepting writes. ``tz``: the zone the morning summary's day
    facts are kept in (``companion.store.day_facts``), rebuilt when the thread starts if
    they are kept in another; by default the machine's, as the service's summaries use.
    """

    def __init__(
        self,
        url_or_engine: str | URL | Engine,
        *,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        idle_flush_interval_s: float = DEFAULT_IDLE_FLUSH_INTERVAL_S,
        idle_max_rows: int = DEFAULT_IDLE_MAX_ROWS,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        on_health_change: HealthCallback | None = None,
        spill_dirs: Sequence[Path] = (),
        tz: tzinfo | None = None,
    ) -> None:
        if isinstance(url_or_engine, Engine):
            self._engine = url_or_engine
            self._owns_engine = False
        else:
            self._engine = create_engine_for_url(url_or_engine)
            self._owns_engine = True
        self._flush_interval_s = flush_interval_s
        self._idle_flush_interval_s = max(flush_interval_s, idle_flush_interval_s)
        self._idle_max_rows = idle_max_rows
        self._max_buffer = max_buffer
        self._on_health_change = on_health_change
        self._spill_dirs = tuple(spill_dirs)
        self.spilled_to: Path | None = None
        # The zone the morning summary's day facts are kept in: the machine's, as the
        # service's summaries use, unless told otherwise.
        self._tz = tz
        self._day_facts_due = True
        self._inbox: queue.SimpleQueue[Event | _Flush | _Stop] = queue.SimpleQueue()
        self._translator = EventTranslator()
        # Kept apart so samples can be dropped oldest-first without touching the rest;
        # each batch writes the other rows first, so a sample never precedes its session.
        self._writes: list[Write] = []
        self._samples: deque[Write] = deque()
        # When the oldest row waiting arrived: of rows written within flush_interval_s,
        # and of between-session samples (which alone may wait idle_flush_interval_s).
        self._oldest_pending: float | None = None
        self._oldest_idle: float | None = None
        self._idle_waiting = 0
        self._attempt = 0
        self._retry_at = 0.0
        self._lock = threading.Lock()
        self._health = StoreHealth(True, "store ready", 0, 0)
        self._drop_reported = False
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._all_written = False

    # --- called from other threads --------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("recorder already started")
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> None:
        """Queue ``event`` for writing. Never blocks and never raises."""
        try:
            if self._stopped:
                _LOGGER.debug("recorder stopped; %s not recorded", event.kind)
                return
            self._inbox.put(event)
        except Exception:
            _LOGGER.exception("could not queue %r", event)

    def flush(self, timeout: float) -> bool:
        """Write everything submitted so far now; True when it is all in the database."""
        if self._thread is None or not self._thread.is_alive():
            return False
        request = _Flush()
        self._inbox.put(request)
        return request.wait(timeout)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> bool:
        """Write what is left (retrying until ``timeout``) and end the thread.

        Returns True when nothing was left unwritten.
        """
        self._stopped = True
        thread = self._thread
        if thread is None:
            return True
        self._inbox.put(_Stop(time.monotonic() + timeout))
        thread.join(timeout + 1.0)
        if self._owns_engine:
            self._engine.dispose()
        return not thread.is_alive() and self._all_written

    def health(self) -> StoreHealth:
        with self._lock:
            return self._health

    # --- the recorder thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._keep_day_facts()
            self._loop()
        except Exception:
            # Not expected; said out loud so the service can show it rather than go quiet.
            _LOGGER.exception("recorder thread failed")
            self._set_health(False, "the recorder stopped after an internal error")

    def _loop(self) -> None:
        while True:
            item = self._next_item()
            if isinstance(item, Event):
                self._accept(item)
            elif item is not None:
                # Take in everything queued behind the request so the write covers it.
                flushes, stop = self._drain_inbox()
                if isinstance(item, _Flush):
                    flushes.insert(0, item)
                else:
                    stop = item
                if stop is not None:
                    self._all_written = self._finish(stop.deadline)
                    for request in flushes:
                        request.answer(self._all_written)
                    return
                ok = self._flush()
                for request in flushes:
                    request.answer(ok)
                continue
            if self._flush_due():
                self._flush()

    def _next_item(self) -> Event | _Flush | _Stop | None:
        wait = self._seconds_to_next_flush()
        try:
            if wait is None:
                return self._inbox.get()
            return self._inbox.get(timeout=wait) if wait > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return None

    def _next_due(self) -> float | None:
        """When the rows waiting should be written (monotonic); None: nothing waits."""
        dues = []
        if self._oldest_pending is not None:
            dues.append(self._oldest_pending + self._flush_interval_s)
        if self._oldest_idle is not None:
            dues.append(self._oldest_idle + self._idle_flush_interval_s)
        if self._idle_waiting >= self._idle_max_rows:
            dues.append(self._oldest_idle or 0.0)
        return min(dues) if dues else None

    def _seconds_to_next_flush(self) -> float | None:
        """How long to wait for events before a flush is due; None: nothing to flush."""
        due = self._next_due()
        if due is None:
            return None
        return max(0.0, max(due, self._retry_at) - time.monotonic())

    def _flush_due(self) -> bool:
        due = self._next_due()
        if due is None:
            return False
        now = time.monotonic()
        if now < self._retry_at:
            return False
        full = len(self._writes) + len(self._samples) >= MAX_BATCH_ROWS
        return full or now >= due

    def _drain_inbox(self) -> tuple[list[_Flush], _Stop | None]:
        """Accept every queued event; return the requests found among them."""
        flushes: list[_Flush] = []
        stop: _Stop | None = None
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return flushes, stop
            if isinstance(item, Event):
                self._accept(item)
            elif isinstance(item, _Flush):
                flushes.append(item)
            elif stop is None:
                stop = item

    def _accept(self, event: Event) -> None:
        try:
            writes = self._translator.writes_for(event)
        except Exception:
            _LOGGER.exception("cannot record %r", event)
            return
        for write in writes:
            if write.is_sample:
                self._samples.append(write)
            else:
                self._writes.append(write)
            if write.is_sample and write.params.get("session_id") is None:
                self._idle_waiting += 1
                if self._oldest_idle is None:
                    self._oldest_idle = time.monotonic()
            elif self._oldest_pending is None:
                self._oldest_pending = time.monotonic()
        overflow = len(self._samples) - self._max_buffer
        if overflow > 0:
            for _ in range(overflow):
                self._samples.popleft()
            self._count_dropped(overflow, "oldest heart-rate samples beyond the buffer")
        self._publish_counts()

    def _flush(self) -> bool:
        if not self._writes and not self._samples:
            return True
        if self._attempt:
            return self._flush_in_chunks()
        batch = [*self._writes, *self._samples]
        try:
            with self._engine.begin() as connection:
                apply_writes(connection, batch)
        except Exception as exc:
            if classify_failure(exc) is Failure.REJECTED:
                return self._flush_one_by_one()
            self._failed(exc)
            return False
        self._writes.clear()
        self._samples.clear()
        self._succeeded()
        return True

    def _flush_in_chunks(self) -> bool:
        """After a failure: session rows first, then samples, in small transactions kept as
        they succeed. Before each, the SQLite write-ahead log is written back into the file
        and cut to nothing: otherwise the log grows into whatever space came back, the
        file cannot take the log's pages, and a full disk stays full."""
        while self._writes or self._samples:
            if self._writes:
                chunk = self._writes[:RECOVERY_CHUNK_ROWS]
            else:
                count = min(RECOVERY_CHUNK_ROWS, len(self._samples))
                chunk = [self._samples[i] for i in range(count)]
            self._relieve_wal()
            try:
                with self._engine.begin() as connection:
                    apply_writes(connection, chunk)
            except Exception as exc:
                if classify_failure(exc) is Failure.REJECTED:
                    return self._flush_one_by_one()
                self._failed(exc)
                return False
            if self._writes:
                del self._writes[: len(chunk)]
            else:
                for _ in chunk:
                    self._samples.popleft()
            self._publish_counts()
        self._succeeded()
        return True

    def _relieve_wal(self) -> bool:
        """Give the space a SQLite write-ahead log holds back to the disk. True when the
        whole log was written back and cut; False otherwise (or not SQLite)."""
        if self._engine.dialect.name != "sqlite":
            return False
        try:
            return checkpoint_wal(self._engine)
        except Exception as exc:
            _LOGGER.debug("could not checkpoint the write-ahead log: %s", _first_line(exc))
            return False

    def _flush_one_by_one(self) -> bool:
        """Find the rows the database rejects and drop only those.

        Session rows go one per transaction; samples go as one batch and are split only
        if that batch is refused too.
        """
        while self._writes:
            if not self._write_alone(self._writes[0]):
                return False
            self._writes.pop(0)
        if self._samples:
            try:
                with self._engine.begin() as connection:
                    apply_writes(connection, self._samples)
                self._samples.clear()
            except Exception as exc:
                if classify_failure(exc) is Failure.TRANSIENT:
                    self._failed(exc)
                    return False
            while self._samples:
                if not self._write_alone(self._samples[0]):
                    return False
                self._samples.popleft()
        self._succeeded()
        return True

    def _write_alone(self, write: Write) -> bool:
        """Write one row in its own transaction; False when the database is unavailable
        (the row stays), True when it was written or rejected for good."""
        try:
            with self._engine.begin() as connection:
                apply_writes(connection, [write])
        except Exception as exc:
            if classify_failure(exc) is Failure.TRANSIENT:
                self._failed(exc)
                return False
            _LOGGER.error("store rejected %s %s: %s", write.kind.value, write.params, exc)
            self._count_dropped(1, "a row the database rejected")
        return True

    def _failed(self, exc: BaseException) -> None:
        self._attempt += 1
        delay = retry_delay_s(self._attempt)
        self._retry_at = time.monotonic() + delay
        buffered = len(self._writes) + len(self._samples)
        _LOGGER.warning(
            "store write failed (attempt %s, %s rows kept, retry in %.1f s): %s",
            self._attempt,
            buffered,
            delay,
            exc,
        )
        # A fresh connection next time: a replaced file or a restarted server needs one.
        self._engine.dispose()
        self._relieve_wal()
        self._set_health(False, f"cannot write to the store: {_first_line(exc)}")

    def _succeeded(self) -> None:
        recovered = self._attempt > 0
        if self._attempt:
            _LOGGER.info("store writable again after %s failed attempts", self._attempt)
        self._attempt = 0
        self._retry_at = 0.0
        self._oldest_pending = None
        self._oldest_idle = None
        self._idle_waiting = 0
        self._drop_reported = False
        self._set_health(True, "store ready")
        if self._day_facts_due and recovered:
            self._keep_day_facts()

    def _keep_day_facts(self) -> None:
        """The day facts kept in this recorder's zone: built (one transaction) when they
        are kept in another or not yet; when the store refused, tried again once it takes
        writes again."""
        tz = self._tz if self._tz is not None else tzlocal.get_localzone()
        try:
            keep_day_facts(self._engine, tz)
        except Exception as exc:
            _LOGGER.warning("day facts not built yet: %s", _first_line(exc))
            return
        self._day_facts_due = False

    def _finish(self, deadline: float) -> bool:
        """Flush until everything is written or ``deadline`` passes; the last try is at
        the deadline itself."""
        while not self._flush():
            now = time.monotonic()
            if now >= deadline:
                lost = len(self._writes) + len(self._samples)
                self.spilled_to = spill_writes([*self._writes, *self._samples], self._spill_dirs)
                if self.spilled_to is not None:
                    _LOGGER.error(
                        "the store took no writes before stopping; %s rows kept in %s and "
                        "written at the next start",
                        lost,
                        self.spilled_to,
                    )
                else:
                    _LOGGER.error("recorder stopping with %s rows unwritten", lost)
                return False
            time.sleep(min(max(self._retry_at - now, 0.0), deadline - now))
        return True

    def _count_dropped(self, count: int, what: str) -> None:
        with self._lock:
            self._health = self._health._replace(dropped=self._health.dropped + count)
        # Once per outage is enough; the running total is in health().
        if not self._drop_reported:
            self._drop_reported = True
            _LOGGER.warning("dropping %s (and counting)", what)

    def _publish_counts(self) -> None:
        with self._lock:
            self._health = self._health._replace(buffered=len(self._writes) + len(self._samples))

    def _set_health(self, ok: bool, message: str) -> None:
        with self._lock:
            changed = ok != self._health.ok
            self._health = self._health._replace(
                ok=ok, message=message, buffered=len(self._writes) + len(self._samples)
            )
        if changed and self._on_health_change is not None:
            try:
                self._on_health_change(ok, message)
            except Exception:
                _LOGGER.exception("store health listener failed")


SPILL_PREFIX = "unsaved-"
SPILL_SUFFIX = ".jsonl"


def spill_writes(writes: Sequence[Write], folders: Sequence[Path]) -> Path | None:
    """Keep rows the store would not take in a file (one JSON object a line) in the first
    folder that takes it; the next start writes them with :func:`replay_spilled`."""
    if not writes:
        return None
    lines = "".join(
        json.dumps({"kind": w.kind.value, "params": dict(w.params)}, default=str) + "\n"
        for w in writes
    )
    for folder in folders:
        path = folder / f"{SPILL_PREFIX}{time.time_ns()}{SPILL_SUFFIX}"
        partial = path.with_suffix(".partial")
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            partial.write_text(lines, encoding="utf-8")
            partial.replace(path)
        except OSError as exc:
            _LOGGER.warning("could not keep unwritten rows in %s: %s", folder, exc)
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            continue
        return path
    return None


def replay_spilled(engine: Engine, folders: Sequence[Path]) -> int:
    """Write the rows an earlier run kept in files (see :func:`spill_writes`), each file in
    one transaction, and remove it; a file that cannot be read is renamed ``.bad``.
    Returns how many rows went in."""
    written = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"{SPILL_PREFIX}*{SPILL_SUFFIX}")):
            try:
                writes = [
                    Write(WriteKind(entry["kind"]), entry["params"])
                    for entry in map(json.loads, path.read_text(encoding="utf-8").splitlines())
                ]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                _LOGGER.error("cannot read kept rows in %s (%s); renamed .bad", path, exc)
                path.replace(path.with_suffix(".bad"))
                continue
            try:
                with engine.begin() as connection:
                    apply_writes(connection, writes)
            except Exception as exc:
                if classify_failure(exc) is Failure.TRANSIENT:
                    # The store is not taking writes yet: leave the file for the next start.
                    _LOGGER.error("kept rows in %s not written yet: %s", path, _first_line(exc))
                    return written
                _LOGGER.error("the store refused kept rows in %s (%s); renamed .bad", path, exc)
                path.replace(path.with_suffix(".bad"))
                continue
            path.unlink()
            written += len(writes)
            _LOGGER.warning("wrote %s rows kept in %s by an earlier run", len(writes), path)
    return written


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__


def mark_interrupted_sessions(engine: Engine, now_wall: float) -> list[str]:
    """Sessions still ``running`` from an earlier run become ``interrupted``.

    Each ends at the last thing recorded for it (a sample, a cue or a step start), or at
    its start when nothing was; never later than ``now_wall``. Returns their ids.
    """
    sessions = table_of(Session)
    last_sample = (
        select(func.max(Sample.t)).where(Sample.session_id == Session.id).scalar_subquery()
    )
    last_cue = select(func.max(Cue.at)).where(Cue.session_id == Session.id).scalar_subquery()
    last_step = (
        select(func.max(Step.started_at)).where(Step.session_id == Session.id).scalar_subquery()
    )
    with engine.begin() as connection:
        rows = connection.execute(
            select(Session.id, Session.started_at, last_sample, last_cue, last_step)
            .where(Session.outcome == Outcome.RUNNING.value)
            .order_by(Session.started_at)
        ).all()
        for session_id, started_at, *lasts in rows:
            last = max([started_at, *(t for t in lasts if t is not None)])
            connection.execute(
                update(sessions)
                .where(sessions.c.id == session_id)
                .values(
                    outcome=Outcome.INTERRUPTED.value,
                    ended_at=max(started_at, min(last, now_wall)),
                )
            )
            _LOGGER.info("session %s was left running; marked interrupted", session_id)
        sessions_changed(connection, [row[0] for row in rows])
    return [row[0] for row in rows]
