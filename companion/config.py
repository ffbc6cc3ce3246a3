"""Settings from flags and the environment, and where the companion keeps its data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "bedside-companion"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
ENV_DATA_DIR = "COMPANION_DATA_DIR"
ENV_DB_URL = "COMPANION_DB"


def default_data_dir() -> Path:
    override = os.environ.get(ENV_DATA_DIR)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str
    hci: str | None = None
    device: str | None = None
    profile: str | None = None
    simulate: bool = False
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @classmethod
    def build(
        cls,
        *,
        data_dir: Path | None = None,
        db_url: str | None = None,
        **options: object,
    ) -> Settings:
        directory = (data_dir or default_data_dir()).expanduser()
        url = db_url or os.environ.get(ENV_DB_URL) or f"sqlite:///{directory / 'companion.db'}"
        return cls(data_dir=directory, db_url=url, **options)  # type: ignore[arg-type]

    @property
    def profiles_dir(self) -> Path:
        return self.data_dir / "device_profiles"

    @property
    def routines_dir(self) -> Path:
        return self.data_dir / "routines"

    @property
    def unsaved_dirs(self) -> tuple[Path, ...]:
        """Where rows the store would not take at shutdown are kept until the next start:
        the data dir, then the session's runtime dir (memory-backed, for a full disk)."""
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        folders = [self.data_dir / "unsaved"]
        if runtime:
            folders.append(Path(runtime) / APP_NAME / "unsaved")
        return tuple(folders)

    @property
    def token_file(self) -> Path:
        return self.data_dir / "token"

    def db_path_exists(self) -> bool:
        """False only for a SQLite file that was never created (nothing stored yet)."""
        prefix = "sqlite:///"
        return not self.db_url.startswith(prefix) or Path(self.db_url[len(prefix) :]).exists()

    def ensure_data_dir(self) -> None:
        """Create the data directory; a path that cannot be one is a one-line error."""
        from companion.errors import StoreUnavailableError

        path = self.data_dir
        advice = "choose another place with --data-dir or COMPANION_DATA_DIR"
        if path.exists() and not path.is_dir():
            raise StoreUnavailableError(f"the data directory {path} is not a directory", advice)
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreUnavailableError(
                f"the data directory {path} cannot be created: {exc.strerror or exc}",
                f"{advice}, or fix the owner of the folder above it",
            ) from None
