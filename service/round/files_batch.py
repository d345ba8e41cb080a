"""`venture optimize-batch DIR --out OUT`: every round file in DIR optimized, each result in its
own folder of OUT, written so that an interrupted run never leaves a half-written result and a
re-run skips the rounds already done with the same input.

A round's folder gets report.html and result.xlsx first and result.json last, each written
atomically (a temporary file renamed over the target); result.json carries the input's hash in
its provenance, so a folder whose result.json matches the round's current hash is done, and any
other state is redone. Timings are left out of batch results, so a re-run writes the same bytes.
Rounds run in worker processes, one per core by default; each is independent, so the outputs
are the same whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import json_format

from service.config import Limits
from service.round.optimize import input_hash, optimize_round
from service.round.report import write_outputs
from service.round.workbook import read_round
from venture.v1 import round_pb2

ROUND_SUFFIXES = (".json", ".xlsx")


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    name: str
    status: str
    """"done", "skipped" (already done with the same input) or "failed"."""
    message: str = ""
    seconds: float = 0.0


def round_sources(folder: Path) -> list[Path]:
    """The rounds in a folder, by name: JSON files, workbooks, and folders of CSV files."""
    found = [
        p
        for p in folder.iterdir()
        if (p.is_file() and p.suffix in ROUND_SUFFIXES and not p.name.startswith("."))
        or (p.is_dir() and any(p.glob("*.csv")))
    ]
    return sorted(found, key=lambda p: p.name)


def prepared(path: Path) -> round_pb2.OptimizeRoundRequest:
    """The round in `path`, with timings excluded (batch results are byte-stable)."""
    request = read_round(path)
    request.options.exclude_timings = True
    return request


def already_done(result_json: Path, digest: str) -> bool:
    if not result_json.exists():
        return False
    try:
        response = json_format.Parse(
            result_json.read_text(encoding="utf-8"), round_pb2.OptimizeRoundResponse()
        )
    except (json_format.ParseError, UnicodeDecodeError, OSError):
        return False
    return response.provenance.input_hash == digest


def process_round(source: Path, out: Path) -> BatchOutcome:
    """One round: skipped when done with the same input, else optimized in-process and its
    outputs written (a failure is this round's outcome, never the batch's)."""
    name = source.stem if source.is_file() else source.name
    target = out / name
    started = time.perf_counter()
    try:
        request = prepared(source)
        if already_done(target / "result.json", input_hash(request)):
            return BatchOutcome(name, "skipped")
        response = optimize_round(request, Limits())
        write_outputs(request, response, target)
    except Exception as error:
        return BatchOutcome(name, "failed", f"{type(error).__name__}: {error}")
    return BatchOutcome(name, "done", seconds=time.perf_counter() - started)


def run_folder(folder: Path, out: Path, jobs: int = 1) -> Iterator[BatchOutcome]:
    """Each round's outcome as it finishes, `jobs` rounds at a time in worker processes (1: in
    this process, in name order). Outputs do not depend on `jobs`."""
    out.mkdir(parents=True, exist_ok=True)
    sources = round_sources(folder)
    if jobs <= 1:
        for source in sources:
            yield process_round(source, out)
        return
    # Spawned, not forked: a fork copies the parent's threads' locks (gRPC's, the solvers'),
    # and a child can hang on one that was held at that instant.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=spawn) as pool:
        futures = [pool.submit(process_round, source, out) for source in sources]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def progress_line(done: int, total: int, outcome: BatchOutcome, width: int = 30) -> str:
    filled = width * done // max(total, 1)
    bar = "#" * filled + "." * (width - filled)
    detail = f"{outcome.name} {outcome.status}"
    if outcome.status == "done":
        detail += f" ({outcome.seconds:.2f} s)"
    if outcome.message:
        detail += f": {outcome.message}"
    return f"[{bar}] {done}/{total} {detail}"


def report_progress(line: str) -> None:
    """A progress bar on a terminal, one line per round otherwise (logs, pipes)."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[2K" + line)
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()
