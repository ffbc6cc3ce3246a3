"""The device profiles and routines a running companion knows: the built-in ones and the
person's own files, with the files that were skipped and why."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from companion.ble.profiles import DeviceProfile, select_profile
from companion.ble.transport import BandChoice
from companion.config import Settings
from companion.errors import DataFileError
from companion.routines.catalog import Routine
from companion.user_files import load_user_catalogues


@dataclass(frozen=True)
class Catalogues:
    """Read-only: a routine from a file is added by :meth:`with_routine`, which makes a
    new ``Catalogues``."""

    profiles: Mapping[str, DeviceProfile]
    routines: Mapping[str, Routine]
    # The person's files that were skipped, each naming its file and field.
    problems: tuple[DataFileError, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "profiles", MappingProxyType(dict(self.profiles)))
        object.__setattr__(self, "routines", MappingProxyType(dict(self.routines)))

    @classmethod
    def load(cls, settings: Settings) -> Catalogues:
        """Built-in and the person's files (reads files: call it off the event loop)."""
        loaded = load_user_catalogues(settings.profiles_dir, settings.routines_dir)
        return cls(profiles=loaded.profiles, routines=loaded.routines, problems=loaded.problems)

    def with_routine(self, routine: Routine) -> Catalogues:
        """These catalogues with ``routine`` added (replacing one of the same name)."""
        return dataclasses.replace(self, routines={**self.routines, routine.name: routine})

    def band_choice(self, settings: Settings) -> BandChoice:
        profile = select_profile(self.profiles, settings.profile) if settings.profile else None
        return BandChoice(
            hci=settings.hci, simulate=settings.simulate, device=settings.device, profile=profile
        )
