"""The dashboard token: asked of every browser when the dashboard listens beyond this
machine, made on first need and kept owner-only in the data directory."""

from __future__ import annotations

import os
import secrets

from companion.config import Settings


def load_token(settings: Settings) -> tuple[str, bool]:
    """The dashboard token; (token, newly made)."""
    path = settings.token_file
    if path.exists():
        return path.read_text().strip(), False
    settings.ensure_data_dir()
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True
