"""A band a scan found: what a link reports and the session host answers (pure, no radio)."""

from __future__ import annotations

from dataclasses import dataclass

NO_RSSI = -127  # bleak's value when the stack has none


@dataclass(frozen=True)
class FoundDevice:
    """A band heard advertising, or connected now (to this link, or to the OS stack for
    another program): a connected band does not advertise, so a scan alone would never
    list it, and it has no signal strength of its own (``NO_RSSI``)."""

    address: str
    name: str | None
    rssi: int
    profile: str | None  # the device profile it matches; None: none does
    connected: bool = False
