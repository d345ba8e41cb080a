"""Requests the fuzzer (tests/test_fuzz.py) found crashing an engine or answering wrongly,
each reduced by hand and checked in-process through the handlers."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format

from scoring.errors import InvalidProblem
from service import handlers
from service.config import Limits
from venture.v1 import allocation_pb2, common_pb2, matching_pb2

SEED_ABOVE_INT32 = "2147483648"
TWO_POOLS_FOUR_PROPOSALS = {
    "proposals": [
        {
            "proposalId": f"P{i}",
            "organizationId": f"ORG{i}",
            "domain": domain,
            "region": "east",
            "requestedFen": str(i * 1_000_000),
            "score": score,
        }
        for i, (domain, score) in enumerate(
            (("elderly", 90), ("elderly", 80), ("youth", 70), ("youth", 60)), start=1
        )
    ],
    "rules": {
        "totalBudgetFen": "4000000",
        "pools": [
            {"poolId": "lottery", "amountFen": "4000000", "eligibleDomains": ["elderly"]},
            {"poolId": "community", "amountFen": "6000000"},
        ],
        "quotas": [
            {"dimension": "DIMENSION_DOMAIN", "key": "youth", "minCount": 1},
            {"dimension": "DIMENSION_DOMAIN", "key": "elderly", "minCount": 2},
        ],
    },
}
"""Infeasible as given: 10,000 + 20,000 yuan for the two elderly grants and at least 30,000
for a youth one do not fit in 40,000."""


def _allocation(document: dict[str, object]) -> allocation_pb2.AllocateFundingRequest:
    return json_format.Parse(json.dumps(document), allocation_pb2.AllocateFundingRequest())


def test_a_seed_above_int32_reaches_the_conflict_search() -> None:
    document = {**TWO_POOLS_FOUR_PROPOSALS, "options": {"seed": SEED_ABOVE_INT32}}
    result = handlers.allocate_funding(_allocation(document), Limits()).result
    assert result.summary.status == common_pb2.SOLVE_STATUS_INFEASIBLE
    assert result.conflicts  # named, as with any other seed


def test_a_seed_above_int32_reaches_the_fair_matching() -> None:
    document = {
        "options": {"seed": SEED_ABOVE_INT32},
        "needs": [{"needId": "N1", "domain": "elderly", "region": "east", "maxOrganizations": 1}],
        "organizations": [
            {"organizationId": "O1", "domains": ["elderly"], "regions": ["east"], "capacity": 1}
        ],
        "policy": {"objective": "MATCH_OBJECTIVE_FAIR"},
    }
    request = json_format.Parse(json.dumps(document), matching_pb2.MatchNeedsRequest())
    result = handlers.match_needs(request, Limits()).result
    assert [(m.need_id, m.organization_id) for m in result.assignments] == [("N1", "O1")]


@pytest.mark.parametrize("penalty", [1e13, 1e15, 1e300])
def test_a_huge_soft_quota_penalty_ranks_like_the_dominating_one(penalty: float) -> None:
    rules = {
        **TWO_POOLS_FOUR_PROPOSALS["rules"],  # type: ignore[dict-item]
        "quotaMode": "QUOTA_MODE_SOFT",
        "quotaPenalty": penalty,
    }
    result = handlers.allocate_funding(
        _allocation({**TWO_POOLS_FOUR_PROPOSALS, "rules": rules}), Limits()
    ).result
    # Every allocation misses one quota by one grant; the best of those funds P1 and P2
    # (170 points), not P1 and P3 (160), which a penalty of 1e13 used to give.
    assert result.summary.status == common_pb2.SOLVE_STATUS_OPTIMAL
    assert sorted(a.proposal_id for a in result.awards) == ["P1", "P2"]


def test_an_objective_beyond_exact_floating_point_is_refused_naming_the_fix() -> None:
    document = json.loads(json.dumps(TWO_POOLS_FOUR_PROPOSALS))
    for i, proposal in enumerate(document["proposals"], start=1):
        proposal["requestedFen"] = str(i * 1_000_000_000 + 1)  # amounts in single fen
        proposal["score"] = proposal["score"] + 0.123456
    document["rules"] = {
        "totalBudgetFen": "10000000000",
        "objective": "ALLOCATION_OBJECTIVE_SCORE_WEIGHTED_AMOUNT",
    }
    with pytest.raises(InvalidProblem) as refused:
        handlers.allocate_funding(_allocation(document), Limits())
    (violation,) = refused.value.violations
    assert violation.field == "proposals"
    assert "fewer decimals" in violation.description
