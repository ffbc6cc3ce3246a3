"""UUID spelling: everything normalises to the full lowercase form bleak reports."""

from __future__ import annotations

import pytest

from companion.ble import uuids


@pytest.mark.parametrize(
    ("text", "full"),
    [
        ("180d", "0000180d-0000-1000-8000-00805f9b34fb"),
        ("0x2A37", "00002a37-0000-1000-8000-00805f9b34fb"),
        (" 180D ", "0000180d-0000-1000-8000-00805f9b34fb"),
        ("0000180d", "0000180d-0000-1000-8000-00805f9b34fb"),
        ("6E400001-B5A3-F393-E0A9-E50E24DCCA9E", "6e400001-b5a3-f393-e0a9-e50e24dcca9e"),
        ("00002a06-0000-1000-8000-00805f9b34fb", "00002a06-0000-1000-8000-00805f9b34fb"),
    ],
)
def test_normalize_uuid_gives_the_full_lowercase_form(text: str, full: str) -> None:
    assert uuids.normalize_uuid(text) == full


@pytest.mark.parametrize(
    "text", ["", "18d", "180g", "0x", "12345", "6e400001b5a3f393e0a9e50e24dcca9e"]
)
def test_normalize_uuid_rejects_what_is_not_a_uuid(text: str) -> None:
    with pytest.raises(ValueError, match="is not a UUID"):
        uuids.normalize_uuid(text)


def test_sig_constants_are_the_assigned_numbers_on_the_base_uuid() -> None:
    assert (uuids.HEART_RATE_MEASUREMENT, uuids.ALERT_LEVEL, uuids.NEW_ALERT) == (
        "00002a37-0000-1000-8000-00805f9b34fb",
        "00002a06-0000-1000-8000-00805f9b34fb",
        "00002a46-0000-1000-8000-00805f9b34fb",
    )
