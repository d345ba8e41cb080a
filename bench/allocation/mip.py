"""Baseline (b): the same MIP as the plain CP-SAT model, through OR-Tools MathOpt with SCIP.

Same variables and constraints (see bench.allocation.cpsat); the objective in floats and API
units: TOTAL_SCORE maximises Σ score·y, SCORE_WEIGHTED_AMOUNT Σ score·grant / 1e6. With
`secondary` (tests on tiny problems only) the TOTAL_SCORE objective becomes
M·Σ round(100·score)·y + Σ grant in money units, exact while the numbers stay small; on large
problems SCIP's tolerances would swallow the secondary term. Default solver parameters except
the time limit and a relative gap of 0 (SCIP's default; HiGHS would stop at 1e-4, which is not
a proof of optimality). `solver` may be any MathOpt MIP solver (HIGHS for a second opinion).
"""

from __future__ import annotations

import datetime
import time

from ortools.math_opt.python import mathopt  # type: ignore[import-untyped]

from bench.allocation.baseline import BaselineRun, finish
from bench.allocation.encode import MILLION, SCORE_SCALE, Encoded, encode, weighted
from matching.allocation.model import AllocationProblem
from matching.status import SolveStatus

HIGHS = mathopt.SolverType.HIGHS
STATUS = {
    mathopt.TerminationReason.OPTIMAL: SolveStatus.OPTIMAL,
    mathopt.TerminationReason.FEASIBLE: SolveStatus.FEASIBLE,
    mathopt.TerminationReason.INFEASIBLE: SolveStatus.INFEASIBLE,
    mathopt.TerminationReason.NO_SOLUTION_FOUND: SolveStatus.NO_SOLUTION_FOUND,
}


class MipModel:
    """The MathOpt model and its variables."""

    def __init__(self, enc: Encoded, secondary: bool = False) -> None:
        self.enc = enc
        self.model = mathopt.Model(name="allocation")
        self.y = [self.model.add_binary_variable(name=f"y{k}") for k in range(len(enc.pairs))]
        self.x: list[mathopt.Variable | None] = []
        self.money: list[mathopt.LinearExpression] = []
        self._variables()
        self._constraints()
        self._objective(secondary)

    def _variables(self) -> None:
        enc, add = self.enc, self.model.add_linear_constraint
        for k, pair in enumerate(enc.pairs):
            c = pair.candidate
            if pair.fixed:
                self.x.append(None)
                self.money.append(mathopt.LinearExpression(c.lower_fen * self.y[k]))
                continue
            x = self.model.add_integer_variable(lb=0, ub=c.upper_fen // enc.unit, name=f"x{k}")
            add(x >= (c.lower_fen // enc.unit) * self.y[k])
            add(x <= (c.upper_fen // enc.unit) * self.y[k])
            self.x.append(x)
            self.money.append(mathopt.LinearExpression(enc.unit * x))

    def _constraints(self) -> None:
        enc, add, y, money = self.enc, self.model.add_linear_constraint, self.y, self.money
        for c, group in zip(enc.prepared.candidates, enc.per_candidate, strict=True):
            add(lb=1.0 if c.approved else 0.0, ub=1.0, expr=mathopt.fast_sum(y[k] for k in group))
        add(mathopt.fast_sum(money) <= enc.prepared.available_fen)
        for pool, group in zip(enc.prepared.pools, enc.per_pool, strict=True):
            add(mathopt.fast_sum(money[k] for k in group) <= pool.amount_fen)
        limit = enc.problem.rules.max_grants_per_organization
        for group in enc.per_organization:
            add(mathopt.fast_sum(y[k] for k in group) <= limit)
        for quota, group in zip(enc.problem.rules.quotas, enc.per_quota, strict=True):
            count = mathopt.fast_sum(y[k] for k in group)
            amount = mathopt.fast_sum(money[k] for k in group)
            top = quota.max_count
            add(lb=quota.min_count, ub=float("inf") if top is None else top, expr=count)
            top_fen = quota.max_amount_fen
            add(
                lb=quota.min_amount_fen,
                ub=float("inf") if top_fen is None else top_fen,
                expr=amount,
            )
        for group in enc.per_region:
            add(mathopt.fast_sum(y[k] for k in group) >= 1)

    def _objective(self, secondary: bool) -> None:
        enc = self.enc
        if weighted(enc):
            self.model.maximize(
                mathopt.fast_sum(
                    (t.proposal.score or 0.0) / MILLION * m
                    for t, m in zip(enc.pairs, self.money, strict=True)
                )
            )
            return
        if not secondary:
            self.model.maximize(
                mathopt.fast_sum(
                    (t.proposal.score or 0.0) * y for t, y in zip(enc.pairs, self.y, strict=True)
                )
            )
            return
        big = enc.prepared.available_fen // enc.money_gcd + 1
        score = mathopt.fast_sum(t.score * y for t, y in zip(enc.pairs, self.y, strict=True))
        units = mathopt.fast_sum((1.0 / enc.money_gcd) * m for m in self.money)
        self.model.maximize(big * score + units)
        self.primary_scale = SCORE_SCALE * big

    def grants(self, result: mathopt.SolveResult) -> dict[int, int]:
        """Chosen pairs -> grant in fen (values rounded: the solver's integrality tolerance)."""
        values = result.variable_values()
        chosen: dict[int, int] = {}
        for k, pair in enumerate(self.enc.pairs):
            if values[self.y[k]] > 0.5:
                x = self.x[k]
                chosen[k] = (
                    pair.candidate.lower_fen if x is None else round(values[x]) * self.enc.unit
                )
        return chosen


def solve_mip(
    problem: AllocationProblem,
    time_limit_s: float = 30.0,
    secondary: bool = False,
    solver: mathopt.SolverType = mathopt.SolverType.GSCIP,
) -> BaselineRun:
    """Build and solve the MIP with `solver` (SCIP by default), timed end to end."""
    name = "scip" if solver is mathopt.SolverType.GSCIP else solver.name.lower()
    started = time.perf_counter()
    enc = encode(problem)
    if enc.prepared.conflicts:
        return finish(name, started, SolveStatus.INFEASIBLE, None, 0.0, enc, {})
    built = MipModel(enc, secondary)
    params = mathopt.SolveParameters(
        time_limit=datetime.timedelta(seconds=time_limit_s), relative_gap_tolerance=0.0
    )
    result = mathopt.solve(built.model, solver, params=params)
    status = STATUS.get(result.termination.reason)
    if status is None:
        raise RuntimeError(f"{name} ended with {result.termination}")
    found = status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE) and (
        result.has_primal_feasible_solution()
    )
    bound: float | None = None
    if found:
        bound = result.termination.objective_bounds.dual_bound
        if secondary and not weighted(enc):
            bound = (bound * SCORE_SCALE // built.primary_scale) / SCORE_SCALE
    grants = built.grants(result) if found else {}
    seconds = result.solve_stats.solve_time.total_seconds()
    return finish(name, started, status, bound, seconds, enc, grants)
