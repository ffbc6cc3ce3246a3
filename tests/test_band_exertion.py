"""Exertion on command: the band console's `exert BPM` / `rest` and the virtual band's API."""

from __future__ import annotations

from typing import Any, cast

import pytest

from companion.ble.virtual_band import VirtualBand
from companion.ble.wearer import Wearer
from companion.cli.bands import band_command


class _Band:
    """Stands in for the virtual band: passes exertion on to a real wearer."""

    def __init__(self) -> None:
        self.wearer = Wearer(5, artefact_rate=0.0, ectopic_rate=0.0)

    def exert(self, target_bpm: float) -> None:
        VirtualBand.exert(cast(Any, self), target_bpm)

    def rest(self) -> None:
        VirtualBand.rest(cast(Any, self))

    @property
    def _wearer(self) -> Wearer:
        return self.wearer


async def test_exert_and_rest_on_the_console_move_the_wearers_heart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    band = _Band()
    band.wearer.beats_until(30.0)

    assert await band_command(cast(Any, band), ["exert", "130"])
    band.wearer.beats_until(120.0)
    exerting = band.wearer.heart_rate_bpm()
    assert await band_command(cast(Any, band), ["rest"])
    band.wearer.beats_until(400.0)

    assert exerting > 120.0
    assert band.wearer.heart_rate_bpm() < 80.0
    err = capsys.readouterr().err
    assert "climbs towards 130 bpm" in err and "settles back" in err


@pytest.mark.parametrize("words", [["exert", "fast"], ["exert", "400"]])
async def test_a_bad_exertion_is_refused_and_the_band_goes_on(
    words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    band = _Band()
    assert await band_command(cast(Any, band), words)
    assert not band.wearer.exerting
    assert "exert:" in capsys.readouterr().err
