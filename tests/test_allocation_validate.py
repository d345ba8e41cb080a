"""Allocation input checks: every violation with its field path and value, all at once."""

from __future__ import annotations

import dataclasses

import pytest

from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    AllocationRules,
    Dimension,
    FundingPool,
    LockedDecision,
    LockKind,
    Quota,
    ScoreBand,
    TierRule,
)
from matching.allocation.validate import validate_problem
from scoring.errors import InvalidProblem

WAN = 1_000_000
PROPOSALS = (
    AllocationProposal("A", 90.0, domain="elderly", region="east", requested_fen=3 * WAN),
    AllocationProposal("B", 70.0, domain="youth", region="west", requested_fen=2 * WAN),
)
RULES = AllocationRules(
    total_budget_fen=10 * WAN,
    pools=(FundingPool("lottery", 4 * WAN), FundingPool("community", 6 * WAN)),
    score_bands=(ScoreBand(85, 10_000), ScoreBand(60, 6_000)),
    pass_line=60.0,
)


def _violations(
    proposals: tuple[AllocationProposal, ...] = PROPOSALS, **rules: object
) -> set[tuple[str, str]]:
    problem = AllocationProblem(proposals, dataclasses.replace(RULES, **rules))  # type: ignore[arg-type]
    with pytest.raises(InvalidProblem) as caught:
        validate_problem(problem)
    return {(v.field, v.value) for v in caught.value.violations}


def test_a_sound_problem_passes() -> None:
    validate_problem(AllocationProblem(PROPOSALS, RULES))


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"pools": (FundingPool("p", 1), FundingPool("p", 2))}, ("rules.pools[1].pool_id", '"p"')),
        ({"tiers": (TierRule("a", 1), TierRule("a", 2))}, ("rules.tiers[1].tier", '"a"')),
        # Two bands both starting at 85.
        (
            {"score_bands": (ScoreBand(85, 10_000), ScoreBand(85, 8_000))},
            ("rules.score_bands[1].min_score", "85"),
        ),
        # A gap: pass line 60 but the lowest band starts at 75.
        (
            {"score_bands": (ScoreBand(85, 10_000), ScoreBand(75, 8_000))},
            ("rules.score_bands[1].min_score", "75"),
        ),
        # A higher band funding a smaller share.
        (
            {"score_bands": (ScoreBand(85, 5_000), ScoreBand(60, 8_000))},
            ("rules.score_bands[0].funding_ratio_bp", "5000"),
        ),
        # A minimum quota for a domain nobody applied in (a typo).
        (
            {"quotas": (Quota(Dimension.DOMAIN, "eldery", min_count=1),)},
            ("rules.quotas[0].key", '"eldery"'),
        ),
        (
            {"quotas": (Quota(Dimension.POOL, "nope", max_count=3),)},
            ("rules.quotas[0].key", '"nope"'),
        ),
        (
            {"locked_decisions": (LockedDecision("Z", LockKind.APPROVED),)},
            ("rules.locked_decisions[0].proposal_id", '"Z"'),
        ),
        (
            {"locked_decisions": (LockedDecision("A", LockKind.APPROVED, pool_id="nope"),)},
            ("rules.locked_decisions[0].pool_id", '"nope"'),
        ),
        (
            {"locked_decisions": (LockedDecision("A", LockKind.APPROVED, amount_fen=4 * WAN),)},
            ("rules.locked_decisions[0].amount_fen", "4000000"),
        ),
        (
            {
                "locked_decisions": (
                    LockedDecision("A", LockKind.REJECTED),
                    LockedDecision("A", LockKind.REJECTED),
                )
            },
            ("rules.locked_decisions[1].proposal_id", '"A"'),
        ),
        ({"total_budget_fen": 0, "pools": ()}, ("rules.total_budget_fen", "0")),
    ],
)
def test_bad_rules_name_the_field_and_value(
    rules: dict[str, object], expected: tuple[str, str]
) -> None:
    assert expected in _violations(**rules)


def test_duplicate_proposal_ids_and_overflowing_totals() -> None:
    many = [AllocationProposal(f"P{k}", 80.0, requested_fen=10**15) for k in range(1001)]
    huge = (*many, AllocationProposal("P0", 80.0, requested_fen=1))
    found = _violations(huge)
    assert ("proposals[1001].proposal_id", '"P0"') in found
    assert any(field == "proposals" and "requested in all" in value for field, value in found)


def test_max_only_quotas_may_name_absent_domains() -> None:
    # A standing rule "at most 5 per domain" is fine in a round where a domain has no proposals.
    rules = dataclasses.replace(
        RULES, quotas=(Quota(Dimension.DOMAIN, "environment", max_count=5),)
    )
    validate_problem(AllocationProblem(PROPOSALS, rules))


@pytest.mark.parametrize(
    ("build", "field", "value"),
    [
        (lambda: AllocationProposal("A", float("nan"), requested_fen=1), "score", "NaN"),
        (lambda: AllocationProposal("A", 80.0, requested_fen=-5), "requested_fen", "-5"),
        (lambda: AllocationProposal("A", 80.0, requested_fen=10**16), "requested_fen", str(10**16)),
        (lambda: AllocationProposal("A", 80.0, requested_fen=5, minimum_fen=6), "minimum_fen", "6"),
        (lambda: Quota(Dimension.DOMAIN, "x", min_count=3, max_count=2), "max_count", "2"),
        (
            lambda: Quota(Dimension.DOMAIN, "x", min_amount_fen=9, max_amount_fen=8),
            "max_amount_fen",
            "8",
        ),
        (lambda: FundingPool("p", -1), "amount_fen", "-1"),
        (lambda: ScoreBand(60, 0), "funding_ratio_bp", "0"),
        (lambda: AllocationRules(total_budget_fen=1, reserve_bp=10_000), "reserve_bp", "10000"),
        (lambda: AllocationRules(total_budget_fen=1, grant_unit_fen=0), "grant_unit_fen", "0"),
    ],
)
def test_bad_values_are_refused_on_construction(build: object, field: str, value: str) -> None:
    with pytest.raises(InvalidProblem) as caught:
        build()  # type: ignore[operator]
    assert (field, value) in {(v.field, v.value) for v in caught.value.violations}


@pytest.mark.parametrize("score", [1e19, -1e300, 1_000_000.5])
def test_scores_beyond_a_million_points_are_refused(score: float) -> None:
    # Found by tests/test_fuzz.py: a score of 1e19 overflowed the engine's integer scores
    # (a RuntimeWarning, and the allocation came back INFEASIBLE with nothing funded).
    proposals = (PROPOSALS[0], dataclasses.replace(PROPOSALS[1], score=score))
    assert _violations(proposals) == {("proposals[1].score", repr(score))}


def test_a_score_of_a_million_points_passes() -> None:
    proposals = (dataclasses.replace(PROPOSALS[0], score=-1e6), PROPOSALS[1])
    validate_problem(AllocationProblem(proposals, RULES))
