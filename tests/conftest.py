"""Virtual time for whole-stack tests: ``@pytest.mark.virtual_time`` runs a test (and its
async fixtures) on a loop whose clock jumps ahead whenever it would only wait, so a
routine that takes minutes at the bedside takes seconds here (see bench/virtual_time.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest

from bench.virtual_time import VirtualTimeLoop

VIRTUAL_TIME = "virtual_time"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{VIRTUAL_TIME}: run on a virtual-time loop (bench/virtual_time.py)"
    )


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """pytest-asyncio's hook: the loop each async test and its fixtures run on."""
    if item.get_closest_marker(VIRTUAL_TIME) is not None:
        return {"virtual": VirtualTimeLoop}
    return {"asyncio": asyncio.new_event_loop}
