"""How long heart rate is kept raw, and folding older between-session samples into minutes.

Samples recorded during a session are kept for good. Between sessions a connected band
sends about one sample a second (86,400 rows a day); those are kept raw for a window
(``raw_heart_days``, 30 days unless the setting says otherwise) and then folded into one
``heart_minutes`` row per band and minute: how many samples were worn and unworn, the
lowest, mean and highest heart rate, and the RMSSD of that minute's cleaned RR intervals
with the number of successive differences behind it, so minutes pool into an hour's or a
night's RMSSD and per-minute means give the resting heart rate just as raw samples do.

Thinning runs off the core loop (the service's upkeep job, on a scheduler thread) in small
batches of whole minutes. Each batch folds, merges with any row already there, and deletes
the samples it folded in one transaction, so a process killed at any point leaves either
the batch done or nothing done, and the next run carries on from the oldest sample left.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import groupby

from sqlalchemy import Connection, Engine, and_, delete, insert, select, tuple_

from companion.heart import physiology
from companion.store.queries import Bind, get_setting, reading
from companion.store.schema import HeartMinute, Sample, table_of

_LOGGER = logging.getLogger(__name__)

RAW_HEART_DAYS_SETTING = "raw_heart_days"
DEFAULT_RAW_HEART_DAYS = 30
# The shortest window accepted: less would fold yesterday's night before anyone looked.
MIN_RAW_HEART_DAYS = 2
SECONDS_PER_MINUTE = 60
SECONDS_PER_DAY = 86_400
# An hour of one-a-second samples per transaction: a few milliseconds of lock on SQLite,
# so the recorder never waits long for its own writes.
DEFAULT_BATCH_MINUTES = 60

_MINUTE_COLUMNS = (
    "device",
    "t",
    "worn",
    "unworn",
    "hr_min",
    "hr_mean",
    "hr_max",
    "rr_count",
    "rr_differences",
    "rmssd_ms",
)


@dataclass(frozen=True)
class HeartMinuteFold:
    """One band's heart over one minute (``t`` is the minute's start, UTC seconds)."""

    device: str
    t: float
    worn: int
    unworn: int
    hr_min: int | None
    hr_mean: float | None
    hr_max: int | None
    rr_count: int
    rr_differences: int
    rmssd_ms: float | None

    def as_row(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _MINUTE_COLUMNS}


@dataclass(frozen=True)
class RawHeartSample:
    """The columns of a sample that folding reads."""

    device: str
    t: float
    hr: int
    contact: bool | None
    rr_ms: Sequence[float]

    @property
    def worn(self) -> bool:
        return self.hr > 0 and self.contact is not False


@dataclass(frozen=True)
class ThinningReport:
    batches: int
    samples_folded: int
    minutes_written: int
    finished: bool  # nothing older than the window is left between sessions


def minute_start(t: float) -> float:
    return float(math.floor(t / SECONDS_PER_MINUTE) * SECONDS_PER_MINUTE)


def raw_heart_cutoff(now: float, raw_days: int) -> float:
    """Samples before this (a whole minute) are folded; later ones stay raw."""
    if raw_days < MIN_RAW_HEART_DAYS:
        raise ValueError(f"raw heart rate must be kept at least {MIN_RAW_HEART_DAYS} days")
    return minute_start(now - raw_days * SECONDS_PER_DAY)


def fold_minutes(samples: Iterable[RawHeartSample]) -> list[HeartMinuteFold]:
    """One fold per band and minute; ``samples`` in time order within each band."""
    ordered = sorted(samples, key=lambda s: (s.device, minute_start(s.t)))
    folds = []
    for (device, start), group in groupby(ordered, key=lambda s: (s.device, minute_start(s.t))):
        minute = list(group)
        worn = [s for s in minute if s.worn]
        rr = [value for s in worn for value in s.rr_ms]
        cleaned = physiology.clean_rr(rr)
        differences = cleaned.successive_differences()
        rates = [s.hr for s in worn]
        folds.append(
            HeartMinuteFold(
                device=device,
                t=start,
                worn=len(worn),
                unworn=len(minute) - len(worn),
                hr_min=min(rates) if rates else None,
                hr_mean=sum(rates) / len(rates) if rates else None,
                hr_max=max(rates) if rates else None,
                rr_count=len(rr),
                rr_differences=len(differences),
                rmssd_ms=(
                    math.sqrt(sum(d * d for d in differences) / len(differences))
                    if differences
                    else None
                ),
            )
        )
    return folds


def merge_folds(a: HeartMinuteFold, b: HeartMinuteFold) -> HeartMinuteFold:
    """The same band and minute folded twice (samples that arrived late): one fold of both."""
    if (a.device, a.t) != (b.device, b.t):
        raise ValueError("only folds of the same band and minute can be merged")
    worn = a.worn + b.worn
    differences = a.rr_differences + b.rr_differences
    square_sum = sum((f.rmssd_ms or 0.0) ** 2 * f.rr_differences for f in (a, b))
    mins = [v for v in (a.hr_min, b.hr_min) if v is not None]
    maxes = [v for v in (a.hr_max, b.hr_max) if v is not None]
    weighted = sum((f.hr_mean or 0.0) * f.worn for f in (a, b))
    return replace(
        a,
        worn=worn,
        unworn=a.unworn + b.unworn,
        hr_min=min(mins) if mins else None,
        hr_mean=weighted / worn if worn else None,
        hr_max=max(maxes) if maxes else None,
        rr_count=a.rr_count + b.rr_count,
        rr_differences=differences,
        rmssd_ms=math.sqrt(square_sum / differences) if differences else None,
    )


def pooled_rmssd(minutes: Iterable[HeartMinuteFold]) -> float | None:
    """RMSSD over many minutes, each weighted by its successive differences."""
    square_sum = 0.0
    differences = 0
    for minute in minutes:
        if minute.rmssd_ms is not None and minute.rr_differences:
            square_sum += minute.rmssd_ms**2 * minute.rr_differences
            differences += minute.rr_differences
    return math.sqrt(square_sum / differences) if differences else None


def raw_heart_days(bind: Bind) -> int:
    """The window from the settings, or the default when unset or unusable."""
    saved = get_setting(bind, RAW_HEART_DAYS_SETTING)
    if isinstance(saved, int) and not isinstance(saved, bool) and saved >= MIN_RAW_HEART_DAYS:
        return saved
    if saved is not None:
        _LOGGER.warning(
            "ignored %s=%r in settings (a whole number of days, at least %d)",
            RAW_HEART_DAYS_SETTING,
            saved,
            MIN_RAW_HEART_DAYS,
        )
    return DEFAULT_RAW_HEART_DAYS


def _parse_rr(text: str | None) -> tuple[float, ...]:
    if not text:
        return ()
    try:
        values = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(values, list):
        return ()
    return tuple(float(v) for v in values if isinstance(v, int | float))


def _raw_samples(connection: Connection, start: float, end: float) -> list[RawHeartSample]:
    rows = connection.execute(
        select(Sample.device, Sample.t, Sample.hr, Sample.contact, Sample.rr_ms)
        .where(Sample.session_id.is_(None), Sample.t >= start, Sample.t < end)
        .order_by(Sample.device, Sample.t, Sample.id)
    )
    return [
        RawHeartSample(device, t, hr, contact, _parse_rr(rr)) for device, t, hr, contact, rr in rows
    ]


def _stored_minutes(
    connection: Connection, keys: Sequence[tuple[str, float]]
) -> dict[tuple[str, float], HeartMinuteFold]:
    if not keys:
        return {}
    found = {}
    columns = [getattr(HeartMinute, name) for name in _MINUTE_COLUMNS]
    rows = connection.execute(
        select(*columns).where(tuple_(HeartMinute.device, HeartMinute.t).in_(keys))
    )
    for row in rows:
        fold = HeartMinuteFold(*row)
        found[(fold.device, fold.t)] = fold
    return found


def thin_one_batch(
    engine: Engine, cutoff: float, batch_minutes: int = DEFAULT_BATCH_MINUTES
) -> tuple[int, int] | None:
    """Fold the oldest between-session samples before ``cutoff``: (samples, minutes) done,
    or None when there were none left. One transaction: all of it happens or none."""
    with engine.begin() as connection:
        # Ordered and limited rather than min(): walks the (session_id, t) index from its
        # start on both backends instead of scanning every sample left to fold.
        oldest = connection.execute(
            select(Sample.t)
            .where(Sample.session_id.is_(None), Sample.t < cutoff)
            .order_by(Sample.session_id, Sample.t)
            .limit(1)
        ).scalar()
        if oldest is None:
            return None
        start = minute_start(oldest)
        end = min(start + batch_minutes * SECONDS_PER_MINUTE, cutoff)
        folds = fold_minutes(_raw_samples(connection, start, end))
        stored = _stored_minutes(connection, [(f.device, f.t) for f in folds])
        merged = [
            merge_folds(stored[(f.device, f.t)], f) if (f.device, f.t) in stored else f
            for f in folds
        ]
        if stored:
            keys = list(stored)
            connection.execute(
                delete(HeartMinute).where(tuple_(HeartMinute.device, HeartMinute.t).in_(keys))
            )
        if merged:
            connection.execute(insert(table_of(HeartMinute)), [f.as_row() for f in merged])
        deleted = connection.execute(
            delete(Sample).where(
                and_(Sample.session_id.is_(None), Sample.t >= start, Sample.t < end)
            )
        ).rowcount
    return deleted, len(merged)


def thin_heart_rate(
    engine: Engine,
    now: float,
    *,
    raw_days: int | None = None,
    batch_minutes: int = DEFAULT_BATCH_MINUTES,
    max_batches: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> ThinningReport:
    """Fold every between-session sample older than the window, a batch at a time.

    ``max_batches`` and ``should_stop`` end a run early (a service stopping); the next run
    starts where this one ended.
    """
    days = raw_heart_days(engine) if raw_days is None else raw_days
    cutoff = raw_heart_cutoff(now, days)
    batches = samples = minutes = 0
    while max_batches is None or batches < max_batches:
        if should_stop():
            break
        done = thin_one_batch(engine, cutoff, batch_minutes)
        if done is None:
            _LOGGER.info("thinning: %d samples folded into %d minutes", samples, minutes)
            return ThinningReport(batches, samples, minutes, finished=True)
        batches += 1
        samples += done[0]
        minutes += done[1]
    _LOGGER.info("thinning paused: %d samples folded into %d minutes", samples, minutes)
    return ThinningReport(batches, samples, minutes, finished=False)


def between_session_minutes(
    bind: Bind, start: float, end: float, device: str | None = None
) -> list[HeartMinuteFold]:
    """Between-session heart rate from ``start`` to ``end``, a fold a minute, whether the
    samples are still raw or were folded already: what night figures should read."""
    with reading(bind) as connection:
        raw = _raw_samples(connection, minute_start(start), end)
        if device is not None:
            raw = [s for s in raw if s.device == device]
        folds = {(f.device, f.t): f for f in fold_minutes(raw)}
        columns = [getattr(HeartMinute, name) for name in _MINUTE_COLUMNS]
        query = select(*columns).where(HeartMinute.t >= minute_start(start), HeartMinute.t < end)
        if device is not None:
            query = query.where(HeartMinute.device == device)
        for row in connection.execute(query):
            stored = HeartMinuteFold(*row)
            key = (stored.device, stored.t)
            folds[key] = merge_folds(stored, folds[key]) if key in folds else stored
    return sorted(folds.values(), key=lambda f: (f.t, f.device))
