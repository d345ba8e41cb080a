"""Baseline (a): a plain CP-SAT model of every rule, built the straightforward way.

Variables: y[i,p] in {0,1} per (candidate, eligible pool); x[i,p] grant in units with
lower·y <= x <= upper·y (an agreed off-unit amount is the constant lower·y). Constraints: one pool
per candidate (exactly one for locked approvals), the budget, each pool, organizations, each
quota's count and amount limits, region coverage. Objective: TOTAL_SCORE maximises
Σ round(100·score)·y; with `secondary`, exactly lexicographic then Σ grant (weight M = the
budget in money units + 1); SCORE_WEIGHTED_AMOUNT maximises Σ round(100·score)·grant. Default
CP-SAT parameters except num_workers (2: every core here) and the time limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from ortools.sat.python import cp_model

from bench.allocation.baseline import BaselineRun, finish
from bench.allocation.encode import (
    MILLION,
    SCORE_SCALE,
    Encoded,
    encode,
    money_weight,
    weighted,
)
from matching.allocation.model import AllocationProblem
from matching.status import SolveStatus

STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.UNKNOWN: SolveStatus.NO_SOLUTION_FOUND,
}


class CpSatModel:
    """The model and its variables, so tests can add constraints (e.g. lexicographic steps)."""

    def __init__(self, enc: Encoded, secondary: bool = False) -> None:
        self.enc = enc
        self.model = cp_model.CpModel()
        self.y = [self.model.new_bool_var(f"y{k}") for k in range(len(enc.pairs))]
        self.x: list[cp_model.IntVar | None] = []
        self.money: list[cp_model.LinearExprT] = []
        self._variables()
        self._one_pool_each()
        self._budget_and_pools()
        self._organizations()
        self._quotas()
        self._coverage()
        self.scale = self._objective(secondary)

    def _variables(self) -> None:
        enc = self.enc
        for k, pair in enumerate(enc.pairs):
            c = pair.candidate
            if pair.fixed:
                self.x.append(None)
                self.money.append(c.lower_fen * self.y[k])
                continue
            x = self.model.new_int_var(0, c.upper_fen // enc.unit, f"x{k}")
            self.model.add(x >= (c.lower_fen // enc.unit) * self.y[k])
            self.model.add(x <= (c.upper_fen // enc.unit) * self.y[k])
            self.x.append(x)
            self.money.append(enc.unit * x)

    def _one_pool_each(self) -> None:
        for c, group in zip(self.enc.prepared.candidates, self.enc.per_candidate, strict=True):
            chosen = _sum(self.y[k] for k in group)
            if c.approved:
                self.model.add(chosen == 1)
            else:
                self.model.add(chosen <= 1)

    def _budget_and_pools(self) -> None:
        enc = self.enc
        self.model.add(_sum(self.money) <= enc.prepared.available_fen)
        for pool, group in zip(enc.prepared.pools, enc.per_pool, strict=True):
            self.model.add(_sum(self.money[k] for k in group) <= pool.amount_fen)

    def _organizations(self) -> None:
        limit = self.enc.problem.rules.max_grants_per_organization
        for group in self.enc.per_organization:
            self.model.add(_sum(self.y[k] for k in group) <= limit)

    def _quotas(self) -> None:
        for quota, group in zip(self.enc.problem.rules.quotas, self.enc.per_quota, strict=True):
            count = _sum(self.y[k] for k in group)
            amount = _sum(self.money[k] for k in group)
            self.model.add(count >= quota.min_count)
            self.model.add(amount >= quota.min_amount_fen)
            if quota.max_count is not None:
                self.model.add(count <= quota.max_count)
            if quota.max_amount_fen is not None:
                self.model.add(amount <= quota.max_amount_fen)

    def _coverage(self) -> None:
        for group in self.enc.per_region:
            self.model.add(_sum(self.y[k] for k in group) >= 1)

    def _money_units(self) -> list[cp_model.LinearExprT]:
        """Each pair's grant in units of enc.money_gcd."""
        terms: list[cp_model.LinearExprT] = []
        for k, pair in enumerate(self.enc.pairs):
            per_unit, constant = money_weight(self.enc, pair)
            x = self.x[k]
            terms.append(constant * self.y[k] if x is None else per_unit * x)
        return terms

    def _objective(self, secondary: bool) -> float:
        """Set the objective; returns the factor from objective units to API units."""
        enc = self.enc
        units = self._money_units()
        if weighted(enc):
            self.model.maximize(_sum(t.score * m for t, m in zip(enc.pairs, units, strict=True)))
            return SCORE_SCALE * MILLION / enc.money_gcd
        score = _sum(t.score * self.y[k] for k, t in enumerate(enc.pairs))
        if not secondary:
            self.model.maximize(score)
            return SCORE_SCALE
        big = enc.prepared.available_fen // enc.money_gcd + 1
        self.model.maximize(big * score + _sum(units))
        return SCORE_SCALE * big

    def grants(self, solver: cp_model.CpSolver) -> dict[int, int]:
        """Chosen pairs -> grant in fen."""
        return {
            k: solver.value(self.money[k])
            for k in range(len(self.enc.pairs))
            if solver.boolean_value(self.y[k])
        }


def _sum(terms: Iterable[cp_model.LinearExprT]) -> cp_model.LinearExpr:
    return cp_model.LinearExpr.sum(list(terms))


def solve_cpsat(
    problem: AllocationProblem,
    time_limit_s: float = 30.0,
    workers: int = 2,
    secondary: bool = False,
) -> BaselineRun:
    """Build and solve the plain model; the result is decoded and timed end to end."""
    started = time.perf_counter()
    enc = encode(problem)
    if enc.prepared.conflicts:
        return finish("cpsat", started, SolveStatus.INFEASIBLE, None, 0.0, enc, {})
    built = CpSatModel(enc, secondary)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.max_time_in_seconds = time_limit_s
    code = solver.solve(built.model)
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"invalid CP-SAT model: {built.model.validate()}")
    status = STATUS[code]
    found = status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    bound = solver.best_objective_bound / built.scale if found else None
    if found and secondary and not weighted(enc):
        # Bound on big·score + money: the primary bound is its integer part in score units.
        bound = (solver.best_objective_bound * SCORE_SCALE // built.scale) / SCORE_SCALE
    grants = built.grants(solver) if found else {}
    return finish("cpsat", started, status, bound, solver.wall_time, enc, grants)
