"""The one strict reader for the TOML data files: exercises, routines and device profiles.

Every key a table does not list is an error (so a typo never passes silently), every value
is checked for its type, and every problem raises the file's own
:class:`~companion.errors.DataFileError` (``RoutineError``, ``ProfileError``) naming the
file, the field's path (``steps[1].hold_s``, ``cues.hold-end[0].value``) and what is
allowed there. Reading is pure: ``decode`` takes the file's bytes or text, ``Table`` the
decoded document.
"""

from __future__ import annotations

import enum
import os
import stat
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from companion.errors import DataFileError

FILE_FIELD = "(file)"
TOP_LEVEL_FIELD = "(top level)"
# A routine or a profile is a few KiB of TOML; anything far larger is not one.
MAX_FILE_BYTES = 256 * 1024

_E = TypeVar("_E", bound=enum.StrEnum)


def read_file(path: Path, error: type[DataFileError], max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """A person's data file, refusing anything that is not a regular file and reading at
    most ``max_bytes`` (a link to /dev/zero or a FIFO must not hang start-up)."""
    try:
        # O_NONBLOCK: opening a FIFO nobody writes to returns at once instead of waiting.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(path, FILE_FIELD, f"cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(path, FILE_FIELD, "is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise error(path, FILE_FIELD, f"is larger than {max_bytes // 1024} KiB")
    return data


def load(path: Path, error: type[DataFileError]) -> dict[str, Any]:
    """A person's TOML data file, read safely and decoded."""
    return decode(read_file(path, error), path, error)


def decode(raw: bytes | str, source: Path, error: type[DataFileError]) -> dict[str, Any]:
    """A file's bytes (UTF-8) or text as a TOML document."""
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(source, FILE_FIELD, f"is not UTF-8 text: {exc.reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(source, FILE_FIELD, f"not valid TOML: {exc}") from exc


def kind(value: object) -> str:
    """What a value is, in words, for error messages."""
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the number {value:g}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


class Table:
    """One TOML table being read; keys outside ``allowed`` are errors."""

    def __init__(
        self,
        data: object,
        path: str,
        source: Path,
        error: type[DataFileError],
        allowed: Collection[str] | None = None,
    ) -> None:
        self.path = path
        self.source = source
        self.error = error
        if not isinstance(data, Mapping):
            self.fail(None, f"must be a table, not {kind(data)}")
        self.data: Mapping[str, Any] = data
        if allowed is not None:
            for key in self.data:
                if key not in allowed:
                    self.fail(key, f"unknown key; allowed: {', '.join(allowed)}")

    def field(self, key: str | None) -> str:
        """The path of ``key`` in the file (``key`` may end in an index, ``uuids[1]``)."""
        if key is None:
            return self.path or TOP_LEVEL_FIELD
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str | None, problem: str) -> NoReturn:
        raise self.error(self.source, self.field(key), problem)

    def has(self, key: str) -> bool:
        return key in self.data

    def table(self, key: str, allowed: Collection[str] | None = None) -> Table:
        """The table under ``key`` (an empty one when absent)."""
        return Table(self.data.get(key, {}), self.field(key), self.source, self.error, allowed)

    def element(self, key: str, index: int, allowed: Collection[str] | None = None) -> Table:
        """Table number ``index`` of the list under ``key`` (``[[key]]`` in TOML)."""
        value = self.data[key][index]
        return Table(value, self.field(f"{key}[{index}]"), self.source, self.error, allowed)

    def text(self, key: str, default: str | None = None, *, strip: bool = True) -> str:
        """Required non-blank text, or ``default`` when the key is absent and one is given;
        ``strip=False`` keeps the whitespace around it (a command template's newline)."""
        if key not in self.data:
            if default is None:
                self.fail(key, "is required (text)")
            return default
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"must be non-empty text, not {kind(value)}")
        return value.strip() if strip else value

    def number(self, key: str) -> float:
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"must be a number, not {kind(value)}")
        return float(value)

    def integer(self, key: str) -> int:
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be a whole number, not {kind(value)}")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {kind(value)}")
        return value

    def items(self, key: str) -> list[object]:
        """The list under ``key`` (empty when absent)."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            self.fail(key, f"must be a list, not {kind(value)}")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"must be a list of text, not {kind(value)}")
        return tuple(v.strip() for v in value)

    def choice(self, key: str, allowed: tuple[_E, ...]) -> _E:
        value = self.text(key)
        for member in allowed:
            if member.value == value:
                return member
        self.fail(key, f"{value!r} is not one of {', '.join(m.value for m in allowed)}")
