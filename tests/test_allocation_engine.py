"""The allocation engine: hand-checked small rounds.

Every expected value below is worked out by hand in the comment next to it (which sets fit the
budget and what they score); none is copied from the engine's output. Every result also passes
the shared validator (matching.allocation.verify), through `_allocate`.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from matching.allocation.engine import MARGINS_NOT_COMPUTED, TIME_LIMIT_REACHED, allocate
from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    AllocationResult,
    Dimension,
    FundingPool,
    LockedDecision,
    LockKind,
    Objective,
    Quota,
    QuotaMode,
    QuotaViolation,
    ScoreBand,
    Spend,
    TierRule,
    Unfunded,
    UnfundedReason,
)
from matching.allocation.validate import validate_problem
from matching.allocation.verify import violations
from matching.status import SolveStatus
from tests.allocation_builders import UNIT, WAN
from tests.allocation_builders import problem as _problem
from tests.allocation_builders import proposal as _p


def _with_rules(problem: AllocationProblem, **rules: object) -> AllocationProblem:
    return dataclasses.replace(problem, rules=dataclasses.replace(problem.rules, **rules))  # type: ignore[arg-type]


def _with_score(problem: AllocationProblem, pid: str, score: float) -> AllocationProblem:
    proposals = tuple(
        dataclasses.replace(p, score=score) if p.proposal_id == pid else p
        for p in problem.proposals
    )
    return dataclasses.replace(problem, proposals=proposals)


def _allocate(problem: AllocationProblem) -> AllocationResult:
    """The engine's answer to a valid problem, checked by the shared validator."""
    validate_problem(problem)
    result = allocate(problem)
    assert violations(problem, result) == []
    return result


def _optimal(problem: AllocationProblem) -> AllocationResult:
    result = _allocate(problem)
    assert result.status is SolveStatus.OPTIMAL
    assert result.best_bound == pytest.approx(result.objective, abs=1e-9)
    return result


def _grants(result: AllocationResult) -> dict[str, tuple[int, str]]:
    return {a.proposal_id: (a.amount_fen, a.pool_id) for a in result.awards}


def _funded(result: AllocationResult) -> set[str]:
    return {a.proposal_id for a in result.awards}


def _reasons(result: AllocationResult) -> dict[str, tuple[UnfundedReason, str]]:
    return {u.proposal_id: (u.reason, u.rule) for u in result.unfunded}


def _unfunded(result: AllocationResult, pid: str) -> Unfunded:
    return next(u for u in result.unfunded if u.proposal_id == pid)


# ---------------------------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------------------------


def _one_big_or_two_small() -> AllocationProblem:
    return _problem([_p("A", 90, 10), _p("B", 80, 5), _p("C", 80, 5)])


def test_total_score_funds_two_proposals_over_one_that_takes_the_whole_budget() -> None:
    # Budget 10万. Sets that fit: {A} (10万) = 90; {B, C} (5万 + 5万) = 160; {B} or {C} = 80.
    # Greedy by score would fund A alone and waste the chance of 160.
    result = _optimal(_one_big_or_two_small())
    assert _grants(result) == {"B": (5 * WAN, ""), "C": (5 * WAN, "")}
    assert result.objective == 160
    assert _reasons(result) == {"A": (UnfundedReason.BUDGET_EXHAUSTED, "rules.total_budget_fen")}


def test_score_weighted_amount_prefers_the_money_going_to_the_higher_score() -> None:
    # Objective = Σ score × grant / 1万 yuan. {A}: 90 × 10 = 900; {B, C}: 80 × 5 + 80 × 5 = 800.
    problem = _with_rules(_one_big_or_two_small(), objective=Objective.SCORE_WEIGHTED_AMOUNT)
    result = _optimal(problem)
    assert _grants(result) == {"A": (10 * WAN, "")}
    assert result.objective == pytest.approx(900)


def _weighted_versus_count() -> AllocationProblem:
    return _problem(
        [
            _p("A", 90, 6),
            _p("B", 80, 6, minimum_fen=WAN // 2),  # 0.5万 to 6万
            _p("C", 70, 3),
        ]
    )


def test_score_weighted_amount_with_partial_funding() -> None:
    # Budget 10万, per 万 granted: A 90, B 80, C 70; B takes any amount from 0.5万 to 6万.
    # A 6万 + B 4万 = 540 + 320 = 860; A 6万 + C 3万 + B 1万 = 540 + 210 + 80 = 830;
    # B 6万 + C 3万 = 480 + 210 = 690 (1万 left, A does not fit). Best: A and B at 4万.
    problem = _with_rules(_weighted_versus_count(), objective=Objective.SCORE_WEIGHTED_AMOUNT)
    result = _optimal(problem)
    assert _grants(result) == {"A": (6 * WAN, ""), "B": (4 * WAN, "")}
    assert result.objective == pytest.approx(860)
    assert _reasons(result)["C"][0] is UnfundedReason.BUDGET_EXHAUSTED


def test_total_score_counts_proposals_then_funds_them_as_fully_as_money_allows() -> None:
    # Same round by total score: A + B + C fit with B at its 0.5万 minimum (6 + 0.5 + 3 = 9.5万)
    # and score 240, more than any pair. Then B is raised to the 1万 that is left.
    result = _optimal(_weighted_versus_count())
    assert _grants(result) == {"A": (6 * WAN, ""), "B": (1 * WAN, ""), "C": (3 * WAN, "")}
    assert result.objective == 240
    assert result.remaining_fen == 0


def test_rank_order_funds_the_top_proposal_even_when_two_below_it_score_more() -> None:
    # A ranks first and fits the 10万 alone, so it is funded; B and C then find nothing left.
    problem = _with_rules(_one_big_or_two_small(), objective=Objective.RANK_ORDER)
    result = _optimal(problem)
    assert _grants(result) == {"A": (10 * WAN, "")}
    assert result.objective == 90
    assert _reasons(result) == {
        "B": (UnfundedReason.BUDGET_EXHAUSTED, "rules.total_budget_fen"),
        "C": (UnfundedReason.BUDGET_EXHAUSTED, "rules.total_budget_fen"),
    }
    assert result.margins == ()
    assert MARGINS_NOT_COMPUTED in [n.code for n in result.notices]


def test_rank_order_skips_what_no_longer_fits_and_funds_a_lower_one_that_does() -> None:
    # Down the ranking with 10万: A 6万 in (4万 left); B 5万 does not fit; C 4万 fits (0 left);
    # D 1万 does not. Funded {A, C} = 160 (total score would fund B + C + D = 215).
    problem = _problem(
        [_p("A", 90, 6), _p("B", 80, 5), _p("C", 70, 4), _p("D", 65, 1)],
        objective=Objective.RANK_ORDER,
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (6 * WAN, ""), "C": (4 * WAN, "")}
    assert result.objective == 160
    assert set(_reasons(result)) == {"B", "D"}


def test_rank_order_skips_a_higher_proposal_only_when_a_minimum_quota_forces_it() -> None:
    # Youth needs a grant (C, 3万). Down the ranking: A (6万) fits beside C (9万): in.
    # B (4万) would need 6 + 4 + 3 = 13万 with A and C: out. C: in. Funded {A, C} = 160.
    problem = _with_rules(_youth_minimum(), objective=Objective.RANK_ORDER)
    result = _optimal(problem)
    assert _funded(result) == {"A", "C"}
    assert _reasons(result)["B"] == (UnfundedReason.DISPLACED_BY_QUOTA, "rules.quotas[0]")


def test_rank_order_leaves_out_the_top_proposal_when_the_minimums_leave_it_no_room() -> None:
    # Youth needs one of Y1 (3万), Y2 (2万); the west needs W (4万). A (5万) with W and the
    # cheaper youth grant is 11万 > 10万: A cannot be funded at all. Then Y1, Y2 and W all fit
    # (9万): 75 + 72 + 65 = 212, which is also the best total score.
    problem = _problem(
        [
            _p("A", 90, 5),
            _p("Y1", 75, 3, domain="youth"),
            _p("Y2", 72, 2, domain="youth"),
            _p("W", 65, 4, region="west"),
        ],
        quotas=(
            Quota(Dimension.DOMAIN, "youth", min_count=1),
            Quota(Dimension.REGION, "west", min_count=1),
        ),
    )
    for objective in (Objective.RANK_ORDER, Objective.TOTAL_SCORE):
        result = _optimal(_with_rules(problem, objective=objective))
        assert _funded(result) == {"Y1", "Y2", "W"}
        assert result.objective == 212
        # W is the only grant a minimum cannot do without, and it ranks below A.
        assert _reasons(result)["A"] == (UnfundedReason.DISPLACED_BY_QUOTA, "rules.quotas[1]")


def test_rank_order_gives_full_amounts_in_rank_order_while_the_money_lasts() -> None:
    # Both fit at their 1万 minimums, so both are funded; then A gets its full 6万 first and
    # B the 4万 that is left.
    problem = _problem(
        [_p("A", 90, 6, minimum_fen=WAN), _p("B", 80, 6, minimum_fen=WAN)],
        objective=Objective.RANK_ORDER,
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (6 * WAN, ""), "B": (4 * WAN, "")}


# ---------------------------------------------------------------------------------------------
# Partial funding
# ---------------------------------------------------------------------------------------------


def test_partial_grant_is_raised_to_the_request_when_money_allows() -> None:
    # A 5万 + B at least 1万 fit; 5万 is left after A, so B gets its full 3万; 2万 stays.
    problem = _problem([_p("A", 90, 5), _p("B", 80, 3, minimum_fen=WAN)])
    result = _optimal(problem)
    assert _grants(result) == {"A": (5 * WAN, ""), "B": (3 * WAN, "")}
    assert (result.awarded_fen, result.remaining_fen) == (8 * WAN, 2 * WAN)


def test_partial_grant_takes_what_is_left_in_whole_grant_units() -> None:
    # Budget 99,950 yuan. {A, B} = 170 with B at least 2万. After A's 6万, 39,950 yuan are left:
    # B gets 39,900 yuan (399 units of 100 yuan), not its 5万 request.
    problem = _problem(
        [_p("A", 90, 6), _p("B", 80, 5, minimum_fen=2 * WAN)],
        total_budget_fen=10 * WAN - 5_000,
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (6 * WAN, ""), "B": (399 * UNIT, "")}
    assert result.remaining_fen == 5_000


def test_partial_grant_is_raised_using_the_pool_with_room() -> None:
    # Pools "small" 2万 and "big" 5万 (budget = 7万). A asks 5万, accepts 1万. The only score
    # is A's 90 whatever pool pays; the fullest funding is 5万 from "big".
    problem = _problem(
        [_p("A", 90, 5, minimum_fen=WAN)],
        total_budget_fen=0,
        pools=(FundingPool("small", 2 * WAN), FundingPool("big", 5 * WAN)),
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (5 * WAN, "big")}


def test_rank_order_full_amount_uses_the_pool_with_room() -> None:
    # As above under RANK_ORDER: A is the only proposal and 5万 of the 7万 is in "big".
    problem = _problem(
        [_p("A", 90, 5, minimum_fen=WAN)],
        total_budget_fen=0,
        pools=(FundingPool("small", 2 * WAN), FundingPool("big", 5 * WAN)),
        objective=Objective.RANK_ORDER,
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (5 * WAN, "big")}


# ---------------------------------------------------------------------------------------------
# Budget reserve and pools
# ---------------------------------------------------------------------------------------------


def test_reserve_keeps_a_share_of_the_budget_aside() -> None:
    # 10% of 10万 is kept: 9万 available. {A, B} = 9万, 170; {A, C} = 6万, 160;
    # {A, B, C} = 10万 does not fit (it would without the reserve).
    problem = _problem(
        [_p("A", 90, 5), _p("B", 80, 4), _p("C", 70, 1)],
        reserve_bp=1000,
    )
    result = _optimal(problem)
    assert _funded(result) == {"A", "B"}
    assert (result.available_fen, result.awarded_fen, result.remaining_fen) == (9 * WAN, 9 * WAN, 0)
    assert _reasons(result)["C"] == (UnfundedReason.BUDGET_EXHAUSTED, "rules.total_budget_fen")
    unreserved = _optimal(_with_rules(problem, reserve_bp=0))
    assert _funded(unreserved) == {"A", "B", "C"}


def _lottery_round() -> AllocationProblem:
    # The lottery pool (4万) funds elderly services only; the general pool (6万) anything.
    pools = (
        FundingPool("lottery", 4 * WAN, eligible_domains=("elderly",)),
        FundingPool("general", 6 * WAN),
    )
    return _problem(
        [
            _p("Y1", 90, 6, domain="youth"),
            _p("Y2", 85, 3, domain="youth"),
            _p("E1", 80, 4),
        ],
        total_budget_fen=0,
        pools=pools,
    )


def test_pool_eligibility_keeps_the_lottery_pool_for_elderly_services() -> None:
    # Youth can only use general (6万): Y1 or Y2, not both (9万). E1 fits the lottery.
    # {Y1, E1} = 170; {Y2, E1} = 165. E1 must be in the lottery (general is full with Y1).
    result = _optimal(_lottery_round())
    assert _grants(result) == {"Y1": (6 * WAN, "general"), "E1": (4 * WAN, "lottery")}
    assert result.available_fen == 10 * WAN  # no total given: the sum of the pools
    assert _reasons(result)["Y2"] == (UnfundedReason.POOL_EXHAUSTED, "rules.pools[1].amount_fen")


# ---------------------------------------------------------------------------------------------
# Per-proposal amounts: tier caps, min grant, score bands, unit, project share, donation match
# ---------------------------------------------------------------------------------------------


def test_tier_cap_limits_the_grant() -> None:
    # The seed tier grants at most 2万: A asks 5万 and (accepting only the capped amount)
    # gets 2万; B in another tier gets its 3万.
    problem = _problem(
        [_p("A", 90, 5, tier="seed"), _p("B", 80, 3, tier="growth")],
        tiers=(TierRule("seed", max_grant_fen=2 * WAN),),
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (2 * WAN, ""), "B": (3 * WAN, "")}


def test_min_grant_raises_the_smallest_acceptable_grant() -> None:
    # B asks 8.5万 in full. A accepts 1万 to 5万.
    # No minimum grant: A at 1.5万 + B 8.5万 = 10万 fits: 170.
    # Minimum grant 2万: A needs at least 2万, and 2 + 8.5 > 10: A alone (90) at its 5万.
    problem = _problem([_p("A", 90, 5, minimum_fen=WAN), _p("B", 80, 8.5)])
    result = _optimal(problem)
    assert _grants(result) == {"A": (150 * UNIT, ""), "B": (850 * UNIT, "")}
    floored = _optimal(_with_rules(problem, min_grant_fen=2 * WAN))
    assert _grants(floored) == {"A": (5 * WAN, "")}


def test_score_bands_fix_the_funded_share() -> None:
    # Bands: 85+: 100%, 75+: 80%, 60+: 60%. A 90 asks 4万 -> 4万; B 80 asks 5万 -> 4万;
    # C 70 asks 3万 -> 1.8万. Together 9.8万 of 10万.
    problem = _problem(
        [_p("A", 90, 4), _p("B", 80, 5), _p("C", 70, 3)],
        score_bands=(ScoreBand(85, 10_000), ScoreBand(75, 8_000), ScoreBand(60, 6_000)),
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (4 * WAN, ""), "B": (4 * WAN, ""), "C": (180 * UNIT, "")}
    assert result.remaining_fen == 20 * UNIT


def test_banded_amount_is_rounded_down_to_the_grant_unit() -> None:
    # 75 opens the 80% band. 80% of 33,300 yuan is 26,640 yuan: 266 whole units of 100 yuan.
    problem = _problem(
        [_p("A", 75, 3.33)],
        score_bands=(ScoreBand(75, 8_000), ScoreBand(60, 6_000)),
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (266 * UNIT, "")}


def test_project_share_caps_the_grant_at_60_percent_of_the_project_budget() -> None:
    # A asks 5万 of a 6万 project: 60% is 3.6万. B gives no project budget: no cap, with a notice.
    problem = _problem(
        [_p("A", 90, 5, project_budget_fen=6 * WAN), _p("B", 80, 2)],
        max_project_share_bp=6000,
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (360 * UNIT, ""), "B": (2 * WAN, "")}
    unknown = [n for n in result.notices if n.code == "PROJECT_BUDGET_UNKNOWN"]
    assert len(unknown) == 1 and unknown[0].subject_ids == ("B",)


def test_donation_match_caps_the_grant() -> None:
    # Match 2 × donations: A raised 1.2万, so at most 2.4万 of its 5万 request; B raised
    # nothing, so no grant is legal for it.
    problem = _problem(
        [_p("A", 90, 5, donations_fen=120 * UNIT), _p("B", 80, 2)],
        donation_match_bp=20_000,
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (240 * UNIT, "")}
    assert _reasons(result)["B"] == (UnfundedReason.INELIGIBLE, "rules.donation_match_bp")


# ---------------------------------------------------------------------------------------------
# Organizations
# ---------------------------------------------------------------------------------------------


def test_one_grant_per_organization_by_default() -> None:
    # A (8万) and B (2万) are both o1's; C (7万) is o2's. One grant per organization:
    # {A} = 90 (C no longer fits), {B, C} = 9万, 150. Two per organization: {A, B} = 170.
    problem = _problem(
        [
            _p("A", 90, 8, organization_id="o1"),
            _p("B", 80, 2, organization_id="o1"),
            _p("C", 70, 7, organization_id="o2"),
        ]
    )
    result = _optimal(problem)
    assert _funded(result) == {"B", "C"}
    assert result.objective == 150
    assert _reasons(result)["A"] == (
        UnfundedReason.ORGANIZATION_LIMIT,
        "rules.max_grants_per_organization",
    )
    two = _optimal(_with_rules(problem, max_grants_per_organization=2))
    assert _funded(two) == {"A", "B"}
    assert two.objective == 170


# ---------------------------------------------------------------------------------------------
# Quotas and region coverage
# ---------------------------------------------------------------------------------------------


def _youth_minimum() -> AllocationProblem:
    return _problem(
        [_p("A", 90, 6), _p("B", 80, 4), _p("C", 70, 3, domain="youth")],
        quotas=(Quota(Dimension.DOMAIN, "youth", min_count=1),),
    )


def test_minimum_domain_count_forces_a_lower_scored_proposal_in() -> None:
    # Without the quota {A, B} = 170. With C required: {A, C} = 9万, 160; {B, C} = 150.
    result = _optimal(_youth_minimum())
    assert _funded(result) == {"A", "C"}
    assert result.objective == 160
    free = _optimal(_with_rules(_youth_minimum(), quotas=()))
    assert _funded(free) == {"A", "B"}


def test_maximum_domain_count() -> None:
    # At most one elderly grant: A (90) rather than B (80); C is youth.
    problem = _problem(
        [_p("A", 90, 2), _p("B", 80, 2), _p("C", 70, 2, domain="youth")],
        quotas=(Quota(Dimension.DOMAIN, "elderly", max_count=1),),
    )
    result = _optimal(problem)
    assert _funded(result) == {"A", "C"}


def test_minimum_and_maximum_region_counts() -> None:
    # At most 2 grants in the east, at least 1 in the west. Without quotas {A, B, C} = 255
    # (9万). With them: two of the east ones (A, B) and W: 90 + 85 + 60 = 235 (9万).
    problem = _problem(
        [
            _p("A", 90, 3),
            _p("B", 85, 3),
            _p("C", 80, 3),
            _p("W", 60, 3, region="west"),
        ],
        quotas=(
            Quota(Dimension.REGION, "east", max_count=2),
            Quota(Dimension.REGION, "west", min_count=1),
        ),
    )
    result = _optimal(problem)
    assert _funded(result) == {"A", "B", "W"}
    assert result.objective == 235


def test_maximum_domain_amount_cuts_a_partial_grant() -> None:
    # Elderly grants total at most 5万: A 3万 + B (1万 to 3万) gets 2万; C is youth.
    # All three count 240; B then gets as much as the quota leaves.
    problem = _problem(
        [_p("A", 90, 3), _p("B", 80, 3, minimum_fen=WAN), _p("C", 70, 3, domain="youth")],
        quotas=(Quota(Dimension.DOMAIN, "elderly", max_amount_fen=5 * WAN),),
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (3 * WAN, ""), "B": (2 * WAN, ""), "C": (3 * WAN, "")}


def _youth_money_minimum() -> AllocationProblem:
    return _problem(
        [_p("A", 90, 5), _p("B", 85, 5), _p("Y", 70, 5, domain="youth", minimum_fen=WAN)],
        quotas=(Quota(Dimension.DOMAIN, "youth", min_amount_fen=4 * WAN),),
    )


def test_minimum_domain_amount() -> None:
    # Without the quota {A, B} = 175 fills the 10万. Youth needs at least 4万, so Y gets 4万 to
    # 5万 and one of A, B fits: {A, Y} = 160 > {B, Y} = 155; Y then gets the 5万 left.
    result = _optimal(_youth_money_minimum())
    assert _grants(result) == {"A": (5 * WAN, ""), "Y": (5 * WAN, "")}


def _coverage_round() -> AllocationProblem:
    return _problem(
        [_p("A", 90, 6), _p("B", 80, 4), _p("C", 70, 3, region="west")],
        require_region_coverage=True,
    )


def test_region_coverage_funds_every_region() -> None:
    # West must get a grant: C. Then {A, C} = 160 (9万) beats {B, C} = 150.
    result = _optimal(_coverage_round())
    assert _funded(result) == {"A", "C"}
    assert result.spend == (
        Spend(Dimension.DOMAIN, "elderly", 9 * WAN, 2),
        Spend(Dimension.REGION, "east", 6 * WAN, 1),
        Spend(Dimension.REGION, "west", 3 * WAN, 1),
        Spend(Dimension.TIER, "", 9 * WAN, 2),
    )


# ---------------------------------------------------------------------------------------------
# Locked decisions
# ---------------------------------------------------------------------------------------------


def _three() -> list[AllocationProposal]:
    return [_p("A", 90, 6), _p("B", 80, 4), _p("C", 70, 5)]


def test_locked_approval_stays_funded_against_the_optimiser() -> None:
    # Unlocked: {A, B} = 170. With C (5万) approved: {B, C} = 9万, 150; A + C = 11万 does not fit.
    problem = _problem(_three(), locked_decisions=(LockedDecision("C", LockKind.APPROVED),))
    result = _optimal(problem)
    assert _grants(result) == {"B": (4 * WAN, ""), "C": (5 * WAN, "")}
    assert [a.locked for a in result.awards] == [False, True]
    assert _unfunded(result, "A").message == (
        "only ¥10,000 of the budget is left; it needs at least ¥60,000"
    )


def test_locked_approval_at_an_agreed_amount() -> None:
    # C (asking 5万 in full) is approved at an agreed 3万: {A, C} = 9万, 160 now fits.
    problem = _problem(
        _three(), locked_decisions=(LockedDecision("C", LockKind.APPROVED, amount_fen=3 * WAN),)
    )
    result = _optimal(problem)
    assert _grants(result) == {"A": (6 * WAN, ""), "C": (3 * WAN, "")}


def test_locked_approval_in_an_agreed_pool() -> None:
    # Lottery 5万 (elderly only), general 5万. Unlocked, E goes to the lottery and Y to general
    # (170). The committee put E in general: Y, youth, has no pool left.
    pools = (
        FundingPool("lottery", 5 * WAN, eligible_domains=("elderly",)),
        FundingPool("general", 5 * WAN),
    )
    problem = _problem(
        [_p("E", 90, 5), _p("Y", 80, 5, domain="youth")],
        total_budget_fen=0,
        pools=pools,
    )
    assert _grants(_optimal(problem)) == {"E": (5 * WAN, "lottery"), "Y": (5 * WAN, "general")}
    locked = _with_rules(
        problem, locked_decisions=(LockedDecision("E", LockKind.APPROVED, pool_id="general"),)
    )
    result = _optimal(locked)
    assert _grants(result) == {"E": (5 * WAN, "general")}
    assert _reasons(result)["Y"] == (UnfundedReason.POOL_EXHAUSTED, "rules.pools[1].amount_fen")


def test_locked_approval_in_an_ineligible_pool_says_which_rule_it_overrides() -> None:
    pools = (
        FundingPool("lottery", 5 * WAN, eligible_domains=("elderly",)),
        FundingPool("general", 5 * WAN),
    )
    problem = _problem(
        [_p("Y", 80, 5, domain="youth")],
        total_budget_fen=0,
        pools=pools,
        locked_decisions=(LockedDecision("Y", LockKind.APPROVED, pool_id="lottery"),),
    )
    result = _optimal(problem)
    assert _grants(result) == {"Y": (5 * WAN, "lottery")}  # the committee's decision stands
    assert "LOCK_OVERRIDES_RULE" in [n.code for n in result.notices]


def test_locked_rejection_stays_out() -> None:
    # A (the best) is rejected: {B, C} = 9万, 150.
    problem = _problem(_three(), locked_decisions=(LockedDecision("A", LockKind.REJECTED),))
    result = _optimal(problem)
    assert _funded(result) == {"B", "C"}
    assert result.objective == 150


def test_rerun_with_the_awards_locked_as_approved_gives_the_same_awards() -> None:
    problem = _lottery_round()
    first = _optimal(problem)
    locks = tuple(
        LockedDecision(a.proposal_id, LockKind.APPROVED, amount_fen=a.amount_fen, pool_id=a.pool_id)
        for a in first.awards
    )
    again = _optimal(_with_rules(problem, locked_decisions=locks))
    assert _grants(again) == _grants(first)
    assert all(a.locked for a in again.awards)
    loose = tuple(LockedDecision(a.proposal_id, LockKind.APPROVED) for a in first.awards)
    assert _grants(_optimal(_with_rules(problem, locked_decisions=loose))) == _grants(first)


# ---------------------------------------------------------------------------------------------
# Unfunded reasons, one each
# ---------------------------------------------------------------------------------------------


def test_reason_below_pass_line() -> None:
    result = _optimal(_problem([_p("A", 90, 2), _p("B", 55, 2)]))
    assert _unfunded(result, "B") == Unfunded(
        "B",
        UnfundedReason.BELOW_PASS_LINE,
        "rules.pass_line",
        "its score 55 is below the pass line 60",
    )


def test_reason_ineligible_below_every_score_band() -> None:
    problem = _problem(
        [_p("A", 90, 2), _p("B", 55, 2)],
        pass_line=None,
        score_bands=(ScoreBand(85, 10_000), ScoreBand(60, 6_000)),
    )
    unfunded = _unfunded(_optimal(problem), "B")
    assert (unfunded.reason, unfunded.rule) == (UnfundedReason.INELIGIBLE, "rules.score_bands")
    assert "55" in unfunded.message and "lowest starts at 60" in unfunded.message


def test_reason_ineligible_when_no_pool_admits_it() -> None:
    problem = _problem(
        [_p("A", 90, 2), _p("Y", 80, 2, domain="youth")],
        total_budget_fen=0,
        pools=(FundingPool("lottery", 10 * WAN, eligible_domains=("elderly",)),),
    )
    unfunded = _unfunded(_optimal(problem), "Y")
    assert (unfunded.reason, unfunded.rule) == (UnfundedReason.INELIGIBLE, "rules.pools")
    assert "no funding pool admits" in unfunded.message


def test_reason_ineligible_when_no_legal_amount_exists() -> None:
    # Tier cap 2万 but B accepts no less than 3万; C asks 1.5万 under the 2万 minimum grant.
    problem = _problem(
        [
            _p("A", 90, 2),
            _p("B", 80, 5, tier="seed", minimum_fen=3 * WAN),
            _p("C", 70, 1.5),
        ],
        tiers=(TierRule("seed", max_grant_fen=2 * WAN),),
        min_grant_fen=2 * WAN,
    )
    result = _optimal(problem)
    b, c = _unfunded(result, "B"), _unfunded(result, "C")
    assert (b.reason, b.rule) == (UnfundedReason.INELIGIBLE, "rules.tiers[0].max_grant_fen")
    assert "at most ¥20,000" in b.message and "at least ¥30,000" in b.message
    assert (c.reason, c.rule) == (UnfundedReason.INELIGIBLE, "rules.min_grant_fen")
    assert "at most ¥15,000" in c.message and "at least ¥20,000" in c.message


def test_reason_budget_exhausted() -> None:
    # {B, C} take the whole 10万; A needs 10万.
    unfunded = _unfunded(_optimal(_one_big_or_two_small()), "A")
    assert unfunded == Unfunded(
        "A",
        UnfundedReason.BUDGET_EXHAUSTED,
        "rules.total_budget_fen",
        "only ¥0 of the budget is left; it needs at least ¥100,000",
    )


def test_reason_pool_exhausted() -> None:
    # See the lottery round: general is spent on Y1; Y2 is youth and needs 3万 from it.
    unfunded = _unfunded(_optimal(_lottery_round()), "Y2")
    assert (unfunded.reason, unfunded.rule) == (
        UnfundedReason.POOL_EXHAUSTED,
        "rules.pools[1].amount_fen",
    )
    assert unfunded.message == "its eligible pool(s) have ¥0 left; it needs at least ¥30,000"


def test_reason_budget_not_pool_when_the_reserve_and_not_the_pool_runs_out() -> None:
    # One pool of 10万, 10% reserve: 9万 available. A takes 5万; 4万 of the budget is left but
    # 5万 of the pool: B (5万) is out because of the budget, not the pool.
    problem = _problem(
        [_p("A", 90, 5), _p("B", 80, 5)],
        reserve_bp=1000,
        pools=(FundingPool("p", 10 * WAN),),
    )
    unfunded = _unfunded(_optimal(problem), "B")
    assert (unfunded.reason, unfunded.rule) == (
        UnfundedReason.BUDGET_EXHAUSTED,
        "rules.total_budget_fen",
    )


def _maximum_round(dimension: Dimension, key: str, **other: str) -> AllocationProblem:
    # A and B share the capped attribute, C does not; all fit the budget.
    return _problem(
        [_p("A", 90, 2, tier="seed"), _p("B", 80, 2, tier="seed"), _p("C", 70, 2, **other)],
        quotas=(Quota(dimension, key, max_count=1),),
    )


def test_reason_domain_maximum() -> None:
    result = _optimal(_maximum_round(Dimension.DOMAIN, "elderly", domain="youth"))
    unfunded = _unfunded(result, "B")
    assert (unfunded.reason, unfunded.rule) == (UnfundedReason.DOMAIN_MAXIMUM, "rules.quotas[0]")
    assert unfunded.message == (
        "the maximum of at most 1 grant(s) in domain elderly is reached (it has 1 grant(s))"
    )


def test_reason_region_maximum() -> None:
    result = _optimal(_maximum_round(Dimension.REGION, "east", region="west"))
    unfunded = _unfunded(result, "B")
    assert (unfunded.reason, unfunded.rule) == (UnfundedReason.REGION_MAXIMUM, "rules.quotas[0]")
    assert "in region east" in unfunded.message


def test_reason_tier_maximum() -> None:
    result = _optimal(_maximum_round(Dimension.TIER, "seed", tier="growth"))
    unfunded = _unfunded(result, "B")
    assert (unfunded.reason, unfunded.rule) == (UnfundedReason.TIER_MAXIMUM, "rules.quotas[0]")
    assert "in tier seed" in unfunded.message


def test_reason_organization_limit() -> None:
    problem = _problem([_p("A", 90, 2, organization_id="o1"), _p("B", 80, 2, organization_id="o1")])
    unfunded = _unfunded(_optimal(problem), "B")
    assert unfunded == Unfunded(
        "B",
        UnfundedReason.ORGANIZATION_LIMIT,
        "rules.max_grants_per_organization",
        'organization "o1" already has 1 grant(s), the most allowed',
    )


def test_reason_locked_rejected() -> None:
    problem = _problem(
        _three(),
        locked_decisions=(
            LockedDecision("B", LockKind.APPROVED),
            LockedDecision("A", LockKind.REJECTED),
        ),
    )
    unfunded = _unfunded(_optimal(problem), "A")
    assert (unfunded.reason, unfunded.rule) == (
        UnfundedReason.LOCKED_REJECTED,
        "rules.locked_decisions[1]",
    )
    assert "rejected" in unfunded.message


def test_reason_displaced_by_a_minimum_quota() -> None:
    # B (80) is out because C (70, youth) is needed for the youth minimum.
    unfunded = _unfunded(_optimal(_youth_minimum()), "B")
    assert unfunded == Unfunded(
        "B",
        UnfundedReason.DISPLACED_BY_QUOTA,
        "rules.quotas[0]",
        'lower-ranked "C" (score 70) is funded instead to meet at least 1 grant(s) in domain '
        "youth; its grant would have paid for this one",
    )


def test_reason_displaced_by_a_minimum_amount_quota() -> None:
    unfunded = _unfunded(_optimal(_youth_money_minimum()), "B")
    assert (unfunded.reason, unfunded.rule) == (
        UnfundedReason.DISPLACED_BY_QUOTA,
        "rules.quotas[0]",
    )
    assert "at least ¥40,000 in domain youth" in unfunded.message


def test_reason_displaced_by_region_coverage() -> None:
    unfunded = _unfunded(_optimal(_coverage_round()), "B")
    assert (unfunded.reason, unfunded.rule) == (
        UnfundedReason.DISPLACED_BY_QUOTA,
        "rules.require_region_coverage[west]",
    )
    assert "at least one grant in region west" in unfunded.message


def test_reason_not_scored() -> None:
    result = _optimal(_problem([_p("A", 90, 2), _p("B", None, 2)]))
    assert _unfunded(result, "B") == Unfunded(
        "B", UnfundedReason.NOT_SCORED, "proposals[1].score", "it has no score"
    )
    assert [m.proposal_id for m in result.margins] == ["A"]


# ---------------------------------------------------------------------------------------------
# Status and numbers
# ---------------------------------------------------------------------------------------------


def test_status_money_and_spend_lines_per_pool_domain_region_and_tier() -> None:
    # Lottery 4万 (elderly only), general 6万. B (youth) can only use general. A and C (elderly)
    # cannot share the lottery (5万), and general has 1万 left after B:
    # {A, B} = 170; {A, C} = 160; {B, C} = 150. A goes to the lottery (general has 1万 left).
    pools = (
        FundingPool("lottery", 4 * WAN, eligible_domains=("elderly",)),
        FundingPool("general", 6 * WAN),
    )
    problem = _problem(
        [
            _p("A", 90, 3, tier="seed"),
            _p("B", 80, 5, domain="youth", region="west", tier="growth"),
            _p("C", 70, 2, region="west", tier="seed"),
        ],
        total_budget_fen=0,
        pools=pools,
    )
    result = _optimal(problem)
    assert result.objective == 170 and result.best_bound == 170
    assert _grants(result) == {"A": (3 * WAN, "lottery"), "B": (5 * WAN, "general")}
    assert (result.available_fen, result.awarded_fen, result.remaining_fen) == (
        10 * WAN,
        8 * WAN,
        2 * WAN,
    )
    assert result.spend == (
        Spend(Dimension.DOMAIN, "elderly", 3 * WAN, 1),
        Spend(Dimension.DOMAIN, "youth", 5 * WAN, 1),
        Spend(Dimension.REGION, "east", 3 * WAN, 1),
        Spend(Dimension.REGION, "west", 5 * WAN, 1),
        Spend(Dimension.TIER, "growth", 5 * WAN, 1),
        Spend(Dimension.TIER, "seed", 3 * WAN, 1),
        Spend(Dimension.POOL, "general", 5 * WAN, 1),
        Spend(Dimension.POOL, "lottery", 3 * WAN, 1),
    )
    unfunded = _unfunded(result, "C")  # both pools have 1万 left, C needs 2万
    assert unfunded.reason is UnfundedReason.POOL_EXHAUSTED
    assert unfunded.message == (
        "its eligible pool(s) have ¥10,000, ¥10,000 left; it needs at least ¥20,000"
    )
    assert [a.proposal_id for a in result.awards] == ["A", "B"]  # score order
    assert result.relative_gap == 0


# ---------------------------------------------------------------------------------------------
# Infeasible rules
# ---------------------------------------------------------------------------------------------


def _two_minimums() -> AllocationProblem:
    # Youth needs Y (6万), the west needs W (5万): 11万 together, 10万 available.
    return _problem(
        [
            _p("A", 90, 2),
            _p("Y", 80, 6, domain="youth"),
            _p("W", 70, 5, region="west"),
        ],
        quotas=(
            Quota(Dimension.DOMAIN, "youth", min_count=1),
            Quota(Dimension.REGION, "west", min_count=1),
        ),
    )


def test_minimum_quotas_the_budget_cannot_meet_are_one_irreducible_conflict() -> None:
    problem = _two_minimums()
    result = _allocate(problem)
    assert result.status is SolveStatus.INFEASIBLE
    assert (result.awards, result.unfunded, result.awarded_fen) == ((), (), 0)
    assert len(result.conflicts) == 1
    conflict = result.conflicts[0]
    assert sorted(conflict.rules) == [
        "rules.quotas[0]",
        "rules.quotas[1]",
        "rules.total_budget_fen",
    ]
    assert "at least 1 grant(s) in domain youth" in conflict.message
    assert "at least 1 grant(s) in region west" in conflict.message
    assert "at most ¥100,000" in conflict.message
    # Irreducible: without any one of the three rules the other two hold.
    for relaxed in (
        _with_rules(problem, quotas=problem.rules.quotas[1:]),
        _with_rules(problem, quotas=problem.rules.quotas[:1]),
        _with_rules(problem, total_budget_fen=11 * WAN),
    ):
        assert _optimal(relaxed).awards


def test_locked_approvals_over_the_budget_conflict() -> None:
    # A 6万 + B 5万 approved = 11万 > 10万.
    problem = _problem(
        [_p("A", 90, 6), _p("B", 80, 5), _p("C", 70, 1)],
        locked_decisions=(
            LockedDecision("A", LockKind.APPROVED),
            LockedDecision("B", LockKind.APPROVED),
        ),
    )
    result = _allocate(problem)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.awards == ()
    assert len(result.conflicts) == 1
    assert sorted(result.conflicts[0].rules) == [
        "rules.locked_decisions[0]",
        "rules.locked_decisions[1]",
        "rules.total_budget_fen",
    ]
    message = result.conflicts[0].message
    assert '"A" is locked as approved' in message and '"B" is locked as approved' in message


def test_locked_approval_without_a_legal_amount_conflicts() -> None:
    # The tier allows at most 2万, A accepts no less than 3万, and no amount was agreed.
    problem = _problem(
        [_p("A", 90, 5, tier="seed", minimum_fen=3 * WAN)],
        tiers=(TierRule("seed", max_grant_fen=2 * WAN),),
        locked_decisions=(LockedDecision("A", LockKind.APPROVED),),
    )
    result = _allocate(problem)
    assert result.status is SolveStatus.INFEASIBLE
    assert [c.rules for c in result.conflicts] == [
        ("rules.locked_decisions[0]", "rules.tiers[0].max_grant_fen")
    ]
    assert "give the agreed amount_fen" in result.conflicts[0].message
    agreed = _with_rules(
        problem, locked_decisions=(LockedDecision("A", LockKind.APPROVED, amount_fen=2 * WAN),)
    )
    assert _grants(_optimal(agreed)) == {"A": (2 * WAN, "")}


# ---------------------------------------------------------------------------------------------
# Soft quotas
# ---------------------------------------------------------------------------------------------


def test_soft_quotas_report_the_smallest_violation_instead_of_a_conflict() -> None:
    # The two minimums cannot both hold; one can. Meeting youth: {A, Y} = 8万, 170; meeting
    # west: {A, W} = 7万, 160. With the dominating penalty (0) one grant is missed either way,
    # so the better score wins: the west quota is missed by one grant.
    problem = _with_rules(_two_minimums(), quota_mode=QuotaMode.SOFT)
    result = _optimal(problem)
    assert _funded(result) == {"A", "Y"}
    assert result.objective == 170
    assert result.quota_violations == (QuotaViolation("rules.quotas[1]", 1, 0),)
    assert result.conflicts == ()


def test_soft_quota_penalty_trades_score_against_the_quota() -> None:
    # Youth wants one grant: Y (60, 5万). Meeting it: {B, Y} = 9万, 140 ({A, Y} is 11万).
    # Missing it: {A, B} = 170 - penalty. Missing wins when 170 - p > 140, i.e. p < 30.
    problem = _problem(
        [_p("A", 90, 6), _p("B", 80, 4), _p("Y", 60, 5, domain="youth")],
        quotas=(Quota(Dimension.DOMAIN, "youth", min_count=1),),
        quota_mode=QuotaMode.SOFT,
    )
    cheap = _optimal(_with_rules(problem, quota_penalty=20.0))
    assert _funded(cheap) == {"A", "B"}
    assert cheap.objective == 170  # reported without the penalty
    assert cheap.quota_violations == (QuotaViolation("rules.quotas[0]", 1, 0),)
    dear = _optimal(_with_rules(problem, quota_penalty=40.0))
    assert _funded(dear) == {"B", "Y"}
    assert dear.objective == 140
    assert dear.quota_violations == ()
    assert _reasons(dear)["A"] == (UnfundedReason.DISPLACED_BY_QUOTA, "rules.quotas[0]")


def test_soft_amount_quota_reports_the_money_missing() -> None:
    # Youth wants 4万 but its only proposal, Y, asks 3万: at best 1万 short. {A, Y} fits the
    # 10万 exactly (160), so the quota is missed by 1万 and by no grant.
    problem = _problem(
        [_p("A", 90, 7), _p("Y", 70, 3, domain="youth")],
        quotas=(Quota(Dimension.DOMAIN, "youth", min_amount_fen=4 * WAN),),
        quota_mode=QuotaMode.SOFT,
    )
    result = _optimal(problem)
    assert _funded(result) == {"A", "Y"}
    assert result.quota_violations == (QuotaViolation("rules.quotas[0]", 0, 1 * WAN),)
    hard = _allocate(_with_rules(problem, quota_mode=QuotaMode.HARD))
    assert hard.status is SolveStatus.INFEASIBLE


# ---------------------------------------------------------------------------------------------
# Margins
# ---------------------------------------------------------------------------------------------


def _margin_round() -> AllocationProblem:
    # At most two elderly grants; money is ample. A, B funded, C out; L (youth) is locked in.
    # True margins: A can fall to just above 70 (20), B to just above 70 (10); C must rise
    # above 80 (10).
    return _problem(
        [_p("A", 90, 1), _p("B", 80, 1), _p("C", 70, 1), _p("L", 61, 1, domain="youth")],
        quotas=(Quota(Dimension.DOMAIN, "elderly", max_count=2),),
        locked_decisions=(LockedDecision("L", LockKind.APPROVED),),
    )


def test_locked_proposals_have_infinite_exact_margins() -> None:
    result = _optimal(_margin_round())
    margins = {m.proposal_id: m for m in result.margins}
    assert set(margins) == {"A", "B", "C", "L"}
    assert margins["L"].funded and margins["L"].score_margin == math.inf and margins["L"].exact
    for pid in "ABC":
        assert not margins[pid].exact
        assert margins[pid].funded == (pid != "C")


def test_margins_are_lower_bounds_that_hold_when_the_score_moves() -> None:
    problem = _margin_round()
    result = _optimal(problem)
    assert _funded(result) == {"A", "B", "L"}
    margins = {m.proposal_id: m.score_margin for m in result.margins if not m.exact}
    truth = {"A": 20.0, "B": 10.0, "C": 10.0}
    for pid, margin in margins.items():
        assert 0 <= margin <= truth[pid]
    # C is held out by the elderly maximum: bringing it in drops B, 10 points (the LP sees it).
    assert margins["C"] == pytest.approx(10, abs=1e-3)
    scores = {p.proposal_id: p.score for p in problem.proposals}
    for pid, margin in margins.items():
        if margin <= 0.01:
            continue
        step = math.floor((margin - 0.01) * 100) / 100  # slightly less than the margin
        funded = pid != "C"
        score = scores[pid]
        assert score is not None
        moved = _with_score(problem, pid, score - step if funded else score + step)
        assert (pid in _funded(_optimal(moved))) == funded
    # Just past C's true margin it is funded instead of B.
    assert _funded(_optimal(_with_score(problem, "C", 80.01))) == {"A", "C", "L"}


# ---------------------------------------------------------------------------------------------
# Determinism and time limits
# ---------------------------------------------------------------------------------------------


def test_the_same_problem_twice_gives_the_same_result() -> None:
    for problem in (_lottery_round(), _two_minimums(), _margin_round(), _weighted_versus_count()):
        first = dataclasses.replace(allocate(problem), timings=())
        second = dataclasses.replace(allocate(problem), timings=())
        assert first == second


def test_a_time_limit_still_gives_a_legal_result() -> None:
    problem = dataclasses.replace(_lottery_round(), time_limit_s=10.0)
    assert _grants(_optimal(problem)) == {"Y1": (6 * WAN, "general"), "E1": (4 * WAN, "lottery")}
    rushed = _allocate(dataclasses.replace(_lottery_round(), time_limit_s=1e-6))
    assert rushed.status in (
        SolveStatus.OPTIMAL,
        SolveStatus.FEASIBLE,
        SolveStatus.NO_SOLUTION_FOUND,
    )
    if rushed.status is not SolveStatus.OPTIMAL:
        assert TIME_LIMIT_REACHED in [n.code for n in rushed.notices]


def test_not_displaced_when_the_quota_grant_would_not_have_paid_for_it() -> None:
    # Budget 10万: C (youth, 70) is needed for the youth minimum and costs 1万; B (80) asks 9.5万.
    # A (90) takes 5万 (left 4万); dropping C frees 1万, 5万 in all: B still does not fit, so
    # the budget, not the quota, is why B is out.
    problem = _problem(
        [
            _p("A", 90, 5),
            _p("B", 80, 9.5),
            _p("C", 70, 1, domain="youth"),
        ],
        quotas=(Quota(Dimension.DOMAIN, "youth", min_count=1),),
    )
    unfunded = _unfunded(_optimal(problem), "B")
    assert unfunded.reason is UnfundedReason.BUDGET_EXHAUSTED
