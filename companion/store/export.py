"""Everything the companion stored, as one zip of CSV and JSON a person can open anywhere.

One CSV per table (sessions, steps, cues, samples with their RR intervals, the per-minute
heart rate that older between-session samples were folded into, link and pacing events,
bands and reminders), the settings as JSON, the morning summary of every day that had a
session as JSON lines, a manifest (schema revision, when, how many rows) and a README that
says what every column means. Rows are streamed table by table, so years of samples never
sit in memory at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, select

from companion.store.database import current_revision
from companion.store.schema import (
    Base,
    Cue,
    Device,
    HeartMinute,
    LinkEvent,
    PacingEvent,
    ReminderRow,
    Sample,
    Session,
    Setting,
    Step,
    table_of,
)

_LOGGER = logging.getLogger(__name__)

ROWS_PER_FETCH = 10_000
README_NAME = "README.md"
MANIFEST_NAME = "manifest.json"
SETTINGS_NAME = "settings.json"
SUMMARIES_NAME = "summaries.jsonl"

# Table, and what each of its columns means: the README is written from this, and a test
# checks every column of every table is described, so a new column cannot go unexplained.
COLUMNS: dict[str, dict[str, str]] = {
    "sessions": {
        "id": "the session's id",
        "routine": "the routine's name (taster, bedtime, morning or your own)",
        "title": "the routine's title as shown",
        "level": "the progression level the session was planned at",
        "level_reason": "why that level was chosen",
        "started_at": "start, UTC Unix time in seconds",
        "ended_at": "end, UTC Unix time in seconds (empty while running)",
        "outcome": "running, completed, stopped, pain or interrupted",
        "pain_before": "pain rated before, 0-10 (empty when not rated)",
        "pain_after": "pain rated after, 0-10 (empty when not rated)",
        "device": "the band's address",
        "total_planned_s": "planned length in seconds",
        "plan_json": "the whole plan as JSON (steps, breaths, cues)",
        "pain_step": "the step the pain button was pressed in",
        "pain_at": "when the pain button was pressed, UTC Unix seconds",
    },
    "steps": {
        "session_id": "the session (sessions.id)",
        "idx": "the step's position in the session, from 0",
        "name": "the step's name as shown",
        "exercise": "the exercise's id",
        "side": "left, right or empty",
        "mode": "hold, reps or empty",
        "planned_start_s": "planned start, seconds from the session's start",
        "planned_end_s": "planned end, seconds from the session's start",
        "breaths": "breaths per hold",
        "reps": "repetitions",
        "started_at": "actual start, UTC Unix seconds",
        "ended_at": "actual end, UTC Unix seconds",
    },
    "cues": {
        "id": "row number",
        "session_id": "the session (sessions.id)",
        "step_idx": "the step (steps.idx)",
        "cue": "breath-in, breath-out, hold-end, routine-end, ...",
        "planned_s": "planned time, seconds from the session's start",
        "actual_s": "when it was sent, seconds from the session's start",
        "duration_s": "how long the vibration lasted, seconds",
        "on_wrist": "1 when the band took its writes, 0 when it did not or screen only",
        "at": "when it was sent, UTC Unix seconds",
        "fate": "on the band's one channel: played, delayed, folded, dropped, cut, screen",
        "note": "why it was folded, delayed, dropped or cut",
        "delivery": "pending, sent, acknowledged or failed; empty when not sent",
        "acknowledged": "1 when the band confirmed the writes (profiles writing with response)",
        "first_write_late_s": "how late its first write went out, seconds",
        "failure": "why its writes did not reach the band",
    },
    "samples": {
        "id": "row number",
        "session_id": "the session it belongs to; empty between sessions",
        "device": "the band's address",
        "t": "when it arrived, UTC Unix seconds",
        "hr": "heart rate, beats a minute (0: the band found no beat)",
        "contact": "1 skin contact, 0 none, empty when the band cannot tell",
        "energy_kj": "energy expended, kJ, when the band sends it",
        "rr_ms": "RR intervals (time between beats) as a JSON array of milliseconds",
    },
    "heart_minutes": {
        "t": "the minute's start, UTC Unix seconds",
        "device": "the band's address",
        "worn": "samples in that minute with a beat and skin contact",
        "unworn": "samples without",
        "hr_min": "lowest heart rate of the worn samples",
        "hr_mean": "mean heart rate of the worn samples",
        "hr_max": "highest heart rate of the worn samples",
        "rr_count": "RR intervals received",
        "rr_differences": "successive differences of cleaned RR intervals behind rmssd_ms",
        "rmssd_ms": "RMSSD of the minute's cleaned RR intervals, ms",
    },
    "link_events": {
        "id": "row number",
        "device": "the band's address",
        "t": "UTC Unix seconds",
        "state": "connected, lost, reconnecting, ...",
        "detail": "what happened, in words",
        "session_id": "the session running then, if any",
    },
    "pacing_events": {
        "id": "row number",
        "session_id": "the session (sessions.id)",
        "t": "UTC Unix seconds",
        "exhale_s": "the breath-out length chosen, seconds",
        "reason": "why the pace changed",
    },
    "devices": {
        "address": "the band's address",
        "name": "its advertised name",
        "profile": "the device profile used for it",
        "first_seen": "UTC Unix seconds",
        "last_seen": "UTC Unix seconds",
    },
    "resonance_assessments": {
        "id": "the assessment's number",
        "session_id": "the session it was made in, if any",
        "at": "UTC Unix seconds",
        "verdict": "answered, or why no answer was given",
        "pace_per_min": "the breathing pace found, breaths a minute",
        "confidence": "how sure the answer is, 0-1",
        "inhale_s": "the breath-in length of that pace, seconds",
        "exhale_s": "the breath-out length of that pace, seconds",
        "details_json": "each pace tried, with its figures and quality, as JSON",
    },
    "day_facts": {
        "day": "a local date with a session (in the zone of the day_facts_zone setting)",
        "sessions": "sessions that started that day",
        "counted": "of them, sessions with an exercise step done (they count for the streak)",
        "run_start": "when counted: the first day of the unbroken run of counted days to here",
    },
    "reminders": {
        "id": "the reminder's number",
        "at_time": "HH:MM, local time",
        "days": "weekdays, mon,tue,...",
        "routine": "the routine it starts",
        "enabled": "1 on, 0 off",
        "created_at": "UTC Unix seconds",
    },
}

_FIRST = (Session, Step, Cue, Sample, HeartMinute, LinkEvent, PacingEvent, Device, ReminderRow)
# Every table the models describe goes in, the main ones first; settings go as JSON. A table
# added later is exported without anyone remembering to list it here.
TABLES: tuple[Table, ...] = tuple(table_of(model) for model in _FIRST) + tuple(
    table
    for table in Base.metadata.sorted_tables
    if table.name not in {table_of(m).name for m in (*_FIRST, Setting)}
)

SummaryFor = Callable[[dt.date], dict[str, Any] | None]


@dataclass(frozen=True)
class ExportReport:
    path: Path
    rows: dict[str, int]
    summaries: int


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    return value


def _rows(engine: Engine, table: Table) -> Iterator[tuple[Any, ...]]:
    order = list(table.primary_key.columns)
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=ROWS_PER_FETCH).execute(
            select(table).order_by(*order)
        )
        for row in result:
            yield tuple(row)


def _write_csv(archive: zipfile.ZipFile, engine: Engine, table: Table) -> int:
    count = 0
    with (
        archive.open(f"{table.name}.csv", "w", force_zip64=True) as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
    ):
        writer = csv.writer(text)
        writer.writerow([column.name for column in table.columns])
        for row in _rows(engine, table):
            writer.writerow([_cell(v) for v in row])
            count += 1
    return count


def session_days(engine: Engine, tz: dt.tzinfo) -> list[dt.date]:
    """Every morning whose summary may hold a session, oldest first: the local date each
    session started on and the next (an evening's session is the next morning's news)."""
    with engine.connect() as connection:
        starts = connection.execute(select(Session.started_at)).scalars()
        dates = {dt.datetime.fromtimestamp(t, tz).date() for t in starts}
    return sorted(dates | {d + dt.timedelta(days=1) for d in dates})


def readme_text(revision: str | None, exported_at: dt.datetime) -> str:
    lines = [
        "# Everything the bedside companion stored",
        "",
        f"Exported {exported_at.isoformat(timespec='seconds')}, schema revision {revision}.",
        "",
        "Times are UTC Unix timestamps in seconds (seconds since 1970-01-01 00:00 UTC);",
        "`*_s` columns are seconds from the session's start. An empty cell means no value.",
        "Between sessions, heart rate older than the raw window (30 days unless changed) is",
        "kept as one row a minute in `heart_minutes.csv` instead of in `samples.csv`.",
        "",
        f"- `{SUMMARIES_NAME}`: the morning summary of every day with a session in it, one JSON",
        "  object a line, as the dashboard's `/api/summary/DATE` gives it.",
        f"- `{SETTINGS_NAME}`: the settings (wake time, band, windows), key to value.",
        f"- `{MANIFEST_NAME}`: when, which schema revision, how many rows each file holds.",
        "",
    ]
    for table in TABLES:
        described = COLUMNS.get(table.name, {})
        lines += [f"## {table.name}.csv", "", "| column | meaning |", "| --- | --- |"]
        lines += [
            f"| `{column.name}` | {described.get(column.name, column.comment or '')} |"
            for column in table.columns
        ]
        lines.append("")
    return "\n".join(lines)


def export_all(
    engine: Engine,
    destination: Path,
    *,
    now: dt.datetime,
    tz: dt.tzinfo,
    summary_for: SummaryFor | None = None,
) -> ExportReport:
    """Write the archive to ``destination`` (never overwritten). ``summary_for(day)`` gives a
    day's morning summary as JSON, or None for a day with no session in it; None instead
    of a function leaves the summaries out."""
    destination = destination.expanduser()
    if destination.exists():
        raise FileExistsError(f"{destination} already exists; name a new file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    revision = current_revision(engine)
    rows: dict[str, int] = {}
    summaries = 0
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(README_NAME, readme_text(revision, now))
            for table in TABLES:
                rows[table.name] = _write_csv(archive, engine, table)
            with engine.connect() as connection:
                settings = {
                    key: json.loads(value)
                    for key, value in connection.execute(select(Setting.key, Setting.value))
                }
            archive.writestr(SETTINGS_NAME, json.dumps(settings, indent=2, sort_keys=True))
            with (
                archive.open(SUMMARIES_NAME, "w") as raw,
                io.TextIOWrapper(raw, encoding="utf-8") as text,
            ):
                days = session_days(engine, tz) if summary_for is not None else []
                for day in days:
                    assert summary_for is not None  # days is empty otherwise
                    summary = summary_for(day)
                    if summary is not None:
                        text.write(json.dumps(summary, sort_keys=True) + "\n")
                        summaries += 1
            manifest = {
                "exported_at": now.isoformat(timespec="seconds"),
                "schema_revision": revision,
                "rows": rows,
                "summaries": summaries,
            }
            archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2))
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    _LOGGER.info("exported %s: %s", destination, rows)
    return ExportReport(path=destination, rows=rows, summaries=summaries)
