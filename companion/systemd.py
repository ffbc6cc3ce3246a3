"""A systemd user unit so the companion starts at boot on a bedside computer."""

from __future__ import annotations

import shlex
from pathlib import Path

UNIT_NAME = "bedside-companion.service"

_TEMPLATE = """\
[Unit]
Description=Bedside back-care companion
After=bluetooth.target network-online.target
Wants=bluetooth.target

[Service]
Type=simple
ExecStart={exec_start}
Restart=on-failure
RestartSec=5
# The dashboard stays on 127.0.0.1 unless --host is added (which then needs the token).

[Install]
WantedBy=default.target
"""


def render_unit(*, companion: Path, simulate: bool) -> str:
    args = [str(companion), "run"] + (["--simulate"] if simulate else [])
    return _TEMPLATE.format(exec_start=shlex.join(args))


def user_unit_dir() -> Path:
    return Path.home() / ".config" / "systemd" / "user"


def install_user_unit(unit: str, unit_dir: Path | None = None) -> tuple[Path, list[str]]:
    """Write the unit; returns where, and the commands that enable it."""
    directory = unit_dir or user_unit_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / UNIT_NAME
    path.write_text(unit)
    return path, [
        "systemctl --user daemon-reload",
        f"systemctl --user enable --now {UNIT_NAME}",
        "loginctl enable-linger $USER   # so it starts at boot without logging in",
    ]
