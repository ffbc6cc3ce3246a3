"""Copies of the store: backup, restore and export (see docs/storage.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from companion.cli.common import data_dir_option, db_option, settings_for, store_engine
from companion.errors import SettingError


@click.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@db_option
@data_dir_option
def backup(path: Path | None, db_url: str | None, data_dir: Path | None) -> None:
    """Copy the database to PATH (default: a new file in <data dir>/backups).

    Safe while the service runs: the copy is one consistent moment of the database.
    """
    from companion.store.backup import MANUAL_PREFIX, backup_database, backup_name, backups_dir

    settings = settings_for(data_dir, db_url=db_url)
    now = dt.datetime.now()
    target = path or backups_dir(settings.data_dir) / backup_name(
        settings.db_url, MANUAL_PREFIX, now
    )
    check = backup_database(settings.db_url, target)
    click.echo(f"Backed up to {check.path} ({check.size_bytes / 1e6:.1f} MB).")


@click.command()
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@db_option
@data_dir_option
def restore(path: Path, yes: bool, db_url: str | None, data_dir: Path | None) -> None:
    """Replace the database with the backup at PATH, after checking it.

    Stop the service first. The database being replaced is kept beside it as
    <name>.before-restore-<time>.db, so nothing is lost.
    """
    from companion.store.backup import check_backup, restore_database

    settings = settings_for(data_dir, db_url=db_url)
    check = check_backup(path)
    revision = f", schema revision {check.revision}" if check.revision else ""
    click.echo(f"{path} is a whole backup ({check.size_bytes / 1e6:.1f} MB{revision}).")
    if not yes:
        click.confirm("Replace the current database with it (stop the service first)?", abort=True)
    kept = restore_database(settings.db_url, path, now=dt.datetime.now())
    click.echo(f"Restored from {path}.")
    if kept is not None:
        click.echo(f"The database it replaced is kept as {kept}.")


@click.command()
@click.option("--all", "everything", is_flag=True, help="Every table (required for now).")
@click.option(
    "--output", "-o", type=click.Path(path_type=Path), help="The zip file (default: data dir)."
)
@click.option("--no-summaries", is_flag=True, help="Leave out the morning summaries (faster).")
@db_option
@data_dir_option
def export(
    everything: bool,
    output: Path | None,
    no_summaries: bool,
    db_url: str | None,
    data_dir: Path | None,
) -> None:
    """Write every session, sample, RR interval, cue and summary as a zip of CSV and JSON."""
    import tzlocal

    from companion.store.export import export_all
    from companion.store.summary_facts import summary_for

    if not everything:
        raise SettingError(
            "say what to export", "use --all (one session's CSV is on the dashboard)"
        )
    settings = settings_for(data_dir, db_url=db_url)
    tz = tzlocal.get_localzone()
    now = dt.datetime.now(tz)
    target = output or settings.data_dir / f"companion-export-{now:%Y%m%d-%H%M%S}.zip"
    engine = store_engine(settings)
    try:

        def summary(day: dt.date) -> dict[str, object] | None:
            found = summary_for(engine, day, tz, now)
            return dict(found.to_json()) if found.sessions else None

        report = export_all(
            engine, target, now=now, tz=tz, summary_for=None if no_summaries else summary
        )
    except FileExistsError as exc:
        raise SettingError(str(exc), "name a new file with --output") from None
    finally:
        engine.dispose()
    total = sum(report.rows.values())
    click.echo(f"Exported {total} rows and {report.summaries} summaries to {report.path}.")
