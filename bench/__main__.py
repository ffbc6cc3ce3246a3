"""Run every benchmark in turn: ``python -m bench [--quick] [NAME ...]``.

A benchmark is any module in this package with a ``main(argv) -> int`` (found by name, so
a new module such as ``physiology``, ``cli_startup`` or ``cue_timing`` is picked up without
being listed); ``--quick`` passes each the short options it lists in ``QUICK_ARGS`` (none:
its defaults). Each benchmark judges its figures against its goals with
``bench.common.judge``; the run ends with one table of every goal, met or MISSED, and
exits non-zero when any goal was missed, any benchmark failed, or one judged nothing.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType

import bench
from bench.common import Verdict, load_now, take_verdicts, verdict_table

NOT_BENCHMARKS = frozenset({"common", "__main__"})


def benchmarks() -> dict[str, ModuleType]:
    found = {}
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name in NOT_BENCHMARKS or info.ispkg:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "main", None)):
            found[info.name] = module
    return found


def run_one(name: str, module: ModuleType, options: list[str]) -> tuple[int, list[Verdict]]:
    """Run one benchmark; its exit code and verdicts (a crash is a failed verdict)."""
    run: Callable[[list[str]], int] = module.main
    take_verdicts()  # anything left over belongs to no one
    try:
        code = run(options)
    except SystemExit as exc:  # argparse errors and explicit exits
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception:
        traceback.print_exc()
        code = 1
    verdicts = take_verdicts()
    if code != 0 and all(v.met for v in verdicts):
        # Failed without saying which goal: still a row in the table, never a silent pass.
        verdicts.append(Verdict(name, "runs to the end", f"exit code {code}", False, load_now()))
    if not verdicts:
        verdicts.append(Verdict(name, "judges its figures", "no goal judged", False, load_now()))
    return code, verdicts


def main(argv: Sequence[str] | None = None) -> int:
    available = benchmarks()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(available))
    parser.add_argument("--quick", action="store_true", help="short runs: a check, not figures")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in available]
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; there are {', '.join(available)}")
    everything: list[Verdict] = []
    failed = []
    for name in args.names or list(available):
        module = available[name]
        options = list(getattr(module, "QUICK_ARGS", ())) if args.quick else []
        print(f"== bench.{name} {' '.join(options)}".rstrip(), flush=True)
        code, verdicts = run_one(name, module, options)
        everything += verdicts
        print(flush=True)
        if code != 0 or not all(v.met for v in verdicts):
            failed.append(name)
    quick = " (--quick: short runs, a check of the benches more than of the goals)"
    print(f"== every goal{quick if args.quick else ''}")
    print(verdict_table(everything))
    missed = sum(not v.met for v in everything)
    print(f"{len(everything) - missed} of {len(everything)} goals met.")
    if failed:
        print(f"failed or missed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
