"""Reproducible benchmarks, one suite per module: `python -m bench SUITE [--repeats N]`.

A suite module has `CASES` (case names) and `run(repeats, cases) -> Iterator[dict]`, yielding one
JSON-ready row per case. A suite with options of its own also has `add_arguments(parser)` and
takes the parsed arguments: `run(repeats, cases, args)`. Register it in SUITES by module path;
modules import lazily.
"""

from __future__ import annotations

SUITES: dict[str, str] = {
    "allocation": "bench.allocation",
    "load": "bench.load",
    "matching": "bench.matching",
    "scoring": "bench.scoring",
    "service": "bench.service",
}
"""Suite name -> module."""
