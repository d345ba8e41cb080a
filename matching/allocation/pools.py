"""Pools of candidates a relaxed solution splits between pools, assigned whole again.

The pool of a proposal that several pools admit is a binary choice that changes nothing but
which pool pays; relaxing it to a split makes the core smaller and symmetric-free. When a
whole-pool assignment paying every candidate the same amount exists, the relaxed optimum is
an optimum; this module searches for one, over the split candidates first, then over all.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.sparse

from matching.allocation.formulation import Formulation
from matching.allocation.highs import is_whole, solve_milp
from matching.allocation.relax import Program


def whole_pools(
    form: Formulation,
    program: Program,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    candidates: list[int],
    cost: np.ndarray,
    extra: list[scipy.optimize.LinearConstraint],
    deadline: float,
) -> np.ndarray | None:
    """A whole-pool assignment of the candidates the relaxed solution `x` splits between pools,
    paying each the same total amount, everything else as in `x`. Only the candidates actually
    split are reassigned first; if that fails, all of `candidates`. None: no such assignment."""
    split = [c for c in candidates if not is_whole(x[form.candidate_pairs[c]])]
    for movable in (split, candidates):
        found = _reassign(form, program, x, lower, upper, movable, cost, extra, deadline)
        if found is not None or movable is candidates:
            return found
    return None


def _reassign(
    form: Formulation,
    program: Program,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    movable: list[int],
    cost: np.ndarray,
    extra: list[scipy.optimize.LinearConstraint],
    deadline: float,
) -> np.ndarray | None:
    fixed = np.round(x)
    lower2, upper2 = fixed.copy(), fixed.copy()
    rows: list[int] = []
    cols: list[int] = []
    totals: list[float] = []
    for c in movable:
        pairs = form.candidate_pairs[c]
        lower2[pairs], upper2[pairs] = lower[pairs], upper[pairs]
        z = program.z_col[pairs]
        z = z[z >= 0]
        if len(z):
            lower2[z], upper2[z] = lower[z], upper[z]
            rows += [len(totals)] * len(z)
            cols += z.tolist()
            totals.append(float(np.round(x[z].sum())))
    slack_start = program.pairs + int((program.z_col >= 0).sum())
    lower2[slack_start:], upper2[slack_start:] = lower[slack_start:], upper[slack_start:]
    constraints = [*extra]
    if totals:
        matrix = scipy.sparse.csr_array(
            (np.ones(len(cols)), (rows, cols)), shape=(len(totals), len(program.cost))
        )
        constraints.append(scipy.optimize.LinearConstraint(matrix, totals, totals))
    found, _, _ = solve_milp(program, cost, lower2, upper2, None, constraints, deadline)
    return found
