"""One family of errors; each carries what went wrong and what to do about it.

Errors that describe bad input also subclass ``ValueError`` so callers may catch either.
"""

from __future__ import annotations

from pathlib import Path


class CompanionError(Exception):
    """Base of every error the companion raises on purpose."""

    advice: str = ""

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.advice})" if self.advice else message


class MalformedPacketError(CompanionError, ValueError):
    """A characteristic value that does not decode; the link counts it and drops it."""

    def __init__(self, characteristic: str, reason: str, data: bytes) -> None:
        self.characteristic = characteristic
        self.reason = reason
        self.data = bytes(data)
        super().__init__(
            f"malformed {characteristic} value {self.data.hex() or '(empty)'}: {reason}"
        )


class DataFileError(CompanionError, ValueError):
    """A TOML data file (device profile, routine) that cannot be used as written."""

    kind = "data file"

    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        self.path = Path(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.kind} {self.path}: field '{field}': {problem}")


class ProfileError(DataFileError):
    kind = "device profile"


class RoutineError(DataFileError):
    kind = "routine"


class UnknownNameError(CompanionError, LookupError):
    """A profile, routine or cue asked for by a name nobody defined."""

    def __init__(self, what: str, name: str, known: list[str]) -> None:
        self.what = what
        self.name = name
        self.known = sorted(known)
        super().__init__(f"no {what} named '{name}'; known: {', '.join(self.known) or 'none'}")


class DeviceNotFoundError(CompanionError):
    advice = (
        "wake the band (tap it), keep it within a metre, and check it is not connected to a phone"
    )

    def __init__(self, wanted: str | None) -> None:
        self.wanted = wanted
        super().__init__(
            f"no band found matching {wanted!r}" if wanted else "no heart-rate band found"
        )


class TransportError(CompanionError):
    advice = "check the --hci transport string, e.g. tcp-client:127.0.0.1:9001 or usb:0"


class SessionError(CompanionError):
    """A command that does not fit the session's current state (e.g. pause with nothing running)."""


class StoreUnavailableError(CompanionError):
    """The data directory or the database cannot be used (corrupt, read-only, full, away)."""

    advice = "check free disk space and that the data directory is writable"

    def __init__(self, message: str, advice: str | None = None) -> None:
        if advice is not None:
            self.advice = advice
        super().__init__(message)


class ListenError(CompanionError):
    """The dashboard cannot listen where it was asked to (port busy, address not here)."""

    def __init__(self, host: str, port: int, problem: str, advice: str) -> None:
        self.host = host
        self.port = port
        self.advice = advice
        super().__init__(f"the dashboard cannot listen on {host}:{port}: {problem}")


class SettingError(CompanionError, ValueError):
    """An option or setting whose value cannot work (a database URL, a data directory)."""

    def __init__(self, message: str, advice: str) -> None:
        self.advice = advice
        super().__init__(message)
