"""The engine against brute force and the shared validator, on generated tiny rounds."""

from __future__ import annotations

import dataclasses
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.allocation.engine import allocate
from matching.allocation.greedy import greedy_by_score
from matching.allocation.model import AllocationProblem, LockKind, Objective, QuotaMode
from matching.allocation.verify import violations
from matching.status import SolveStatus
from tests.allocation_brute import brute_force, tiny_problems

EXACT = (Objective.TOTAL_SCORE, Objective.SCORE_WEIGHTED_AMOUNT)


@given(tiny_problems())
def test_every_allocation_obeys_every_rule(problem: AllocationProblem) -> None:
    result = allocate(problem)
    assert violations(problem, result) == []


@given(tiny_problems())
def test_matches_the_brute_force_optimum(problem: AllocationProblem) -> None:
    result = allocate(problem)
    best = brute_force(problem)
    if not best.feasible:
        assert result.status is SolveStatus.INFEASIBLE
        assert not result.awards
        assert (
            result.conflicts
            or any(c.rules for c in result.conflicts)
            or problem.rules.locked_decisions
        ), "an infeasible answer names its conflicting rules"
        return
    assert result.status is SolveStatus.OPTIMAL
    assert math.isclose(result.objective, best.objective, rel_tol=1e-9, abs_tol=1e-9)
    if problem.rules.objective is Objective.RANK_ORDER:
        assert {a.proposal_id for a in result.awards} == best.funded


@given(tiny_problems(objectives=(Objective.TOTAL_SCORE,)))
def test_total_score_then_funds_most_fully(
    problem: AllocationProblem,
) -> None:
    result = allocate(problem)
    best = brute_force(problem)
    if result.status is SolveStatus.OPTIMAL:
        # Rounds this small are solved whole: the most money over every optimal set.
        assert result.awarded_fen == best.secondary


@given(tiny_problems(objectives=EXACT))
def test_never_worse_than_greedy(problem: AllocationProblem) -> None:
    greedy = greedy_by_score(problem)
    result = allocate(problem)
    if greedy.status is SolveStatus.FEASIBLE:
        assert result.status is SolveStatus.OPTIMAL
        assert result.objective >= greedy.objective - 1e-9


@given(tiny_problems())
def test_locked_decisions_never_move(problem: AllocationProblem) -> None:
    result = allocate(problem)
    if result.status is not SolveStatus.OPTIMAL:
        return
    funded = {a.proposal_id: a for a in result.awards}
    for lock in problem.rules.locked_decisions:
        if lock.kind is LockKind.REJECTED:
            assert lock.proposal_id not in funded
        else:
            assert lock.proposal_id in funded
            if lock.amount_fen:
                assert funded[lock.proposal_id].amount_fen == lock.amount_fen


@settings(max_examples=25)
@given(tiny_problems(), st.integers(0, 2**31 - 1))
def test_same_request_same_answer_whatever_the_seed_and_repeat(
    problem: AllocationProblem, seed: int
) -> None:
    first = allocate(problem)
    again = allocate(dataclasses.replace(problem, seed=seed))
    strip = {"timings": ()}
    assert dataclasses.replace(first, **strip) == dataclasses.replace(again, **strip)


@given(tiny_problems(objectives=EXACT))
def test_soft_mode_meets_every_quota_it_can_and_reports_the_rest(
    problem: AllocationProblem,
) -> None:
    soft = dataclasses.replace(
        problem, rules=dataclasses.replace(problem.rules, quota_mode=QuotaMode.SOFT)
    )
    result = allocate(soft)
    assert violations(soft, result) == []
    if brute_force(problem).feasible and result.status is SolveStatus.OPTIMAL:
        assert result.quota_violations == ()
