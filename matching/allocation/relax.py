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

from matching.allocation.formulation import MILLION, Formulation, Row, Sense

FloatArray = npt.NDArray[np.float64]


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
    candidate_row: dict[int, int]
    """Candidate -> its one-pool row in a_ub (candidates with several pools)."""


def build_program(form: Formulation, penalties: Penalties | None, amounts: bool = True) -> Program:
    """The program of a formulation; `penalties` is None in hard mode. Without `amounts` every
    grant stays at its lowest amount (no z columns)."""
    n = form.pairs
    steps = form.steps()
    ranged = np.flatnonzero(steps > 0) if amounts else np.zeros(0, dtype=np.int64)
    z_col = np.full(n, -1, dtype=np.int64)
    z_col[ranged] = n + np.arange(len(ranged))
    soft_rows = [r for r in form.rows if r.soft] if penalties is not None else []
    columns = n + len(ranged) + len(soft_rows)
    per_pair, per_unit = form.pair_value()
    cost = np.zeros(columns)
    cost[:n] = -per_pair
    cost[n : n + len(ranged)] = -per_unit[ranged]
    lower = np.zeros(columns)
    upper = np.full(columns, np.inf)
    upper[:n] = 1.0
    upper[n : n + len(ranged)] = steps[ranged]

    ub = _Rows(columns)
    eq = _Rows(columns)
    candidate_row: dict[int, int] = {}
    for c, pairs in enumerate(form.candidate_pairs):
        if form.approved[c] and len(pairs) == 1:
            lower[pairs[0]] = 1.0
        elif form.approved[c]:
            eq.add(pairs, np.ones(len(pairs)), 1.0)
        elif len(pairs) > 1:
            candidate_row[c] = len(ub.rhs)
            ub.add(pairs, np.ones(len(pairs)), 1.0)
    # z[j] <= steps[j] * y[j], one row per ranged pair
    first_link = len(ub.rhs)
    ub.add_block(
        np.concatenate([np.arange(len(ranged)), np.arange(len(ranged))]),
        np.concatenate([z_col[ranged], ranged]),
        np.concatenate([np.ones(len(ranged)), -steps[ranged].astype(np.float64)]),
        np.zeros(len(ranged)),
    )
    slack = n + len(ranged)
    for row in form.rows:
        cols, coef = _lhs(form, row, z_col)
        rhs = row.rhs / form.unit if row.money else float(row.rhs)
        if penalties is not None and row.soft:
            per_slack = MILLION / form.unit if row.money else 1.0
            cost[slack] = penalties.money if row.money else penalties.count
            cols = np.append(cols, slack)
            coef = np.append(coef, per_slack if row.sense is Sense.AT_LEAST else -per_slack)
            slack += 1
        if row.sense is Sense.AT_LEAST:
            ub.add(cols, -coef, -rhs)
        else:
            ub.add(cols, coef, rhs)
    return Program(
        cost,
        ub.matrix(),
        ub.rhs_array(),
        eq.matrix() if eq.rhs else None,
        eq.rhs_array() if eq.rhs else None,
        lower,
        upper,
        n,
        z_col,
        first_link,
        candidate_row,
    )


def relax(form: Formulation, program: Program) -> Relaxation:
    """Solve the LP relaxation of `program` and derive the fixing costs."""
    n = form.pairs
    steps = form.steps()
    z_col = program.z_col
    ranged = np.flatnonzero(z_col >= 0)
    first_link = program.first_link
    candidate_row = program.candidate_row
    result = scipy.optimize.linprog(
        program.cost,
        A_ub=program.a_ub,
        b_ub=program.b_ub,
        A_eq=program.a_eq,
        b_eq=program.b_eq,
        bounds=np.column_stack([program.lower, program.upper]),
        method="highs",
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
    funded = np.zeros(len(form.candidate_pairs))
    cost_in = np.zeros(len(form.candidate_pairs))
    cost_out = np.zeros(len(form.candidate_pairs))
    for c, pairs in enumerate(form.candidate_pairs):
        funded[c] = x[pairs].sum()
        cost_in[c] = pair_in[pairs].min()
        # Leaving c out drops every pair and slackens its one-pool row by what the LP funds.
        row = candidate_row.get(c)
        cost_out[c] = pair_out[pairs].sum() + (row_dual[row] * funded[c] if row is not None else 0)
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
    for row in form.rows:
        if row.money or len(row.pairs) < 2:
            continue
        members = row.pairs
        lhs = y[members].sum()
        if abs(lhs - row.rhs) > 1e-9 or not np.all(at_one[members] | at_zero[members]):
            continue
        ones, zeros = members[at_one[members]], members[at_zero[members]]
        if not len(ones) or not len(zeros):
            continue
        if row.sense is Sense.AT_MOST:
            strong_in[zeros] = np.maximum(strong_in[zeros], pair_in[zeros] + pair_out[ones].min())
        else:
            strong_out[ones] = np.maximum(strong_out[ones], pair_out[ones] + pair_in[zeros].min())
    return strong_in, strong_out


def _lhs(
    form: Formulation, row: Row, z_col: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Columns and coefficients of a row's left-hand side (money in grant units)."""
    pairs = row.pairs
    if not row.money:
        return pairs, np.ones(len(pairs))
    z = z_col[pairs]
    has_z = z >= 0
    cols = np.concatenate([pairs, z[has_z]])
    coef = np.concatenate([form.lo[pairs] / form.unit, np.ones(int(has_z.sum()))])
    return cols, coef


class _Rows:
    """Sparse rows gathered as triplets."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.rows: list[npt.NDArray[np.int64]] = []
        self.cols: list[npt.NDArray[np.int64]] = []
        self.vals: list[FloatArray] = []
        self.rhs: list[float] = []

    def add(self, cols: npt.NDArray[np.int64], coef: FloatArray, rhs: float) -> None:
        self.rows.append(np.full(len(cols), len(self.rhs), dtype=np.int64))
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(coef, dtype=np.float64))
        self.rhs.append(rhs)

    def add_block(
        self,
        local_rows: npt.NDArray[np.int64],
        cols: npt.NDArray[np.int64],
        coef: FloatArray,
        rhs: FloatArray,
    ) -> None:
        """Many rows at once: local_rows numbers them from 0 in the order of `rhs`."""
        self.rows.append(np.asarray(local_rows, dtype=np.int64) + len(self.rhs))
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(coef, dtype=np.float64))
        self.rhs.extend(float(v) for v in rhs)

    def matrix(self) -> scipy.sparse.csr_array:
        if not self.rhs:
            return scipy.sparse.csr_array((0, self.columns))
        return scipy.sparse.csr_array(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(len(self.rhs), self.columns),
        )

    def rhs_array(self) -> FloatArray:
        return np.array(self.rhs, dtype=np.float64)
