"""The LP relaxation of the allocation (HiGHS through SciPy, built from sparse arrays).

It gives the engine three things: a proven upper bound on the integer objective, the LP's
reduced costs (what forcing a pair in or out costs at least, which lets the engine fix most
pairs before the exact search and bounds the margins), and a fractional solution to guide it.

Variables: y[j] in [0, 1] per pair; z[j] in [0, steps[j]] grant units above lo[j] for pairs
with a range; in soft mode a slack per soft row (grants, or started 1万 yuan for money rows).
Money rows are divided by the grant unit to keep the coefficients near 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.optimize
import scipy.sparse

from matching.allocation.formulation import MILLION, Formulation, Sense
from matching.allocation.native_output import stdout_to_stderr
from scoring.cancel import checkpoint

FloatArray = npt.NDArray[np.float64]


WHOLE_TOLERANCE = 1e-6
"""An LP value this close to 0 or 1 is read as 0 or 1 (a candidate left out, or funded fully)."""


@dataclass(frozen=True, slots=True)
class Penalties:
    """Integer objective units lost per missed grant and per started 1万 yuan (soft mode)."""

    count: int
    money: int


@dataclass(frozen=True, slots=True)
class Relaxation:
    feasible: bool
    value: float
    """The LP optimum in integer objective units (an upper bound on every allocation)."""
    y: FloatArray
    """Per pair: the LP's y."""
    funded: FloatArray
    """Per candidate: how much of it the LP funds (sum of its pairs' y), in [0, 1]."""
    cost_in: FloatArray
    """Per candidate the LP leaves out: the objective lost, at least, by funding it."""
    cost_out: FloatArray
    """Per candidate the LP funds fully: the objective lost, at least, by leaving it out."""


@dataclass(frozen=True, slots=True)
class Program:
    """The allocation as a mixed-integer program in SciPy's form (minimise cost @ v):
    v = [y per pair, z per ranged pair, slack per soft row]; every column is integral."""

    cost: FloatArray
    a_ub: scipy.sparse.csr_array
    b_ub: FloatArray
    a_eq: scipy.sparse.csr_array | None
    b_eq: FloatArray | None
    lower: FloatArray
    upper: FloatArray
    pairs: int
    z_col: npt.NDArray[np.int64]
    """Per pair: its z column, or -1."""
    first_link: int
    candidate_row: npt.NDArray[np.int64]
    """Per candidate: its one-pool row in a_ub (candidates with several pools), or -1."""


def build_program(form: Formulation, penalties: Penalties | None, amounts: bool = True) -> Program:
    """The program of a formulation; `penalties` is None in hard mode. Without `amounts` every
    grant stays at its lowest amount (no z columns). Built from the formulation's membership
    matrix, with no loop over rows or proposals."""
    n = form.pairs
    steps = form.steps()
    ranged = np.flatnonzero(steps > 0) if amounts else np.zeros(0, dtype=np.int64)
    z_col = np.full(n, -1, dtype=np.int64)
    z_col[ranged] = n + np.arange(len(ranged))
    soft = np.array([r.soft for r in form.rows], dtype=np.bool_) & (penalties is not None)
    columns = n + len(ranged) + int(soft.sum())
    per_pair, per_unit = form.pair_value()
    cost = np.zeros(columns)
    cost[:n] = -per_pair
    cost[n : n + len(ranged)] = -per_unit[ranged]
    lower = np.zeros(columns)
    upper = np.full(columns, np.inf)
    upper[:n] = 1.0
    upper[n : n + len(ranged)] = steps[ranged]

    # One-pool rows: sum of a candidate's pairs <= 1 (= 1 when approved); an approved
    # single-pool candidate is a bound instead.
    sizes = np.array([len(p) for p in form.candidate_pairs], dtype=np.int64)
    multi = sizes[form.pair_candidate] > 1
    approved = form.approved[form.pair_candidate]
    lower[:n][approved & ~multi] = 1.0
    free_multi = np.flatnonzero(multi & ~approved)
    row_of = np.full(len(sizes), -1, dtype=np.int64)
    owners = np.unique(form.pair_candidate[free_multi])
    row_of[owners] = np.arange(len(owners))
    one_pool = _block(
        row_of[form.pair_candidate[free_multi]], free_multi, 1.0, len(owners), columns
    )
    fixed_multi = np.flatnonzero(multi & approved)
    eq_owners = np.unique(form.pair_candidate[fixed_multi])
    eq_row = np.full(len(sizes), -1, dtype=np.int64)
    eq_row[eq_owners] = np.arange(len(eq_owners))
    a_eq = _block(
        eq_row[form.pair_candidate[fixed_multi]], fixed_multi, 1.0, len(eq_owners), columns
    )

    # z[j] <= steps[j] * y[j], one row per ranged pair.
    k = len(ranged)
    link = scipy.sparse.csr_array(
        (
            np.concatenate([np.ones(k), -steps[ranged].astype(np.float64)]),
            (np.concatenate([np.arange(k), np.arange(k)]), np.concatenate([z_col[ranged], ranged])),
        ),
        shape=(k, columns),
    )

    # The rules' rows, each as sign * lhs - per_slack * slack <= sign * rhs (sign -1 for >=).
    is_money = np.array([r.money for r in form.rows], dtype=np.bool_)
    sign = np.array([-1.0 if r.sense is Sense.AT_LEAST else 1.0 for r in form.rows])
    rhs = np.array([r.rhs for r in form.rows], dtype=np.float64)
    rhs = np.where(is_money, rhs / form.unit, rhs) * sign
    member = form.membership
    count_part = scipy.sparse.diags_array(sign * (~is_money)) @ member
    money_part = (
        scipy.sparse.diags_array(sign * is_money)
        @ member
        @ scipy.sparse.diags_array(form.lo / form.unit)
    )
    y_block = (count_part + money_part).tocsr()
    z_block = (scipy.sparse.diags_array(sign * is_money) @ member[:, ranged]).tocsr()
    soft_rows = np.flatnonzero(soft)
    per_slack = np.where(is_money[soft_rows], MILLION / form.unit, 1.0)
    slack_block = scipy.sparse.csr_array(
        (-per_slack, (soft_rows, np.arange(len(soft_rows)))),
        shape=(len(form.rows), len(soft_rows)),
    )
    if penalties is not None:
        cost[n + k :] = np.where(is_money[soft_rows], penalties.money, penalties.count)
    rules_block = scipy.sparse.hstack([y_block, z_block, slack_block], format="csr")
    a_ub = scipy.sparse.vstack([one_pool, link, rules_block], format="csr")
    b_ub = np.concatenate([np.ones(len(owners)), np.zeros(k), rhs])
    candidate_row = row_of
    return Program(
        cost,
        scipy.sparse.csr_array(a_ub),
        b_ub,
        a_eq if len(eq_owners) else None,
        np.ones(len(eq_owners)) if len(eq_owners) else None,
        lower,
        upper,
        n,
        z_col,
        len(owners),
        candidate_row,
    )


def _block(
    rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], value: float, height: int, width: int
) -> scipy.sparse.csr_array:
    return scipy.sparse.csr_array((np.full(len(rows), value), (rows, cols)), shape=(height, width))


def relax(form: Formulation, program: Program) -> Relaxation:
    """Solve the LP relaxation of `program` and derive the fixing costs."""
    n = form.pairs
    steps = form.steps()
    z_col = program.z_col
    ranged = np.flatnonzero(z_col >= 0)
    first_link = program.first_link
    candidate_row = program.candidate_row
    checkpoint()
    with stdout_to_stderr():
        result = scipy.optimize.linprog(
            program.cost,
            A_ub=program.a_ub,
            b_ub=program.b_ub,
            A_eq=program.a_eq,
            b_eq=program.b_eq,
            bounds=np.column_stack([program.lower, program.upper]),
            method="highs",
            # Presolve gains nothing on this sparse, well-scaled LP and costs a quarter of the time.
            options={"presolve": False},
        )
    if result.status != 0:
        empty = np.zeros(len(form.candidate_pairs))
        return Relaxation(False, -np.inf, np.zeros(n), empty, empty, empty)
    at_lower = np.maximum(np.asarray(result.lower.marginals, dtype=np.float64), 0.0)
    at_upper = np.maximum(-np.asarray(result.upper.marginals, dtype=np.float64), 0.0)
    row_dual = np.maximum(-np.asarray(result.ineqlin.marginals, dtype=np.float64), 0.0)
    x = np.asarray(result.x, dtype=np.float64)
    pair_in = at_lower[:n].copy()
    pair_out = at_upper[:n].copy()
    if len(ranged):
        # Choosing pair j costs its own reduced cost plus, whatever z[j] does, the cheaper of
        # raising z[j] to steps (its reduced cost) or leaving its link row slack (its dual).
        link_dual = row_dual[first_link : first_link + len(ranged)]
        z = z_col[ranged]
        pair_in[ranged] += steps[ranged] * np.minimum(at_lower[z], link_dual)
        # Dropping pair j also drops z[j] from its LP value to 0.
        pair_out[ranged] += at_upper[z] * x[z]
    pair_in, pair_out = _through_tight_rows(form, x[:n], pair_in, pair_out)
    # A candidate's pairs are consecutive: per-candidate sums and minima are reduceat's.
    starts = np.array([p[0] for p in form.candidate_pairs], dtype=np.int64)
    funded = np.add.reduceat(x[:n], starts)
    cost_in = np.minimum.reduceat(pair_in, starts)
    # Leaving a candidate out drops every pair and slackens its one-pool row by what it had.
    cost_out = np.add.reduceat(pair_out, starts)
    has_row = candidate_row >= 0
    cost_out[has_row] += row_dual[candidate_row[has_row]] * funded[has_row]
    return Relaxation(True, -float(result.fun), x[:n].copy(), funded, cost_in, cost_out)


def _through_tight_rows(
    form: Formulation, y: FloatArray, pair_in: FloatArray, pair_out: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Strengthen the costs through count rows the LP meets exactly with whole pairs.

    Where such a row is at its maximum (an organization's last grant, a maximum quota), a pair
    can only come in if a chosen member goes out: it costs at least the cheapest member's drop.
    Where it is at its minimum (a minimum quota, a region's only grant), a chosen pair can only
    go out if another member comes in. Each row alone forces this, so the largest such cost over
    a pair's rows is a valid bound (LP degeneracy otherwise leaves many of these costs at 0)."""
    strong_in = pair_in.copy()
    strong_out = pair_out.copy()
    at_one = y > 1 - 1e-9
    at_zero = y < 1e-9
    member = form.membership  # rows x pairs, rows in form.rows order, CSR
    rhs = np.array([r.rhs for r in form.rows], dtype=np.float64)
    counting = np.array([not r.money for r in form.rows], dtype=np.bool_)
    at_most = np.array([r.sense is Sense.AT_MOST for r in form.rows], dtype=np.bool_)
    lhs = member @ y
    fractional = member @ (~at_one & ~at_zero).astype(np.float64)
    ones = member @ at_one.astype(np.float64)
    zeros = member @ at_zero.astype(np.float64)
    tight = counting & (np.abs(lhs - rhs) <= 1e-9) & (fractional == 0) & (ones > 0) & (zeros > 0)
    rows = np.flatnonzero(tight)
    if not len(rows):
        return strong_in, strong_out
    # Per tight row: the cheapest drop among its chosen pairs, the cheapest entry among the rest.
    sub = member[rows]
    entry_row = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
    pairs = sub.indices
    cheapest_out = np.full(len(rows), np.inf)
    np.minimum.at(cheapest_out, entry_row[at_one[pairs]], pair_out[pairs[at_one[pairs]]])
    cheapest_in = np.full(len(rows), np.inf)
    np.minimum.at(cheapest_in, entry_row[at_zero[pairs]], pair_in[pairs[at_zero[pairs]]])
    # At a maximum: a pair left out comes in only if a chosen one goes out.
    up = at_most[rows][entry_row] & at_zero[pairs]
    np.maximum.at(strong_in, pairs[up], pair_in[pairs[up]] + cheapest_out[entry_row[up]])
    # At a minimum: a chosen pair goes out only if one left out comes in.
    down = ~at_most[rows][entry_row] & at_one[pairs]
    np.maximum.at(strong_out, pairs[down], pair_out[pairs[down]] + cheapest_in[entry_row[down]])
    return strong_in, strong_out
