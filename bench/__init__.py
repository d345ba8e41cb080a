"""Reproducible benchmarks, one suite per module: `python -m bench SUITE [--repeats N]`.

A suite module has `CASES` (case names) and `run(repeats, cases) -> Iterator[dict]`, yielding one
JSON-ready row per case. Register it in SUITES by module path; modules import lazily.
"""

from __future__ import annotations

SUITES: dict[str, str] = {
    "scoring": "bench.scoring",
    "service": "bench.service",
}
"""Suite name -> module. allocation, matching and load join here when they exist."""
