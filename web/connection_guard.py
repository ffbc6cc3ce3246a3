"""Which connections the dashboard's HTTP server keeps when sockets are scarce.

Waitress alone stops accepting at a fixed count of open connections (100 by default) and
closes a silent one only after minutes; a request that trickles in a byte at a time keeps
its connection forever, and it has no cap per client. So a hundred sockets that send nothing
(no login needed to open one) would lock out the owner, the Pain button included.

The rules here, applied by ``web.server``:
- a request that has begun must arrive whole within ``request_timeout_s``;
- a connection that is not being answered and sends nothing is closed after ``idle_timeout_s``
  (a browser simply opens a new one when it needs it);
- a new connection is always accepted: when ``max_open`` are open, the one that has waited
  longest without being answered is closed to make room, so the newest (the owner pressing a
  button now) gets in; connections being answered (a request in progress, a live stream) are
  never closed for room;
- one address beyond this machine may hold at most ``max_per_client``. Everyone on this
  machine shares 127.0.0.1 (the bedside screen too), so there the rules above do the work.

Pure: plain values and ``now`` (monotonic seconds) in, the connections to close out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from web.settings import is_loopback


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConnectionLimits:
    """max_open: connections kept open at once (a browser uses about six, a live stream one).
    max_per_client: connections one address beyond this machine may hold.
    request_timeout_s: from the first byte of a request to its last (head and body).
    idle_timeout_s: how long a connection may sit unanswered and silent.
    max_header_bytes: largest request head (a page's is about 1 KB).
    max_upload_bytes: the server stops reading a body past this (the app refuses a body over
    its own, smaller cap with a JSON 413; this only bounds what a client can make it buffer).
    """

    max_open: int = 200
    max_per_client: int = 32
    request_timeout_s: float = 10.0
    idle_timeout_s: float = 15.0
    max_header_bytes: int = 32 * 1024
    max_upload_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_open < 1 or self.max_per_client < 1:
            raise ValueError("max_open and max_per_client must be at least 1")
        if self.request_timeout_s <= 0 or self.idle_timeout_s <= 0:
            raise ValueError("request_timeout_s and idle_timeout_s must be positive")
        if self.max_header_bytes < 1 or self.max_upload_bytes < 1:
            raise ValueError("max_header_bytes and max_upload_bytes must be positive")


@dataclasses.dataclass(frozen=True)
class OpenConnection:
    """One open connection as the guard sees it.

    key: identifies it to the caller. client: the peer's address.
    answering: a request of it is queued or being answered (a live stream too).
    partial: part of a request has arrived, not all of it.
    since: when the current wait began: the first byte of the partial request, or else the
    last byte received or sent.
    """

    key: int
    client: str
    answering: bool
    partial: bool
    since: float


def overdue(
    connections: Iterable[OpenConnection], now: float, limits: ConnectionLimits
) -> list[int]:
    """Keys of connections that waited too long: a partial request past its deadline, or a
    silent connection past the idle timeout."""
    late: list[int] = []
    for connection in connections:
        if connection.answering:
            continue
        allowed = limits.request_timeout_s if connection.partial else limits.idle_timeout_s
        if now - connection.since >= allowed:
            late.append(connection.key)
    return late


def _longest_waiting(connections: Iterable[OpenConnection]) -> OpenConnection | None:
    waiting = [c for c in connections if not c.answering]
    return min(waiting, key=lambda c: c.since, default=None)


def to_close_for(
    newcomer: OpenConnection, others: Sequence[OpenConnection], limits: ConnectionLimits
) -> list[int]:
    """Keys to close so ``newcomer`` fits among ``others`` (the open ones, not counting it):
    the longest-waiting unanswered connections, of its own address first when that address
    is over its cap. The newcomer's own key when nothing else may go."""
    closing: list[int] = []
    if not is_loopback(newcomer.client):
        same = [c for c in others if c.client == newcomer.client]
        if not _make_room(same, limits.max_per_client, closing):
            return [*closing, newcomer.key]
    remaining = [c for c in others if c.key not in closing]
    if not _make_room(remaining, limits.max_open, closing):
        return [*closing, newcomer.key]
    return closing


def _make_room(candidates: list[OpenConnection], cap: int, closing: list[int]) -> bool:
    """Add to ``closing`` the longest-waiting of ``candidates`` until one more fits under
    ``cap``; False when the rest are all being answered and it still does not fit."""
    while len(candidates) + 1 > cap:
        victim = _longest_waiting(candidates)
        if victim is None:
            return False
        closing.append(victim.key)
        candidates.remove(victim)
    return True
