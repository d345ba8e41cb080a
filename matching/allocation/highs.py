"""HiGHS (through SciPy) on an allocation program: the MILP call, and reading its answer.

Fixed columns are moved to the right-hand sides before the call, so HiGHS sees only the free
core. When every coefficient is whole, HiGHS may stop at an absolute gap below 1 (still exact).
Its native debugging prints are kept off stdout (native_output).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse

from matching.allocation.formulation import Formulation
from matching.allocation.native_output import stdout_to_stderr
from matching.allocation.relax import FloatArray, Penalties, Program
from matching.allocation.solution import Solution, evaluate
from scoring.cancel import checkpoint

FEASIBILITY = 1e-6
"""Largest distance from a whole number still read as that number in HiGHS' solutions."""
ANY_GAP = 1e9
"""mip_rel_gap that stops HiGHS at its first feasible solution (feasibility checks)."""


@dataclass(frozen=True, slots=True)
class Run:
    solution: Solution | None
    value: int
    proven: bool
    """Optimal or infeasible within the given bounds."""
    bound: float


SCIPY_VERBATIM_WARNING = "Unrecognized options detected"


def solve_milp(
    program: Program,
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    integrality: np.ndarray | None,
    extra: list[scipy.optimize.LinearConstraint],
    deadline: float,
    gap: float = 0.0,
) -> tuple[np.ndarray | None, int, float]:
    """HiGHS on the free columns: fixed columns move to the right-hand sides first, so the
    solver sees only the core. Returns (x or None, SciPy status, bound on the maximum)."""
    free = lower < upper
    fixed_values = np.where(free, 0.0, lower)
    constant = float(cost @ fixed_values)
    blocks: list[tuple[scipy.sparse.csr_array, FloatArray, FloatArray]] = [
        (program.a_ub, np.full(len(program.b_ub), -np.inf), program.b_ub)
    ]
    if program.a_eq is not None and program.b_eq is not None:
        blocks.append((program.a_eq, program.b_eq, program.b_eq))
    for constraint in extra:
        a = scipy.sparse.csr_array(constraint.A)
        lb = np.broadcast_to(np.asarray(constraint.lb, dtype=np.float64), (a.shape[0],))
        ub = np.broadcast_to(np.asarray(constraint.ub, dtype=np.float64), (a.shape[0],))
        blocks.append((a, lb, ub))
    constraints = []
    for matrix, lo_side, hi_side in blocks:
        shift = matrix @ fixed_values
        part = matrix[:, free]
        live = np.diff(part.tocsr().indptr) > 0
        lo_rows = np.broadcast_to(lo_side, shift.shape) - shift
        hi_rows = np.broadcast_to(hi_side, shift.shape) - shift
        dead_ok = (lo_rows[~live] <= FEASIBILITY) & (hi_rows[~live] >= -FEASIBILITY)
        if not dead_ok.all():
            return None, 2, -math.inf
        if live.any():
            constraints.append(
                scipy.optimize.LinearConstraint(part[live], lo_rows[live], hi_rows[live])
            )
    checkpoint()
    x = fixed_values.copy()
    if not free.any():
        return x, 0, -constant
    kinds = np.ones(int(free.sum())) if integrality is None else integrality[free]
    options: dict[str, float | bool] = {
        "time_limit": max(deadline - time.monotonic(), 0.001),
        "mip_rel_gap": gap,
        # The feasibility-jump heuristic costs more than it finds on these cores (their LP
        # bound is tight and small): without it the n5000 core solves in 48 ms instead of
        # 75, a 24-candidate county round's in under 2 ms instead of 6.
        "mip_heuristic_run_feasibility_jump": False,
    }
    if np.all(cost[free] == np.round(cost[free])) and constant == round(constant):
        # Every allocation's objective is a whole number, so a gap below 1 already proves
        # optimality: HiGHS may stop there instead of closing the last fraction.
        options["mip_abs_gap"] = 1.0 - 1e-6
    # SciPy warns that it passes our HiGHS options verbatim, which is what we want. Not with
    # warnings.catch_warnings(): it swaps the process's filters in and out, so with two solver
    # threads one thread's exit re-armed the warning in the middle of the other's solve. This
    # filter stays, first in line (re-added each time, as test runners reset the filters).
    warnings.filterwarnings("ignore", message=SCIPY_VERBATIM_WARNING, category=RuntimeWarning)
    with stdout_to_stderr():
        result = scipy.optimize.milp(
            cost[free],
            integrality=kinds,
            bounds=scipy.optimize.Bounds(lower[free], upper[free]),
            constraints=constraints,
            options=options,
        )
    dual = result.get("mip_dual_bound")
    bound = -(float(dual) + constant) if dual is not None else math.inf
    if result.x is None:
        return None, int(result.status), bound if result.status != 2 else -math.inf
    x[free] = result.x
    return x, int(result.status), bound


def read_run(
    form: Formulation,
    program: Program,
    x: np.ndarray | None,
    status: int,
    bound: float,
    penalties: Penalties | None,
) -> Run:
    proven = status in (0, 2)
    if x is None:
        return Run(None, 0, proven, -math.inf if status == 2 else bound)
    solution = decode(form, program, x)
    value = evaluate(form, solution, penalties)
    if value is None:
        return Run(None, 0, False, bound)
    return Run(solution, value, status == 0, bound)


def decode(form: Formulation, program: Program, x: np.ndarray) -> Solution:
    n = form.pairs
    chosen = np.round(x[:n]) > 0.5
    steps = np.zeros(n, dtype=np.int64)
    ranged = program.z_col >= 0
    steps[ranged] = np.round(x[program.z_col[ranged]]).astype(np.int64)
    money = np.where(chosen, form.lo + steps * form.unit, 0).astype(np.int64)
    return Solution(chosen, money)


def is_whole(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) <= FEASIBILITY))


def one_pool_each(
    form: Formulation, program: Program, candidates: list[int]
) -> scipy.optimize.LinearConstraint:
    rows = np.concatenate(
        [np.full(len(form.candidate_pairs[c]), k) for k, c in enumerate(candidates)]
    )
    cols = np.concatenate([form.candidate_pairs[c] for c in candidates])
    matrix = scipy.sparse.csr_array(
        (np.ones(len(cols)), (rows, cols)), shape=(len(candidates), len(program.cost))
    )
    return scipy.optimize.LinearConstraint(matrix, 1.0, 1.0)
