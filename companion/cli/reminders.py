"""Reminders and the morning summary, read and edited in the store directly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from companion.cli.common import (
    EXIT_USAGE,
    data_dir_option,
    db_option,
    routine_by_name_or_file,
    settings_for,
    store_engine,
)

MAX_ROW_ID = 2**63 - 1


@click.group()
def remind() -> None:
    """Bedtime and morning reminders (the running service picks up changes within 30 s)."""


@remind.command("list")
@db_option
@data_dir_option
def remind_list(db_url: str | None, data_dir: Path | None) -> None:
    """Show every reminder."""
    from companion.store.reminders import list_reminders

    engine = store_engine(settings_for(data_dir, db_url=db_url))
    reminders = list_reminders(engine)
    engine.dispose()
    if not reminders:
        click.echo("No reminders yet. Add one: companion remind add --at 21:30 --routine bedtime")
    for r in reminders:
        state = "" if r.enabled else "  (off)"
        click.echo(f"{r.id:>3}  {r.at:%H:%M}  {','.join(r.days):<27}  {r.routine}{state}")


@remind.command("add")
@click.option("--at", "at_text", required=True, metavar="HH:MM", help="Time on a 24-hour clock.")
@click.option("--days", metavar="mon,tue,...", help="Weekdays (default: every day).")
@click.option("--routine", required=True, help="The routine the reminder names.")
@db_option
@data_dir_option
def remind_add(
    at_text: str, days: str | None, routine: str, db_url: str | None, data_dir: Path | None
) -> None:
    """Add a reminder."""
    from companion.clock import WallClock
    from companion.reminders.model import parse_days, parse_time
    from companion.store.reminders import add_reminder

    settings = settings_for(data_dir, db_url=db_url)
    try:
        at, weekdays = parse_time(at_text), parse_days(days)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    routine_by_name_or_file(settings, routine)  # must exist
    engine = store_engine(settings)
    try:
        added = add_reminder(
            engine, at=at, days=weekdays, routine=routine, now_wall=WallClock().now()
        )
    finally:
        engine.dispose()
    click.echo(f"Added reminder {added.id}: {at:%H:%M} on {','.join(weekdays)} for {routine}.")


@remind.command("remove")
@click.argument("reminder_id", type=int)
@db_option
@data_dir_option
def remind_remove(reminder_id: int, db_url: str | None, data_dir: Path | None) -> None:
    """Remove a reminder by its number."""
    from companion.store.reminders import remove_reminder

    engine = store_engine(settings_for(data_dir, db_url=db_url))
    try:
        # Reminder numbers are database integers; a larger number names no reminder.
        removed = 0 < reminder_id <= MAX_ROW_ID and remove_reminder(engine, reminder_id)
    finally:
        engine.dispose()
    if not removed:
        click.echo(f"error: no reminder {reminder_id}", err=True)
        raise SystemExit(EXIT_USAGE)
    click.echo(f"Removed reminder {reminder_id}.")


@click.command()
@click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Which morning (default: today)."
)
@click.option("--json", "as_json", is_flag=True, help="The summary as JSON.")
@db_option
@data_dir_option
def summary(
    day: dt.datetime | None, as_json: bool, db_url: str | None, data_dir: Path | None
) -> None:
    """The morning summary: last evening's and this morning's sessions, heart rate, trends."""
    import tzlocal

    from companion.store.summary_facts import summary_for
    from companion.summary.morning import TREND_DAYS, format_summary_text

    tz = tzlocal.get_localzone()
    now = dt.datetime.now(tz)
    # A summary looks a week back, and the store's times start at 1970.
    first_day = dt.date(1970, 1, 1) + dt.timedelta(days=TREND_DAYS)
    if day is not None and day.date() < first_day:
        click.echo(
            f"error: there are no summaries before {first_day.isoformat()} "
            "(give --date as YYYY-MM-DD, or leave it out for today)",
            err=True,
        )
        raise SystemExit(EXIT_USAGE)
    engine = store_engine(settings_for(data_dir, db_url=db_url))
    try:
        result = summary_for(engine, day.date() if day else now.date(), tz, now)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(format_summary_text(result))
