"""The benchmark baselines and the brute-force reference agree on tiny problems, which
validates both: the plain CP-SAT model, the MathOpt MIP (SCIP), and tests/allocation_brute."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from ortools.sat.python import cp_model

from bench.allocation.baseline import BaselineRun
from bench.allocation.cpsat import CpSatModel, solve_cpsat
from bench.allocation.encode import encode
from bench.allocation.mip import solve_mip
from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    AllocationRules,
    Dimension,
    Objective,
    Quota,
)
from matching.allocation.verify import violations
from matching.status import SolveStatus
from tests.allocation_brute import BruteResult, brute_force, tiny_problems

LIMIT_S = 10.0
EXACT = (Objective.TOTAL_SCORE, Objective.SCORE_WEIGHTED_AMOUNT)


def _agrees(problem: AllocationProblem, run: BaselineRun, best: BruteResult) -> None:
    assert run.status is (SolveStatus.OPTIMAL if best.feasible else SolveStatus.INFEASIBLE)
    if not best.feasible:
        return
    assert run.result is not None
    assert violations(problem, run.result) == []
    assert run.objective is not None
    assert math.isclose(run.objective, best.objective, rel_tol=1e-9, abs_tol=1e-9)
    if problem.rules.objective is Objective.TOTAL_SCORE:
        assert run.result.awarded_fen == best.secondary  # the lexicographic second step


@given(tiny_problems(objectives=EXACT))
def test_plain_cpsat_matches_brute_force(problem: AllocationProblem) -> None:
    _agrees(problem, solve_cpsat(problem, LIMIT_S, secondary=True), brute_force(problem))


@given(tiny_problems(objectives=EXACT))
def test_scip_matches_brute_force(problem: AllocationProblem) -> None:
    _agrees(problem, solve_mip(problem, LIMIT_S, secondary=True), brute_force(problem))


def _rank_order_cpsat(problem: AllocationProblem) -> dict[str, int] | None:
    """An independent lexicographic solve: down the rank order, fund each proposal if the rules
    still allow it given the decisions above it, then maximise the amounts the same way.
    None: infeasible."""
    total = dataclasses.replace(problem.rules, objective=Objective.TOTAL_SCORE)
    enc = encode(dataclasses.replace(problem, rules=total))
    if enc.prepared.conflicts:
        return None
    built = CpSatModel(enc)
    position = {c.index: k for k, c in enumerate(enc.prepared.candidates)}
    order = [position[i] for i in enc.prepared.rank_order if i in position]
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.cp_model_presolve = False  # dozens of tiny solves: presolve costs more
    funded = [sum(built.y[k] for k in enc.per_candidate[c]) for c in order]
    amounts = [sum(built.money[k] for k in enc.per_candidate[c]) for c in order]
    if solver.solve(built.model) == cp_model.INFEASIBLE:
        return None
    for expression in funded + amounts:
        built.model.maximize(expression)
        if solver.solve(built.model) != cp_model.OPTIMAL:
            return None
        built.model.add(expression == round(solver.objective_value))
    grants = built.grants(solver)
    return {enc.pairs[k].proposal.proposal_id: fen for k, fen in grants.items()}


@given(tiny_problems(objectives=(Objective.RANK_ORDER,)))
def test_rank_order_brute_force_matches_a_sequential_solve(problem: AllocationProblem) -> None:
    best = brute_force(problem)
    grants = _rank_order_cpsat(problem)
    assert best.feasible == (grants is not None)
    if grants is None:
        return
    assert {pid: fen for pid, fen, _ in best.grants} == grants
    assert best.funded == frozenset(grants)


def test_baselines_refuse_rank_order() -> None:
    problem = AllocationProblem(
        (AllocationProposal("A", 80.0, requested_fen=100),),
        AllocationRules(total_budget_fen=100, objective=Objective.RANK_ORDER),
    )
    with pytest.raises(ValueError, match="TOTAL_SCORE"):
        solve_cpsat(problem)


def test_infeasible_minimum_quota_is_reported_by_every_solver() -> None:
    problem = AllocationProblem(
        (
            AllocationProposal("A", 80.0, domain="elderly", requested_fen=300),
            AllocationProposal("B", 70.0, domain="elderly", requested_fen=300),
        ),
        AllocationRules(
            total_budget_fen=500, quotas=(Quota(Dimension.DOMAIN, "elderly", min_count=2),)
        ),
    )
    assert not brute_force(problem).feasible
    assert solve_cpsat(problem, LIMIT_S).status is SolveStatus.INFEASIBLE
    assert solve_mip(problem, LIMIT_S).status is SolveStatus.INFEASIBLE
