"""Command line of the benchmarks: `python -m bench scoring [--repeats 5] [--case large]`.

Prints one JSON line per case to stdout. Suites may add options of their own (see bench).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import cast

from bench import SUITES

Runner = Callable[[int, Sequence[str] | None], Iterator[dict[str, object]]]
OptionsRunner = Callable[
    [int, Sequence[str] | None, argparse.Namespace], Iterator[dict[str, object]]
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "suites",
        nargs="+",
        choices=sorted(SUITES),
        metavar="SUITE",
        help=f"one of: {', '.join(sorted(SUITES))}",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument(
        "--case", action="append", dest="cases", help="run only this case (repeatable)"
    )
    named = sys.argv[1:] if argv is None else argv
    modules = {s: importlib.import_module(SUITES[s]) for s in SUITES if s in named}
    for module in modules.values():
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    for suite in args.suites:
        module = importlib.import_module(SUITES[suite])
        unknown = set(args.cases or ()) - set(module.CASES)
        if unknown and len(args.suites) == 1:
            parser.error(f"unknown case(s) {sorted(unknown)}; {suite} has {list(module.CASES)}")
        if hasattr(module, "add_arguments"):
            rows = cast(OptionsRunner, module.run)(args.repeats, args.cases, args)
        else:
            rows = cast(Runner, module.run)(args.repeats, args.cases)
        for row in rows:
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
