"""The reference: the exact real-valued optimum, from the LP relaxation over candidate pairs.

Maximise Σ value·x subject to min ≤ Σ x ≤ max per need, Σ x ≤ capacity per organization,
0 ≤ x ≤ 1, in float64 with no scaling (scipy.optimize.linprog, HiGHS, tolerances 1e-9). The
constraint matrix is that of a transportation problem, totally unimodular, so the LP has an
integral optimal vertex and its optimum is the optimum of the assignment. HiGHS returns a
vertex (simplex, or interior point with crossover); when it is integral (checked) the
objective is recomputed in float64 from the chosen pairs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import linprog

from bench.matching.baseline import Candidates
from matching.status import SolveStatus

TOLERANCE = 1e-9
INTEGRAL = 1e-6
"""A solution is integral when every x is this close to 0 or 1."""


@dataclass(frozen=True, slots=True)
class LpRun:
    status: SolveStatus
    objective: float | None
    """Σ value over the chosen pairs when the vertex is integral, else the LP's optimum."""
    seconds: float
    integral: bool
    chosen: NDArray[np.int64]
    message: str = ""


def lp_optimum(
    need_idx: NDArray[np.integer],
    org_idx: NDArray[np.integer],
    value: NDArray[np.floating],
    min_demand: NDArray[np.integer],
    max_demand: NDArray[np.integer],
    capacity: NDArray[np.integer],
    time_limit_s: float = 120.0,
) -> LpRun:
    """Solve the LP relaxation; timed from the arrays to the objective."""
    started = time.perf_counter()
    pairs = Candidates(
        np.asarray(need_idx, dtype=np.int64),
        np.asarray(org_idx, dtype=np.int64),
        np.asarray(value, dtype=np.float64),
        np.asarray(min_demand, dtype=np.int64),
        np.asarray(max_demand, dtype=np.int64),
        np.asarray(capacity, dtype=np.int64),
    )
    n = len(pairs.value)
    columns = np.arange(n)
    ones = np.ones(n)
    per_need = sp.csr_array((ones, (pairs.need, columns)), shape=(pairs.n_needs, n))
    per_org = sp.csr_array((ones, (pairs.organization, columns)), shape=(pairs.n_orgs, n))
    exact = pairs.min_demand == pairs.max_demand
    ranged = per_need[~exact]
    result = linprog(
        -pairs.value,
        A_ub=sp.vstack([per_org, ranged, -ranged], format="csr"),
        b_ub=np.concatenate(
            [pairs.capacity, pairs.max_demand[~exact], -pairs.min_demand[~exact]]
        ).astype(np.float64),
        A_eq=per_need[exact],
        b_eq=pairs.max_demand[exact].astype(np.float64),
        bounds=(0.0, 1.0),
        method="highs",
        options={
            "time_limit": time_limit_s,
            "primal_feasibility_tolerance": TOLERANCE,
            "dual_feasibility_tolerance": TOLERANCE,
        },
    )
    seconds = time.perf_counter() - started
    if result.status != 0:
        status = SolveStatus.INFEASIBLE if result.status == 2 else SolveStatus.NO_SOLUTION_FOUND
        empty = np.empty(0, dtype=np.int64)
        return LpRun(status, None, seconds, False, empty, str(result.message))
    x = np.asarray(result.x)
    integral = bool(np.all(np.minimum(np.abs(x), np.abs(x - 1)) <= INTEGRAL))
    chosen = np.flatnonzero(x > 0.5).astype(np.int64)
    objective = pairs.objective(chosen) if integral else float(-result.fun)
    return LpRun(SolveStatus.OPTIMAL, objective, seconds, integral, chosen)
