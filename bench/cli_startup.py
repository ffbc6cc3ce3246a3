"""How long a person waits for the command line: ``companion --help`` and
``companion plan taster``, each run ``--runs`` times as a fresh process (a temporary data
dir, so ``plan`` reads no history), median and worst wall time.

Goal: a median under 0.5 s for each on a quiet machine (issue 16). Where the time goes
is measured with ``python -X importtime -m companion --help``.

    .venv/bin/python -m bench.cli_startup [--runs 15] [--busy]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from bench.common import (
    Verdict,
    busy_core,
    conditions,
    exit_status,
    judge,
    reproduce,
    table,
)

MODULE = "bench.cli_startup"
QUICK_ARGS = ("--runs", "3")
DEFAULT_RUNS = 15
GOAL_S = 0.5
COMMANDS = (("--help",), ("plan", "taster"))


def time_command(args: Sequence[str], data_dir: str) -> float:
    """Wall seconds of one ``python -m companion ARGS`` run, start to exit."""
    env = {**os.environ, "COMPANION_DATA_DIR": data_dir}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "companion", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs per command")
    parser.add_argument("--busy", action="store_true", help="keep one core busy meanwhile")
    args = parser.parse_args(argv)

    verdicts: list[Verdict] = []
    rows = []
    with tempfile.TemporaryDirectory() as data_dir, busy_core(args.busy):
        for command in COMMANDS:
            time_command(command, data_dir)  # warm the file cache; not counted
            times = [time_command(command, data_dir) for _ in range(args.runs)]
            median = statistics.median(times)
            label = "companion " + " ".join(command)
            rows.append((label, f"{median:.3f}", f"{max(times):.3f}", str(args.runs)))
            verdicts.append(judge(MODULE, f"{label} median", median, GOAL_S, "s", digits=3))
    print(table(("command", "median s", "worst s", "runs"), rows))
    print(conditions(args.busy))
    print(reproduce(MODULE, argv or []))
    return exit_status(verdicts)


if __name__ == "__main__":
    raise SystemExit(main())
