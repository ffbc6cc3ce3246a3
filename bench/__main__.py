"""Run every benchmark in turn: ``python -m bench [--quick] [NAME ...]``.

A benchmark is any module in this package with a ``main(argv) -> int``; ``--quick`` passes
each the short options it lists in ``QUICK_ARGS`` (none: its defaults).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

import bench

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


def main(argv: Sequence[str] | None = None) -> int:
    available = benchmarks()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(available))
    parser.add_argument("--quick", action="store_true", help="short runs: a check, not figures")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in available]
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; there are {', '.join(available)}")
    failed = []
    for name in args.names or list(available):
        module = available[name]
        options = list(getattr(module, "QUICK_ARGS", ())) if args.quick else []
        print(f"== bench.{name} {' '.join(options)}".rstrip(), flush=True)
        run: Callable[[list[str]], int] = module.main
        code = run(options)
        print(flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
