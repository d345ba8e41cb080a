"""Run one allocation case: ours (matching.allocation.engine), the exact baselines and greedy on
the same instance in the same process, and one JSON-ready row comparing them."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from bench.allocation.baseline import BaselineRun
from bench.allocation.instances import CASES, SEED, Case, make_problem
from matching.allocation.bounds import prepare
from matching.allocation.engine import allocate
from matching.allocation.greedy import greedy_by_score
from matching.allocation.model import AllocationProblem, AllocationResult, Objective
from matching.allocation.verify import violations
from matching.status import SolveStatus

BASELINES = ("cpsat", "scip", "highs")
EXACT_TOLERANCE = 1e-6
_LIBC = ctypes.CDLL(None)


@dataclass(frozen=True, slots=True)
class Options:
    """The suite's own command-line options."""

    baseline_limit_s: float = 30.0
    baseline_repeats: int = 1
    baselines: tuple[str, ...] = BASELINES
    seed: int = SEED
    objective: Objective = Objective.TOTAL_SCORE

    @classmethod
    def from_args(cls, args: argparse.Namespace | None) -> Options:
        if args is None:
            return cls()
        return cls(
            args.baseline_limit,
            args.baseline_repeats,
            tuple(b for b in args.baselines.split(",") if b),
            args.seed,
            Objective(args.objective),
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m bench allocation`."""
    group = parser.add_argument_group("allocation")
    group.add_argument(
        "--baseline-limit", type=float, default=30.0, help="seconds per baseline solve (30)"
    )
    group.add_argument(
        "--baseline-repeats", type=int, default=1, help="timed runs per baseline (median; 1)"
    )
    group.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help=f"comma-separated exact baselines to run (default {','.join(BASELINES)}; '' none)",
    )
    group.add_argument("--seed", type=int, default=SEED, help="instance seed")
    group.add_argument(
        "--objective",
        choices=[o.value for o in Objective],
        default=Objective.TOTAL_SCORE.value,
        help="the rounds' objective (the exact baselines model total_score and "
        "score_weighted_amount only)",
    )


def run(
    repeats: int, cases: Sequence[str] | None = None, args: argparse.Namespace | None = None
) -> Iterator[dict[str, object]]:
    """One row per (selected) case."""
    options = Options.from_args(args)
    unknown = set(options.baselines) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown baseline(s) {sorted(unknown)}; choose from {BASELINES}")
    for name, case in CASES.items():
        if not cases or name in cases:
            yield run_case(case, repeats, options)


def run_case(case: Case, repeats: int, options: Options) -> dict[str, object]:
    """Generate the case's instance and time every solver on it."""
    problem = make_problem(case, options.seed)
    if options.objective is not problem.rules.objective:
        rules = dataclasses.replace(problem.rules, objective=options.objective)
        problem = dataclasses.replace(problem, rules=rules)
    prepared = prepare(problem)
    row: dict[str, object] = {
        "suite": "allocation",
        "case": case.name,
        "n": len(problem.proposals),
        "candidates": len(prepared.candidates),
        "seed": options.seed,
        "objective": options.objective.value,
        "available_fen": prepared.available_fen,
    }
    ours = _ours(problem, repeats, row)
    with _quiet_stdout():
        greedy_s, greedy = _timed(lambda: greedy_by_score(problem), repeats)
    exact = options.objective is not Objective.RANK_ORDER
    runs = [_baseline(name, problem, options) for name in options.baselines if exact]
    row.update(_comparison(row, ours, runs))
    row["greedy_objective"] = greedy.objective
    row["greedy_s"] = round(greedy_s, 6)
    row["greedy_feasible"] = greedy.status is SolveStatus.FEASIBLE
    row["greedy_funded"] = len(greedy.awards)
    best = row["baseline_objective"]
    if isinstance(best, float) and best > 0:
        row["greedy_shortfall_pct"] = round(100 * (best - greedy.objective) / best, 2)
    for r in runs:
        row[f"{r.name}_s"] = round(r.seconds, 6)
        row[f"{r.name}_solve_s"] = round(r.solve_seconds, 6)
        row[f"{r.name}_status"] = r.status.value
        row[f"{r.name}_objective"] = r.objective
        row[f"{r.name}_bound"] = r.bound
    checked = {"greedy": greedy} if row["greedy_feasible"] else {}
    checked |= {r.name: r.result for r in runs if r.result is not None and r.objective is not None}
    if ours is not None:
        checked["ours"] = ours
    row.update(_verified(problem, checked))
    return row


def _timed(solve: Callable[[], AllocationResult], repeats: int) -> tuple[float, AllocationResult]:
    """Median seconds of `repeats` runs after a warm-up, and the last result."""
    result = solve()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = solve()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def _ours(
    problem: AllocationProblem, repeats: int, row: dict[str, object]
) -> AllocationResult | None:
    """Time the engine; a failure is reported in the row, not fatal to the run."""
    try:
        with _quiet_stdout():
            seconds, result = _timed(lambda: allocate(problem), repeats)
    except Exception as error:  # any failure of ours is reported, not fatal
        row.update(
            ours_s=None,
            ours_status="unavailable",
            ours_objective=None,
            ours_error=f"{type(error).__name__}: {error}"[:300],
        )
        return None
    row.update(
        ours_s=round(seconds, 6),
        ours_status=result.status.value,
        ours_objective=result.objective,
        ours_bound=result.best_bound,
        ours_funded=len(result.awards),
        ours_repeats=repeats,
    )
    return result


def _baseline(name: str, problem: AllocationProblem, options: Options) -> BaselineRun:
    """Solve `baseline_repeats` times; the run with the median time is reported."""
    from bench.allocation.cpsat import solve_cpsat  # noqa: PLC0415 (import only what runs)
    from bench.allocation.mip import HIGHS, solve_mip  # noqa: PLC0415

    limit = options.baseline_limit_s
    solvers: dict[str, Callable[[], BaselineRun]] = {
        "cpsat": lambda: solve_cpsat(problem, limit),
        "scip": lambda: solve_mip(problem, limit),
        "highs": lambda: solve_mip(problem, limit, solver=HIGHS),
    }
    runs = []
    for _ in range(options.baseline_repeats):
        with _quiet_stdout():
            runs.append(solvers[name]())
    return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Solvers' native code may print to fd 1, which carries the JSON lines: send it to 2."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        _LIBC.fflush(None)  # C stdio buffers, flushed while fd 1 still points to stderr
        os.dup2(saved, 1)
        os.close(saved)


def _comparison(
    row: dict[str, object], ours: AllocationResult | None, runs: list[BaselineRun]
) -> dict[str, object]:
    """The best exact baseline: the fastest that proved optimality, else the best objective."""
    proven = sorted((r for r in runs if r.proven), key=lambda r: r.seconds)
    found = [r for r in runs if r.objective is not None]
    best = proven[0] if proven else max(found, key=lambda r: r.objective or 0.0, default=None)
    ours_s = row.get("ours_s")
    agree: bool | None = None
    if proven and ours is not None and ours.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        target = proven[0].objective or 0.0
        agree = math.isclose(
            ours.objective, target, rel_tol=EXACT_TOLERANCE, abs_tol=EXACT_TOLERANCE
        )
    speedup = None
    if best is not None and isinstance(ours_s, float) and ours_s > 0:
        speedup = round(best.seconds / ours_s, 2)
    return {
        "best_exact_baseline": best.name if best else None,
        "best_exact_baseline_s": round(best.seconds, 6) if best else None,
        "best_exact_baseline_solve_s": round(best.solve_seconds, 6) if best else None,
        "best_exact_baseline_proven": bool(proven),
        "speedup": speedup,
        "baseline_objective": best.objective if best else None,
        "objectives_agree": agree,
    }


def _verified(
    problem: AllocationProblem, results: dict[str, AllocationResult]
) -> dict[str, object]:
    """Whether every allocation passes the shared validator."""
    found = {name: violations(problem, result) for name, result in results.items()}
    bad = {name: v[:3] for name, v in found.items() if v}
    return {"verified": not bad, "verified_solvers": sorted(found)} | (
        {"violations": bad} if bad else {}
    )
