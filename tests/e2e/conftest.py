"""Fixtures for the whole-product tests: the real service as a child process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.live import LiveService, running_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[LiveService]:
    """``companion run --simulate`` on a fresh data dir, stopped (SIGTERM) afterwards."""
    with running_service(tmp_path / "data") as live:
        yield live
