"""How the web layer is configured: plain values handed to ``create_app`` and ``serve``."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import zoneinfo

import tzlocal

from companion.session.live_feed import DEFAULT_MAX_STREAMS

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    bare = host.strip("[]").lower()
    if bare in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def zone_for(name: str | None) -> datetime.tzinfo:
    """The named zone, or this machine's when ``name`` is None; ValueError for an unknown name."""
    if name is None:
        return tzlocal.get_localzone()
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name like Europe/Berlin"
        ) from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebSettings:
    """host: where the server listens (loopback unless a token is set).
    token: the shared secret for API bearer auth and page login; None on loopback only.
    max_streams: open Server-Sent Event streams allowed at once (each holds a server thread
    and a live-feed subscription; the feed is given the same cap).
    heartbeat_s: seconds between SSE comments, so a dead client is noticed by a failed write.
    poll_s: how often an idle stream looks at the shutdown flag and the client's socket.
    max_body_bytes: largest request body accepted (413 beyond it).
    scan_timeout_s: default and upper bound for a device scan the dashboard asks for.
    timezone: IANA name of the zone whose days the morning summary counts; None for the
    machine's own (tzlocal).
    """

    host: str = "127.0.0.1"
    token: str | None = None
    max_streams: int = DEFAULT_MAX_STREAMS
    heartbeat_s: float = 15.0
    poll_s: float = 0.5
    max_body_bytes: int = 16 * 1024
    scan_timeout_s: float = 5.0
    max_scan_timeout_s: float = 20.0
    timezone: str | None = None

    def __post_init__(self) -> None:
        if self.max_streams < 1:
            raise ValueError("max_streams must be at least 1")
        if self.heartbeat_s <= 0 or self.poll_s <= 0:
            raise ValueError("heartbeat_s and poll_s must be positive")
        if self.token is not None and not self.token.strip():
            raise ValueError("token must not be blank; use None for no token")
        if self.timezone is not None:
            zone_for(self.timezone)

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.host)
