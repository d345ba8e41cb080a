"""Greedy by score: hand-checked cases of what a committee's spreadsheet would fund."""

from __future__ import annotations

import dataclasses

from hypothesis import given

from matching.allocation.greedy import GREEDY_MISSED_RULES, greedy_by_score
from matching.allocation.model import (
    AllocationProblem,
    AllocationResult,
    Dimension,
    FundingPool,
    LockedDecision,
    LockKind,
    Objective,
    Quota,
    QuotaMode,
    QuotaViolation,
    UnfundedReason,
)
from matching.allocation.verify import violations
from matching.status import SolveStatus
from tests.allocation_brute import brute_force, tiny_problems
from tests.allocation_builders import UNIT, WAN
from tests.allocation_builders import problem as _problem
from tests.allocation_builders import proposal as _p


def _grants(result: AllocationResult) -> dict[str, tuple[int, str]]:
    return {a.proposal_id: (a.amount_fen, a.pool_id) for a in result.awards}


def _reasons(result: AllocationResult) -> dict[str, tuple[UnfundedReason, str]]:
    return {u.proposal_id: (u.reason, u.rule) for u in result.unfunded}


def _legal(problem: AllocationProblem, result: AllocationResult) -> AllocationResult:
    assert result.status is SolveStatus.FEASIBLE
    assert violations(problem, result) == []
    return result


def test_funds_down_the_ranking_and_skips_what_no_longer_fits() -> None:
    problem = _problem(
        [
            _p("A", 90, 5),
            _p("B", 80, 4),
            _p("C", 70, 3),  # 1万 left: skipped
            _p("D", 65, 1),  # fits the last 1万 although ranked below C
            _p("E", 50, 1),  # below the pass line
        ]
    )
    result = _legal(problem, greedy_by_score(problem))
    assert _grants(result) == {"A": (5 * WAN, ""), "B": (4 * WAN, ""), "D": (1 * WAN, "")}
    assert _reasons(result) == {
        "C": (UnfundedReason.BUDGET_EXHAUSTED, "rules.total_budget_fen"),
        "E": (UnfundedReason.BELOW_PASS_LINE, "rules.pass_line"),
    }
    assert result.objective == 90 + 80 + 65
    assert result.remaining_fen == 0


def test_partial_funding_takes_the_largest_amount_that_fits_in_whole_units() -> None:
    # After A, 3.75万 is left; B accepts down to 3万, so it gets all of it; C (at least 1万)
    # then finds nothing left.
    problem = _problem(
        [
            _p("A", 90, 6.25),
            _p("B", 80, 5, minimum_fen=3 * WAN),
            _p("C", 70, 2, minimum_fen=1 * WAN),
        ]
    )
    result = _legal(problem, greedy_by_score(problem))
    assert _grants(result) == {"A": (625 * UNIT, ""), "B": (375 * UNIT, "")}
    assert _reasons(result)["C"][0] is UnfundedReason.BUDGET_EXHAUSTED


def test_partial_amount_is_rounded_down_to_the_grant_unit() -> None:
    problem = _problem(
        [_p("A", 90, 6), _p("B", 80, 5, minimum_fen=2 * WAN)],
        total_budget_fen=10 * WAN - 5_000,  # 99,950 yuan
    )
    result = _legal(problem, greedy_by_score(problem))
    # 39,950 yuan are left after A; B gets 39,900 (whole units of 100 yuan).
    assert _grants(result) == {"A": (6 * WAN, ""), "B": (399 * UNIT, "")}


def test_pools_are_tried_in_order_and_a_full_grant_beats_a_partial_one() -> None:
    pools = (
        FundingPool("lottery", 5 * WAN, eligible_domains=("elderly",)),
        FundingPool("community", 5 * WAN),
    )
    problem = _problem(
        [
            _p("A", 90, 4),  # lottery, the first eligible pool
            _p("B", 85, 3, minimum_fen=1 * WAN),  # lottery has 1万: community pays in full
            _p("C", 80, 3, domain="youth"),  # community only: 2万 left, skipped
            _p("D", 75, 3, minimum_fen=1 * WAN),  # no full grant: the larger rest (2万)
        ],
        total_budget_fen=10 * WAN,
        pools=pools,
    )
    result = _legal(problem, greedy_by_score(problem))
    assert _grants(result) == {
        "A": (4 * WAN, "lottery"),
        "B": (3 * WAN, "community"),
        "D": (2 * WAN, "community"),
    }
    assert _reasons(result)["C"] == (UnfundedReason.POOL_EXHAUSTED, "rules.pools[1].amount_fen")


def test_one_grant_per_organization() -> None:
    problem = _problem([_p("A", 90, 2, organization_id="o1"), _p("B", 80, 2, organization_id="o1")])
    result = _legal(problem, greedy_by_score(problem))
    assert set(_grants(result)) == {"A"}
    assert _reasons(result)["B"] == (
        UnfundedReason.ORGANIZATION_LIMIT,
        "rules.max_grants_per_organization",
    )
    relaxed = dataclasses.replace(
        problem, rules=dataclasses.replace(problem.rules, max_grants_per_organization=2)
    )
    assert set(_grants(greedy_by_score(relaxed))) == {"A", "B"}


def test_maximum_quotas_stop_a_domain() -> None:
    problem = _problem(
        [_p("A", 90, 2), _p("B", 80, 2), _p("C", 70, 2, domain="youth")],
        quotas=(Quota(Dimension.DOMAIN, "elderly", max_count=1),),
    )
    result = _legal(problem, greedy_by_score(problem))
    assert set(_grants(result)) == {"A", "C"}
    assert _reasons(result)["B"] == (UnfundedReason.DOMAIN_MAXIMUM, "rules.quotas[0]")


def test_minimum_quotas_are_not_looked_ahead_to() -> None:
    problem = _problem(
        [_p("A", 90, 6), _p("B", 80, 4), _p("C", 70, 3, domain="youth")],
        quotas=(Quota(Dimension.DOMAIN, "youth", min_count=1),),
    )
    result = greedy_by_score(problem)
    assert result.status is SolveStatus.NO_SOLUTION_FOUND
    assert set(_grants(result)) == {"A", "B"}  # what the spreadsheet funds, still returned
    assert result.quota_violations == (QuotaViolation("rules.quotas[0]", 1, 0),)
    assert [n.code for n in result.notices] == [GREEDY_MISSED_RULES]
    soft = dataclasses.replace(
        problem, rules=dataclasses.replace(problem.rules, quota_mode=QuotaMode.SOFT)
    )
    _legal(soft, greedy_by_score(soft))  # soft mode: the miss is reported, not fatal


def test_region_coverage_missed_is_named() -> None:
    problem = _problem(
        [_p("A", 90, 10), _p("B", 80, 1, region="west")], require_region_coverage=True
    )
    result = greedy_by_score(problem)
    assert result.status is SolveStatus.NO_SOLUTION_FOUND
    assert result.quota_violations == (QuotaViolation("rules.require_region_coverage[west]", 1, 0),)


def test_locked_approvals_come_first_and_rejections_stay_out() -> None:
    problem = _problem(
        [_p("A", 90, 6), _p("B", 80, 5), _p("C", 70, 4)],
        locked_decisions=(
            LockedDecision("C", LockKind.APPROVED, amount_fen=4 * WAN),
            LockedDecision("A", LockKind.REJECTED),
        ),
    )
    result = _legal(problem, greedy_by_score(problem))
    assert _grants(result) == {"B": (5 * WAN, ""), "C": (4 * WAN, "")}
    assert [a.locked for a in result.awards] == [False, True]  # awards stay in rank order
    assert _reasons(result)["A"][0] is UnfundedReason.LOCKED_REJECTED


def test_score_weighted_objective_is_reported_in_its_units() -> None:
    problem = _problem([_p("A", 90, 2)], objective=Objective.SCORE_WEIGHTED_AMOUNT)
    assert _legal(problem, greedy_by_score(problem)).objective == 90 * 2


@given(tiny_problems())
def test_greedy_is_legal_when_it_says_so_and_never_beats_the_optimum(
    problem: AllocationProblem,
) -> None:
    result = greedy_by_score(problem)
    again = greedy_by_score(problem)
    assert dataclasses.replace(result, timings=()) == dataclasses.replace(again, timings=())
    best = brute_force(problem)
    if result.status is SolveStatus.FEASIBLE:
        assert violations(problem, result) == []
        assert best.feasible
        if problem.rules.objective is not Objective.RANK_ORDER:
            assert result.objective <= best.objective + 1e-9
    else:
        assert result.status in (SolveStatus.NO_SOLUTION_FOUND, SolveStatus.INFEASIBLE)
