"""The shared validator catches every kind of illegal or inconsistent allocation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from matching.allocation.bounds import prepare
from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    AllocationResult,
    AllocationRules,
    Award,
    Dimension,
    FundingPool,
    LockedDecision,
    LockKind,
    Quota,
    QuotaMode,
    QuotaViolation,
    Unfunded,
    UnfundedReason,
)
from matching.allocation.verify import objective_of, spend_of, violations
from matching.status import SolveStatus

WAN = 1_000_000  # 1万 yuan in fen


def _proposal(
    pid: str, score: float | None, domain: str, region: str, org: str
) -> AllocationProposal:
    return AllocationProposal(
        pid, score, organization_id=org, domain=domain, region=region, requested_fen=3 * WAN
    )


PROPOSALS = (
    _proposal("A", 90.0, "elderly", "east", "o1"),
    _proposal("B", 80.0, "youth", "west", "o2"),
    _proposal("C", 70.0, "elderly", "west", "o1"),  # same organization as A
    _proposal("D", 50.0, "youth", "east", "o3"),  # below the pass line
)
POOLS = (
    FundingPool("lottery", 4 * WAN, eligible_domains=("elderly",)),
    FundingPool("community", 5 * WAN),
)


def _problem(**rules: object) -> AllocationProblem:
    base = AllocationRules(
        total_budget_fen=10 * WAN, pools=POOLS, pass_line=60.0, grant_unit_fen=10_000
    )
    return AllocationProblem(PROPOSALS, dataclasses.replace(base, **rules))  # type: ignore[arg-type]


def _result(
    problem: AllocationProblem,
    funded: dict[str, tuple[int, str]],
    violations_reported: tuple[QuotaViolation, ...] = (),
) -> AllocationResult:
    """A self-consistent result funding `funded` (id -> amount, pool); unfunded by prepare."""
    prepared = prepare(problem)
    by_id = {p.proposal_id: p for p in problem.proposals}
    locked = {d.proposal_id for d in problem.rules.locked_decisions if d.kind is LockKind.APPROVED}
    awards = tuple(
        Award(pid, amount, pool, by_id[pid].requested_fen, by_id[pid].score or 0.0, pid in locked)
        for pid in [problem.proposals[i].proposal_id for i in prepared.rank_order]
        if pid in funded
        for amount, pool in [funded[pid]]
    )
    excluded = {problem.proposals[e.index].proposal_id: e for e in prepared.exclusions}
    unfunded = tuple(
        Unfunded(p.proposal_id, excluded[p.proposal_id].reason, excluded[p.proposal_id].rule, "")
        if p.proposal_id in excluded
        else Unfunded(p.proposal_id, UnfundedReason.BUDGET_EXHAUSTED, "rules.total_budget_fen", "")
        for p in problem.proposals
        if p.proposal_id not in funded
    )
    awarded = sum(a.amount_fen for a in awards)
    objective = objective_of(problem, awards)
    return AllocationResult(
        status=SolveStatus.OPTIMAL,
        awards=awards,
        unfunded=unfunded,
        spend=spend_of(problem, awards),
        available_fen=prepared.available_fen,
        awarded_fen=awarded,
        remaining_fen=prepared.available_fen - awarded,
        objective=objective,
        best_bound=objective,
        quota_violations=violations_reported,
    )


LEGAL = {"A": (3 * WAN, "lottery"), "B": (3 * WAN, "community")}


def test_a_legal_allocation_has_no_violations() -> None:
    problem = _problem()
    assert violations(problem, _result(problem, LEGAL)) == []


@pytest.mark.parametrize(
    ("funded", "expected"),
    [
        # C is A's organization's second grant (limit 1).
        ({**LEGAL, "C": (3 * WAN, "community")}, 'organization "o1" gets 2 grants'),
        # D is below the pass line: its own rules exclude it.
        ({**LEGAL, "D": (3 * WAN, "community")}, '"D" is funded but its own rules exclude it'),
        # B (youth) may not be paid from the elderly-only lottery pool.
        ({"B": (3 * WAN, "lottery")}, 'paid from pool "lottery", not eligible'),
        # More than requested.
        ({"A": (4 * WAN, "lottery")}, "outside its legal range"),
        # Not a multiple of the 100-yuan unit.
        ({"A": (2 * WAN + 5, "lottery")}, "not a multiple of 10000"),
        # The lottery pool holds 4万; A and C both from it is 6万 (C's org clash aside).
        ({"A": (3 * WAN, "lottery"), "C": (3 * WAN, "lottery")}, 'pool "lottery" pays 6000000'),
    ],
)
def test_rule_breaches_are_found(funded: dict[str, tuple[int, str]], expected: str) -> None:
    problem = _problem()
    found = violations(problem, _result(problem, funded))
    assert any(expected in f for f in found), found


def test_budget_beyond_the_available_money_is_found() -> None:
    # Reserve 50%: 5万 available, two grants of 3万 are 6万.
    problem = _problem(reserve_bp=5000)
    found = violations(problem, _result(problem, LEGAL))
    assert any("more than the 5000000 available" in f for f in found)


def test_hard_quotas_and_coverage_must_hold() -> None:
    quota = Quota(Dimension.DOMAIN, "elderly", min_count=2)
    problem = _problem(quotas=(quota,), require_region_coverage=True)
    found = violations(problem, _result(problem, {"A": (3 * WAN, "lottery")}))
    assert "rules.quotas[0] is not met (count off by 1, amount by 0 fen)" in found
    assert any("rules.require_region_coverage[west]" in f for f in found)


def test_soft_quota_misses_must_be_reported_exactly() -> None:
    quota = Quota(Dimension.DOMAIN, "elderly", min_count=2, min_amount_fen=7 * WAN)
    problem = _problem(quotas=(quota,), quota_mode=QuotaMode.SOFT)
    exact = (QuotaViolation("rules.quotas[0]", 1, 4 * WAN),)  # one grant of 3万 against 2 / 7万
    assert violations(problem, _result(problem, {"A": (3 * WAN, "lottery")}, exact)) == []
    wrong = (QuotaViolation("rules.quotas[0]", 1, 3 * WAN),)
    found = violations(problem, _result(problem, {"A": (3 * WAN, "lottery")}, wrong))
    assert found == ["rules.quotas[0]: actual miss (1, 4000000) but reported (1, 3000000)"]


def test_locked_decisions_must_hold() -> None:
    locks = (
        LockedDecision("B", LockKind.APPROVED, amount_fen=2 * WAN, pool_id="community"),
        LockedDecision("A", LockKind.REJECTED),
    )
    problem = _problem(locked_decisions=locks)
    assert violations(problem, _result(problem, {"B": (2 * WAN, "community")})) == []
    moved = violations(problem, _result(problem, {"B": (3 * WAN, "community")}))
    assert any("agreed 2000000 fen, awarded 3000000" in f for f in moved)
    dropped = violations(problem, _result(problem, {}))
    assert any("approved 'B' but it is not funded" in f for f in dropped)


def _tamper(change: Callable[[AllocationResult], AllocationResult], expected: str) -> None:
    problem = _problem()
    found = violations(problem, change(_result(problem, LEGAL)))
    assert any(expected in f for f in found), found


def test_bookkeeping_is_recomputed_not_trusted() -> None:
    _tamper(lambda r: dataclasses.replace(r, awarded_fen=1), "available/awarded/remaining")
    _tamper(lambda r: dataclasses.replace(r, objective=r.objective + 1), "but the awards reach")
    _tamper(lambda r: dataclasses.replace(r, spend=r.spend[1:]), "spend lines do not match")
    _tamper(lambda r: dataclasses.replace(r, awards=r.awards[::-1]), "not in score order")
    _tamper(lambda r: dataclasses.replace(r, best_bound=r.objective - 5), "best bound")
    _tamper(lambda r: dataclasses.replace(r, unfunded=r.unfunded[:-1]), "neither funded nor listed")
    _tamper(lambda r: dataclasses.replace(r, unfunded=r.unfunded[::-1]), "not in request order")


def test_exclusions_must_keep_prepares_reason() -> None:
    def relabel(result: AllocationResult) -> AllocationResult:
        unfunded = tuple(
            dataclasses.replace(u, reason=UnfundedReason.BUDGET_EXHAUSTED) for u in result.unfunded
        )
        return dataclasses.replace(result, unfunded=unfunded)

    _tamper(relabel, '"D" should be unfunded with below_pass_line (rules.pass_line)')


def test_infeasible_results_carry_no_awards() -> None:
    problem = _problem()
    result = dataclasses.replace(_result(problem, LEGAL), status=SolveStatus.INFEASIBLE)
    assert any("status infeasible but 2 awards" in f for f in violations(problem, result))
