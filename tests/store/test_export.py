"""Export everything: the archive read back holds every row of every table, the settings,
a summary for each day with a session, and a README naming every column."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from companion.cli import main
from companion.events import SessionState
from companion.store.database import head_revision, sqlite_url
from companion.store.export import COLUMNS, TABLES, export_all
from companion.store.retention import thin_heart_rate
from companion.store.schema import Base
from companion.store.setting_writes import put_setting
from tests.store.conftest import T0, cue, ended, record, sample, started, step

TZ = dt.UTC
NOW = dt.datetime(2026, 12, 1, 7, 0, tzinfo=TZ)


def history(engine: Engine) -> None:
    day = 86_400.0
    events: list[Any] = [sample(T0 - 40 * day + i, 55 + i % 5, rr_ms=(1000.0,)) for i in range(120)]
    for n, start in enumerate((T0, T0 + day)):
        run = f"run-{n}"
        events += [
            started(run, start),
            step(run, 0, start),
            sample(start + 1, 72, rr_ms=(830.0, 845.0), contact=None),
            cue(run, 0, start + 30, 30.0, 30.01),
            ended(run, start + 60, SessionState.PAIN if n else SessionState.COMPLETED),
        ]
    record(engine, events)
    thin_heart_rate(engine, T0, raw_days=30)
    put_setting(engine, "wake_time", "06:45")


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def table_rows(engine: Engine) -> dict[str, list[list[str]]]:
    with engine.connect() as connection:
        return {
            table.name: [
                [as_text(v) for v in row]
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in TABLES
        }


def archive_rows(path: Path) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(path) as archive:
        found = {}
        for table in TABLES:
            text = archive.read(f"{table.name}.csv").decode("utf-8")
            header, *rows = list(csv.reader(io.StringIO(text)))
            assert header == [c.name for c in table.columns]
            found[table.name] = rows
        return found


def test_every_table_is_exported_and_reads_back_row_for_row(engine: Engine, tmp_path: Path) -> None:
    history(engine)
    stored = table_rows(engine)
    assert stored["heart_minutes"] and stored["samples"] and stored["cues"]

    report = export_all(engine, tmp_path / "all.zip", now=NOW, tz=TZ)
    with engine.begin() as connection:  # destroy, then compare with what was stored
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())

    assert archive_rows(tmp_path / "all.zip") == stored
    assert report.rows == {name: len(rows) for name, rows in stored.items()}


def test_rr_intervals_survive_as_json_arrays(engine: Engine, tmp_path: Path) -> None:
    history(engine)
    export_all(engine, tmp_path / "all.zip", now=NOW, tz=TZ)
    samples = archive_rows(tmp_path / "all.zip")["samples"]
    rr = [json.loads(row[-1]) for row in samples if row[-1]]
    assert [830, 845] in rr


def test_the_archive_holds_settings_summaries_a_manifest_and_a_readme(
    engine: Engine, tmp_path: Path
) -> None:
    history(engine)
    asked: list[dt.date] = []

    def summary_for(day: dt.date) -> dict[str, Any] | None:
        asked.append(day)
        return {"date": day.isoformat()} if day.day % 2 else None

    report = export_all(engine, tmp_path / "all.zip", now=NOW, tz=TZ, summary_for=summary_for)

    first = dt.datetime.fromtimestamp(T0, TZ).date()
    assert asked == [first + dt.timedelta(days=n) for n in range(3)]
    written = [d for d in asked if d.day % 2]
    assert report.summaries == len(written)
    with zipfile.ZipFile(tmp_path / "all.zip") as archive:
        lines = archive.read("summaries.jsonl").decode().splitlines()
        assert [json.loads(line) for line in lines] == [{"date": d.isoformat()} for d in written]
        assert json.loads(archive.read("settings.json")) == {"wake_time": "06:45"}
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["schema_revision"] == head_revision()
        assert manifest["rows"] == report.rows
        readme = archive.read("README.md").decode()
    for table in TABLES:
        assert f"## {table.name}.csv" in readme
        for column in table.columns:
            assert f"| `{column.name}` |" in readme


def test_every_column_of_every_exported_table_is_described() -> None:
    assert {t.name: [c.name for c in t.columns] for t in TABLES} == {
        name: list(columns) for name, columns in COLUMNS.items()
    }


def test_an_export_never_overwrites_a_file(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "all.zip").write_text("precious")
    with pytest.raises(FileExistsError):
        export_all(engine, tmp_path / "all.zip", now=NOW, tz=TZ)
    assert (tmp_path / "all.zip").read_text() == "precious"
    assert not (tmp_path / "all.zip.partial").exists()


def test_the_export_command_writes_the_archive_with_real_summaries(tmp_path: Path) -> None:
    from companion.store.database import create_engine_for_url, upgrade_to_head

    url = sqlite_url(tmp_path / "companion.db")
    upgrade_to_head(url)
    engine = create_engine_for_url(url)
    history(engine)
    engine.dispose()
    target = tmp_path / "out.zip"

    result = CliRunner().invoke(main, ["export", "--all", "-o", str(target), "--db", url])

    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(target) as archive:
        summaries = [json.loads(x) for x in archive.read("summaries.jsonl").splitlines()]
    first = dt.datetime.fromtimestamp(T0, dt.UTC).date()
    assert len(summaries) >= 2
    assert all(s["sessions"] for s in summaries)
    assert {s["day"] for s in summaries} <= {
        (first + dt.timedelta(days=n)).isoformat() for n in range(-1, 3)
    }


def test_the_export_command_asks_for_all(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "--db", sqlite_url(tmp_path / "x.db")])
    assert result.exit_code != 0
    assert "--all" in result.output


def test_every_table_of_the_schema_is_exported_and_the_settings_as_json() -> None:
    exported = {t.name for t in TABLES}
    assert exported | {"settings"} == set(Base.metadata.tables)
    assert "settings" not in exported
