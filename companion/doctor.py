"""``companion doctor``: look at everything the companion needs and say in plain words
what to fix. Each check is independent and never raises."""

from __future__ import annotations

import asyncio
import enum
import os
import shutil
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from companion.config import Settings

MIN_FREE_DISK_BYTES = 200 * 1024 * 1024
SYS_BLUETOOTH = Path("/sys/class/bluetooth")
NO_ADAPTER_FIX = "plug in a Bluetooth dongle, or try the virtual band: companion run --simulate"


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    fix: str = ""


def check_python() -> Check:
    # The package refuses to install on anything older than 3.11, so this only reports.
    return Check("python", Status.OK, f"Python {'.'.join(map(str, sys.version_info[:3]))}")


def check_data_dir(settings: Settings) -> Check:
    from companion.errors import CompanionError

    path = settings.data_dir
    try:
        settings.ensure_data_dir()
    except CompanionError as exc:
        return Check("data dir", Status.FAIL, str(exc.args[0]), exc.advice)
    if not os.access(path, os.W_OK):
        return Check(
            "data dir",
            Status.FAIL,
            f"{path} is not writable",
            f"run: chmod u+w {path}  (or choose another --data-dir)",
        )
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_DISK_BYTES:
        return Check(
            "data dir",
            Status.WARN,
            f"{path}: only {free // 2**20} MiB free",
            "free some disk space; sessions wait in memory while the disk is full",
        )
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return Check(
            "data dir",
            Status.WARN,
            f"{path} can be read by other users ({mode:o})",
            f"run: chmod 700 {path}",
        )
    return Check("data dir", Status.OK, f"{path} ({free // 2**30} GiB free)")


def check_database(settings: Settings) -> Check:
    """Opens the database, reads its schema revision and, for SQLite, runs
    ``PRAGMA quick_check`` (a page-corrupted file is a failure). Never prints a password."""
    from companion.errors import CompanionError
    from companion.store.database import (
        check_url,
        create_engine_for_url,
        current_revision,
        head_revision,
        mask_password,
        quick_check,
        sqlite_path,
        store_problem,
    )

    shown = mask_password(settings.db_url)
    try:
        check_url(settings.db_url)
    except CompanionError as exc:
        return Check("database", Status.FAIL, str(exc.args[0]), exc.advice)
    if not settings.db_path_exists():
        folder = sqlite_path(settings.db_url)
        if folder is not None and not folder.parent.is_dir():
            return Check(
                "database",
                Status.FAIL,
                f"cannot open {shown}: the folder {folder.parent} does not exist",
                "check the --db URL, or create the folder",
            )
        return Check("database", Status.OK, "none yet; it is set up on first start")
    try:
        engine = create_engine_for_url(settings.db_url)
        try:
            findings = quick_check(engine)
            revision = current_revision(engine) if not findings else None
        finally:
            engine.dispose()
    except Exception as exc:
        problem = store_problem(exc, settings.db_url)
        if problem is None:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return Check(
                "database",
                Status.FAIL,
                f"cannot open {shown}: {mask_secrets(first, settings.db_url)}",
                "check the --db URL, the server, and the data dir's permissions",
            )
        return Check("database", Status.FAIL, str(problem.args[0]), problem.advice)
    if findings:
        return Check(
            "database",
            Status.FAIL,
            f"{shown} is damaged: {'; '.join(findings)}",
            "stop the companion, keep a copy, then move the file aside so a new one is made "
            "(or restore a backup)",
        )
    if revision is None:
        return Check("database", Status.OK, "empty; it is set up on first start")
    if revision != head_revision():
        return Check("database", Status.OK, f"at {revision}; upgraded on next start")
    return Check("database", Status.OK, f"{shown} (schema {revision}, quick_check ok)")


def mask_secrets(text: str, url: str) -> str:
    """``text`` with the URL's password (if any) replaced, for messages that quote drivers."""
    from sqlalchemy.engine import make_url

    try:
        password = make_url(url).password
    except Exception:
        return text
    return text.replace(str(password), "***") if password else text


def check_profiles_and_routines(settings: Settings) -> Check:
    """Each of the person's files that cannot be used is named with its field; the service
    skips such files and runs with the rest, so this is a warning."""
    from companion.user_files import load_user_catalogues

    loaded = load_user_catalogues(settings.profiles_dir, settings.routines_dir)
    counts = f"{len(loaded.profiles)} device profiles, {len(loaded.routines)} routines"
    if loaded.problems:
        return Check(
            "profiles and routines",
            Status.WARN,
            f"{counts}; skipped: " + "; ".join(str(problem) for problem in loaded.problems),
            "fix or remove the file(s) named above; everything else works meanwhile",
        )
    return Check("profiles and routines", Status.OK, counts)


def check_adapters() -> Check:
    if not SYS_BLUETOOTH.is_dir():
        return Check(
            "bluetooth adapters",
            Status.WARN,
            "no Bluetooth adapter seen by the kernel",
            NO_ADAPTER_FIX,
        )
    adapters = sorted(p.name for p in SYS_BLUETOOTH.iterdir() if p.name.startswith("hci"))
    if not adapters:
        return Check(
            "bluetooth adapters", Status.WARN, "no Bluetooth adapter found", NO_ADAPTER_FIX
        )
    return Check("bluetooth adapters", Status.OK, ", ".join(adapters))


def check_os_bluetooth_stack(timeout: float = 3.0) -> Check:
    from bleak import BleakScanner

    from companion.ble.availability import bluetooth_unavailable

    async def probe() -> int:
        return len(await BleakScanner.discover(timeout=1.0))

    try:
        found = asyncio.run(asyncio.wait_for(probe(), timeout))
    except Exception as exc:
        missing = bluetooth_unavailable(exc)
        if missing is not None:
            return Check(
                "OS Bluetooth stack", Status.WARN, f"not usable: {missing.args[0]}", missing.advice
            )
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Check(
            "OS Bluetooth stack",
            Status.WARN,
            f"not usable: {reason}",
            "on Linux install and start BlueZ (apt install bluez; systemctl start "
            "bluetooth), or drive a USB dongle directly with --hci usb:0",
        )
    return Check("OS Bluetooth stack", Status.OK, f"scanning works ({found} devices nearby)")


def check_port(settings: Settings) -> Check:
    with socket.socket() as sock:
        try:
            sock.bind((settings.host, settings.port))
        except OSError:
            return Check(
                "dashboard port",
                Status.WARN,
                f"{settings.host}:{settings.port} is in use (is the companion running?)",
                "stop the other program, or use --port",
            )
    return Check("dashboard port", Status.OK, f"{settings.host}:{settings.port} is free")


def run_checks(settings: Settings, *, bluetooth: bool = True) -> list[Check]:
    checks: list[Callable[[], Check]] = [
        check_python,
        lambda: check_data_dir(settings),
        lambda: check_database(settings),
        lambda: check_profiles_and_routines(settings),
        lambda: check_port(settings),
    ]
    if bluetooth:
        checks += [check_adapters, check_os_bluetooth_stack]
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as exc:  # a check that breaks is itself a finding
            text = mask_secrets(f"{type(exc).__name__}: {exc}".splitlines()[0], settings.db_url)
            results.append(Check(getattr(check, "__name__", "check"), Status.FAIL, text))
    return results
