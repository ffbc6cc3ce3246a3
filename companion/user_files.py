"""The person's own data files (routines, device profiles) as the service loads them:
one bad file is skipped and reported, never the end of start-up.

Each problem is a :class:`~companion.errors.DataFileError` naming the file and the field,
so the log, ``companion doctor`` and the dashboard can all say the same thing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from companion.ble.profiles import DeviceProfile, load_profile, load_profiles
from companion.errors import DataFileError
from companion.events import Notice
from companion.routines.catalog import Routine, read_routines

_LOGGER = logging.getLogger(__name__)

NOTICE_TOPIC_PREFIX = "data-file:"


@dataclass(frozen=True)
class UserCatalogues:
    profiles: dict[str, DeviceProfile]
    routines: dict[str, Routine]
    problems: tuple[DataFileError, ...] = ()


def read_profiles(user_dir: Path | None) -> tuple[dict[str, DeviceProfile], list[DataFileError]]:
    """Built-in profiles, then each usable ``user_dir/*.toml`` on top; the rest reported."""
    profiles = load_profiles(None)
    problems: list[DataFileError] = []
    if user_dir is None or not user_dir.is_dir():
        return profiles, problems
    for path in sorted(user_dir.glob("*.toml")):
        try:
            profile = load_profile(path)
        except DataFileError as exc:
            _LOGGER.warning("skipped a device profile: %s", exc)
            problems.append(exc)
            continue
        profiles[profile.name] = profile
    return profiles, problems


def load_user_catalogues(profiles_dir: Path | None, routines_dir: Path | None) -> UserCatalogues:
    profiles, problems = read_profiles(profiles_dir)
    routines = read_routines(routines_dir)
    return UserCatalogues(profiles, routines.routines, (*problems, *routines.problems))


def problem_notice(problem: DataFileError, *, mono: float, wall: float) -> Notice:
    """The dashboard notice for a skipped file: which file, which field, what to do."""
    return Notice(
        mono=mono,
        wall=wall,
        level="warning",
        topic=f"{NOTICE_TOPIC_PREFIX}{problem.path.name}",
        message=(
            f"Skipped your {problem.kind} file {problem.path.name}: field '{problem.field}': "
            f"{problem.problem}. Everything else works; fix or remove the file and restart."
        ),
    )
