"""Real heart recordings that nobody here wrote, read from installed packages at test time.

Nothing is copied into this repository: ``pyhrv`` ships two normal-to-normal interval
series (its ``files/`` folder) and ``systole`` a 25-minute ECG with a respiration belt
(``datasets/Task1_*.npy``, 1000 Hz). They are dev dependencies (pyproject's ``dev``
extra). Files are found through the packages' installed metadata, without importing
them (importing pyhrv pulls in biosppy, which fails without peakutils).

R-peaks and the belt's breathing rate come from neurokit2, an independent library; the
ECG-derived series is cached for the process, as detecting peaks takes a few seconds.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TASK1_HZ = 1000
BELT_RATE_HZ = 10  # the belt's breathing rate is kept at this rate (from 1000 Hz)


def available() -> str | None:
    """None when every package needed is installed, else what is missing."""
    missing = [
        name for name in ("pyhrv", "systole", "neurokit2") if importlib.util.find_spec(name) is None
    ]
    return None if not missing else "not installed: " + ", ".join(missing)


def _package_file(distribution: str, relative: str) -> Path:
    path = Path(str(importlib.metadata.distribution(distribution).locate_file(relative)))
    if not path.is_file():
        raise FileNotFoundError(f"{distribution} does not ship {relative}")
    return path


def pyhrv_nni(which: str) -> np.ndarray:
    """pyhrv's sample NN interval series in ms: ``"Short"`` (337) or ``"Long"`` (4684)."""
    return np.load(_package_file("pyhrv", f"pyhrv/files/SampleNNISeries{which}.npy")).astype(
        np.float64
    )


@dataclass(frozen=True)
class BeltRecording:
    """systole's Task1: RR from the ECG's R-peaks and the belt's breathing rate over time."""

    beat_times_s: np.ndarray  # when each interval ended, from the recording's start
    rr_ms: np.ndarray
    belt_rate: np.ndarray  # breaths a minute, every 1 / BELT_RATE_HZ s

    def window(self, start_s: float, length_s: float) -> tuple[list[float], list[float], float]:
        """(beat times, intervals, mean belt rate) of the beats ending in the window."""
        inside = (self.beat_times_s > start_s) & (self.beat_times_s <= start_s + length_s)
        first = int(start_s * BELT_RATE_HZ)
        last = int((start_s + length_s) * BELT_RATE_HZ)
        return (
            [float(t) for t in self.beat_times_s[inside]],
            [float(v) for v in self.rr_ms[inside]],
            float(np.mean(self.belt_rate[first:last])),
        )

    @property
    def duration_s(self) -> float:
        return float(self.beat_times_s[-1])


@functools.cache
def systole_task1() -> BeltRecording:
    import neurokit2 as nk  # test-only dependency, slow to import

    ecg = np.load(_package_file("systole", "systole/datasets/Task1_ECG.npy"))
    belt = np.load(_package_file("systole", "systole/datasets/Task1_Respiration.npy"))
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=TASK1_HZ), sampling_rate=TASK1_HZ)
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.float64)
    signals, _ = nk.rsp_process(belt, sampling_rate=TASK1_HZ)
    rate = signals["RSP_Rate"].to_numpy(dtype=np.float64)
    return BeltRecording(
        beat_times_s=peaks[1:] / TASK1_HZ,
        rr_ms=np.diff(peaks) * 1000.0 / TASK1_HZ,
        belt_rate=rate[:: TASK1_HZ // BELT_RATE_HZ],
    )


def neurokit_rmssd(rr_ms: np.ndarray) -> float:
    """RMSSD as neurokit2 computes it, from peaks rebuilt out of the intervals (1 kHz)."""
    import neurokit2 as nk

    peaks = np.concatenate([[0.0], np.cumsum(rr_ms)]).round().astype(int)
    table = nk.hrv_time(peaks, sampling_rate=1000)
    return float(table["HRV_RMSSD"].iloc[0])
