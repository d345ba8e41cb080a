"""Run one needs-matching case: ours (matching.needs.engine.match_needs), the exact baselines and
the LP reference on the same candidate pairs in the same process, and one JSON-ready row.

The row: suite, case, seed, n_needs, n_orgs, demand, capacity, candidates_per_need,
forbidden_pairs, candidate_pairs; generate_s (not part of any timing); features_s
(features_of once), affinity_s (affinity and candidates from those features, median);
ours_s (match_needs end to end, median of --repeats after a warm-up), ours_from_features_s
(ours_s − features_s: the time with features precomputed), ours_stages (the engine's own
laps), ours_status, ours_objective, ours_bound, ours_objective_recomputed (Σ value over ours'
pairs), optimal (ours proven optimal); baseline (the fastest baseline that proved optimality),
baseline_s, baseline_objective, speedup (baseline_s / ours_s), objectives_agree (within 1e-6
relative), baseline_limit_s; per baseline NAME_s, NAME_build_s, NAME_solve_s, NAME_status,
NAME_objective, NAME_note (why it stopped early), NAME_relative_error; when no baseline proved
optimality, baseline_skipped (why) and speedup_at_least (limit reached / ours_s); lp_s,
lp_status, lp_objective, lp_integral, relative_error_vs_real_optimum (ours vs the LP optimum);
verified, verified_solvers, violations (matching.needs.verify, on every matching found).
When ours cannot run, ours_status is "unavailable" with ours_error; without ours' candidate
pairs the baselines cannot run either, and baseline_skipped says so.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from bench.matching.baseline import BaselineRun
from bench.matching.instances import CASES, SEED, Case, make_problem
from bench.matching.lp import LpRun
from matching.needs.model import Need, NeedMatchingProblem, NeedMatchResult
from matching.needs.verify import Pairs, ProblemArrays, problem_arrays
from matching.needs.verify import pair_violations as violations
from matching.organization import Organization
from matching.status import SolveStatus

BASELINES = ("cpsat", "arcflow")
EXACT_TOLERANCE = 1e-6
"""Relative: objectives agree when they differ by at most this share."""
_LIBC = ctypes.CDLL(None)
T = TypeVar("T")


class CandidatePairs(Protocol):
    """What matching.needs.candidates.candidate_pairs returns (read here by attribute only)."""

    @property
    def need(self) -> NDArray[np.integer]: ...
    @property
    def organization(self) -> NDArray[np.integer]: ...
    @property
    def affinity(self) -> NDArray[np.floating]: ...
    @property
    def fixed(self) -> NDArray[np.bool_]: ...


@dataclass(frozen=True, slots=True)
class Engine:
    """Ours, imported when a case runs (the engine lives in matching.needs)."""

    features_of: Callable[[tuple[Need, ...], tuple[Organization, ...], Mapping[str, Any]], object]
    candidate_pairs: Callable[[NeedMatchingProblem, object, tuple[float, ...]], CandidatePairs]
    match_needs: Callable[[NeedMatchingProblem], NeedMatchResult]

    @classmethod
    def load(cls) -> Engine:
        affinity = importlib.import_module("matching.needs.affinity")
        candidates = importlib.import_module("matching.needs.candidates")
        engine = importlib.import_module("matching.needs.engine")
        return cls(affinity.features_of, candidates.candidate_pairs, engine.match_needs)


@dataclass(frozen=True, slots=True)
class Options:
    """The suite's own command-line options."""

    baseline_limit_s: float = 60.0
    baselines: tuple[str, ...] = BASELINES
    lp_limit_s: float = 120.0
    """0: no LP reference."""
    seed: int = SEED

    def __post_init__(self) -> None:
        unknown = set(self.baselines) - set(BASELINES)
        if unknown:
            raise ValueError(f"unknown baseline(s) {sorted(unknown)}; choose from {BASELINES}")

    @classmethod
    def from_args(cls, args: argparse.Namespace | None) -> Options:
        if args is None:
            return cls()
        return cls(
            args.baseline_limit,
            _our_baselines(args.baselines),
            args.lp_limit,
            args.seed,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m bench matching`. --baselines, --baseline-limit and --seed are
    shared with the allocation suite when both run in one command."""
    group = parser.add_argument_group("matching")
    defined = set(parser._option_string_actions)  # shared with another suite in the same run

    def add(flag: str, **kwargs: Any) -> None:
        if flag not in defined:
            group.add_argument(flag, **kwargs)

    add("--baseline-limit", type=float, default=60.0, help="seconds per baseline solve (60)")
    add(
        "--baselines",
        default=",".join(BASELINES),
        help=f"comma-separated exact baselines (default {','.join(BASELINES)}; '' none)",
    )
    add("--seed", type=int, default=SEED, help="instance seed")
    add(
        "--lp-limit",
        type=float,
        default=120.0,
        help="seconds for the LP reference optimum (120; 0 skips it)",
    )


def _our_baselines(listed: str) -> tuple[str, ...]:
    """This suite's names in the list; a name no suite knows is an error."""
    names = tuple(b for b in listed.split(",") if b)
    unknown = set(names) - set(BASELINES)
    if unknown:
        from bench.allocation.runner import BASELINES as ALLOCATION  # noqa: PLC0415

        if unknown - set(ALLOCATION):
            raise ValueError(f"unknown baseline(s) {sorted(unknown)}; choose from {BASELINES}")
    return tuple(b for b in names if b in BASELINES)


def run(
    repeats: int, cases: Sequence[str] | None = None, args: argparse.Namespace | None = None
) -> Iterator[dict[str, object]]:
    """One row per (selected) case."""
    options = Options.from_args(args)
    for name, case in CASES.items():
        if (not cases and name != "smoke") or (cases and name in cases):
            yield run_case(case, repeats, options)


def run_case(case: Case, repeats: int, options: Options) -> dict[str, object]:
    """Generate the case's instance and time every solver on it."""
    started = time.perf_counter()
    problem = make_problem(case, options.seed)
    generate_s = time.perf_counter() - started
    arrays = problem_arrays(problem)
    row: dict[str, object] = {
        "suite": "matching",
        "case": case.name,
        "seed": options.seed,
        "n_needs": case.n_needs,
        "n_orgs": case.n_orgs,
        "demand": case.demand,
        "capacity": case.capacity,
        "candidates_per_need": case.candidates_per_need,
        "forbidden_pairs": len(arrays.forbidden),
        "generate_s": round(generate_s, 6),
    }
    try:
        engine = Engine.load()
        need, org, affinity = _candidates(engine, problem, repeats, row)
    except Exception as error:  # no candidate pairs, no comparison: say why
        row.update(_unavailable(error))
        row.update(baseline=None, speedup=None, baseline_skipped=f"no candidate pairs: {error}")
        return row
    ours = _ours(engine, problem, repeats, row)
    arrays = arrays.with_candidates((need, org))
    value = arrays.priority[need] * affinity
    inputs = (need, org, value, arrays.min_demand, arrays.max_demand, arrays.capacity)
    runs = _baselines(inputs, options, row)
    row.update(_comparison(row, ours, runs, options))
    row.update(_reference(inputs, ours, runs, options))
    checked: dict[str, Pairs] = {
        r.name: (need[r.chosen], org[r.chosen]) for r in runs if r.objective is not None
    }
    if ours is not None and ours.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        checked["ours"] = arrays.index_pairs(
            (a.need_id, a.organization_id) for a in ours.assignments
        )
        row["ours_objective_recomputed"] = _value_of(arrays, inputs, checked["ours"])
    row.update(_verified(arrays, checked))
    return row


def _timed(solve: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median seconds of `repeats` runs after a warm-up, and the last result."""
    result = solve()
    seconds = []
    for _ in range(repeats):
        begun = time.perf_counter()
        result = solve()
        seconds.append(time.perf_counter() - begun)
    return statistics.median(seconds), result


def _candidates(
    engine: Engine, problem: NeedMatchingProblem, repeats: int, row: dict[str, object]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Candidate pairs and their affinity as ours computes them. Times the features once, and
    the affinity and candidates from those features (median of `repeats`)."""
    started = time.perf_counter()
    features = engine.features_of(
        problem.needs, problem.organizations, problem.policy.region_adjacency
    )
    row["features_s"] = round(time.perf_counter() - started, 6)
    weights = problem.policy.weights.normalised()
    seconds, pairs = _timed(lambda: engine.candidate_pairs(problem, features, weights), repeats)
    if pairs.fixed.any():
        raise ValueError("the baselines do not model fixed pairs; the instances have none")
    row["affinity_s"] = round(seconds, 6)
    row["candidate_pairs"] = len(pairs.need)
    return (
        np.asarray(pairs.need, dtype=np.int64),
        np.asarray(pairs.organization, dtype=np.int64),
        np.asarray(pairs.affinity, dtype=np.float64),
    )


def _ours(
    engine: Engine, problem: NeedMatchingProblem, repeats: int, row: dict[str, object]
) -> NeedMatchResult | None:
    """Time match_needs end to end; a failure is reported in the row, not fatal to the run."""
    try:
        with _quiet_stdout():
            seconds, result = _timed(lambda: engine.match_needs(problem), repeats)
    except Exception as error:  # any failure of ours is reported, not fatal
        row.update(_unavailable(error))
        return None
    features_s = row.get("features_s")
    row.update(
        ours_s=round(seconds, 6),
        ours_from_features_s=(
            round(seconds - features_s, 6) if isinstance(features_s, float) else None
        ),
        ours_stages={t.stage: round(t.seconds, 6) for t in result.timings},
        ours_repeats=repeats,
        ours_status=result.status.value,
        ours_objective=result.objective,
        ours_bound=result.best_bound,
        ours_assigned=len(result.assignments),
        optimal=result.status is SolveStatus.OPTIMAL,
    )
    return result


def _unavailable(error: Exception) -> dict[str, object]:
    return {
        "ours_s": None,
        "ours_status": "unavailable",
        "ours_objective": None,
        "optimal": False,
        "ours_error": f"{type(error).__name__}: {error}"[:300],
    }


Inputs = tuple[
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.float64],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int64],
]
"""need_idx, org_idx, value, min_demand, max_demand, capacity: what every baseline takes."""


def _baselines(inputs: Inputs, options: Options, row: dict[str, object]) -> list[BaselineRun]:
    """Each requested baseline once, reported in the row under its name."""
    from bench.matching.arcflow import solve_arc_by_arc  # noqa: PLC0415 (import what runs)
    from bench.matching.cpsat import solve_cpsat  # noqa: PLC0415

    limit = options.baseline_limit_s
    solvers: dict[str, Callable[[], BaselineRun]] = {
        "cpsat": lambda: solve_cpsat(*inputs, time_limit_s=limit),
        "arcflow": lambda: solve_arc_by_arc(*inputs, time_limit_s=limit),
    }
    runs = []
    for name in options.baselines:
        try:
            with _quiet_stdout():
                r = solvers[name]()
        except ValueError as error:  # a model this baseline cannot express
            row[f"{name}_skipped"] = str(error)
            continue
        runs.append(r)
        row[f"{name}_s"] = round(r.seconds, 6)
        row[f"{name}_build_s"] = round(r.build_seconds, 6)
        row[f"{name}_solve_s"] = round(r.solve_seconds, 6)
        row[f"{name}_status"] = r.status.value
        row[f"{name}_objective"] = r.objective
        if r.note:
            row[f"{name}_note"] = r.note
    return runs


def _comparison(
    row: dict[str, object],
    ours: NeedMatchResult | None,
    runs: list[BaselineRun],
    options: Options,
) -> dict[str, object]:
    """The baseline is the fastest exact one that proved optimality; none: say why."""
    proven = sorted((r for r in runs if r.proven), key=lambda r: r.seconds)
    best = proven[0] if proven else None
    ours_s = row.get("ours_s")
    found = ours is not None and ours.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    compared: dict[str, object] = {
        "baseline": best.name if best else None,
        "baseline_s": round(best.seconds, 6) if best else None,
        "baseline_objective": best.objective if best else None,
        "baseline_limit_s": options.baseline_limit_s,
        "speedup": None,
        "objectives_agree": None,
    }
    if best is not None and isinstance(ours_s, float) and ours_s > 0:
        compared["speedup"] = round(best.seconds / ours_s, 2)
    if best is not None and ours is not None and found:
        compared["objectives_agree"] = math.isclose(
            ours.objective, best.objective or 0.0, rel_tol=EXACT_TOLERANCE
        )
    if best is None:
        compared["baseline_skipped"] = (
            "no baseline requested (--baselines)"
            if not runs
            else f"no baseline proved optimality within {options.baseline_limit_s:g} s"
        )
        stopped = [r.seconds for r in runs if r.status is SolveStatus.NO_SOLUTION_FOUND]
        if stopped and isinstance(ours_s, float) and ours_s > 0:
            compared["speedup_at_least"] = round(min(stopped) / ours_s, 2)
    return compared


def _reference(
    inputs: Inputs, ours: NeedMatchResult | None, runs: list[BaselineRun], options: Options
) -> dict[str, object]:
    """The exact real-valued optimum (LP) and how far each objective is from it."""
    if options.lp_limit_s <= 0:
        return {"lp_skipped": "--lp-limit 0", "relative_error_vs_real_optimum": None}
    from bench.matching.lp import lp_optimum  # noqa: PLC0415

    with _quiet_stdout():
        lp: LpRun = lp_optimum(*inputs, time_limit_s=options.lp_limit_s)
    found: dict[str, object] = {
        "lp_s": round(lp.seconds, 6),
        "lp_status": lp.status.value,
        "lp_objective": lp.objective,
        "lp_integral": lp.integral,
        "relative_error_vs_real_optimum": None,
    }
    if lp.message:
        found["lp_note"] = lp.message
    if lp.objective is None or lp.status is not SolveStatus.OPTIMAL:
        return found
    optimum = lp.objective
    if ours is not None and ours.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        found["relative_error_vs_real_optimum"] = _relative(ours.objective, optimum)
    for r in runs:
        if r.objective is not None:
            found[f"{r.name}_relative_error"] = _relative(r.objective, optimum)
    return found


def _value_of(arrays: ProblemArrays, inputs: Inputs, pairs: Pairs) -> float | None:
    """Σ value over a matching's pairs, from the candidates' values (None: a pair is not one)."""
    need, org, value = inputs[:3]
    codes = arrays.codes((need, org))
    order = np.argsort(codes)
    wanted = arrays.codes(pairs)
    at = np.minimum(np.searchsorted(codes, wanted, sorter=order), len(codes) - 1)
    if not len(codes) or not np.array_equal(codes[order[at]], wanted):
        return None
    return math.fsum(value[order[at]].tolist())


def _relative(objective: float, optimum: float) -> float:
    return abs(objective - optimum) / max(abs(optimum), 1e-12)


def _verified(arrays: ProblemArrays, matchings: dict[str, Pairs]) -> dict[str, object]:
    """Whether every matching passes the bench's own checker."""
    found = {name: violations(arrays, pairs) for name, pairs in matchings.items()}
    bad = {name: v[:3] for name, v in found.items() if v}
    return {"verified": not bad, "verified_solvers": sorted(found)} | (
        {"violations": bad} if bad else {}
    )


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


__all__ = ["BASELINES", "CASES", "Options", "add_arguments", "run", "run_case"]
