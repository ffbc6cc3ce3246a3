"""Writing the ``devices`` table: the bands the companion has met (reading is
``companion.store.queries.list_devices``)."""

from __future__ import annotations

from sqlalchemy import delete

from companion.store.queries import Bind, writing
from companion.store.schema import Device
from companion.store.writes import upsert_device_row


def upsert_device(
    bind: Bind,
    address: str,
    *,
    seen_at: float,
    name: str | None = None,
    profile: str | None = None,
) -> None:
    """Remember a band, or note that it was seen again (a name or profile given replaces
    the stored one; None keeps it)."""
    with writing(bind) as connection:
        upsert_device_row(connection, address, seen_at=seen_at, name=name, profile=profile)


def forget_device(bind: Bind, address: str) -> bool:
    """Forget a band (its sessions and samples stay); False when it was not known."""
    with writing(bind) as connection:
        result = connection.execute(delete(Device).where(Device.address == address))
    return result.rowcount > 0
