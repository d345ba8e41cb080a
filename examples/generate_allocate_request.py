#!/usr/bin/env python3
"""Write examples/allocate_county.json: the county round's AllocateFundingRequest.

The 24 applications of examples/score_county.json with the final scores ScoreProposals gives
them, plus what allocation needs: requests from 1,000 yuan up to the tier's cap of 3万, 5万 or 8万
(some accept partial funding down to half; a small one falls below the minimum grant),
8 townships, start-up / growth / mature tiers. The rules are those such a county round runs
under: a 300,000 yuan budget with 10% kept for running the round; a welfare-lottery pool only for
elderly and disability services and a community pool for everything; score bands (≥ 85: 100%,
75–84: 80%, 60–74: 60%); grants in whole 100 yuan, at least 5,000 yuan and at most 60% of the
project budget; at least one grant each in elderly, disability and youth services (youth at most
three); every township with a passing proposal funded; at most two grants per organization.
Proposals that failed the eligibility review carry no "eligible" tag, so no pool admits them.

    .venv/bin/python examples/generate_allocate_request.py      # rewrites the JSON file
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from service import handlers
from service.cli import read_request
from service.config import Limits
from venture.v1 import scoring_pb2

SEED = 20261122
HERE = Path(__file__).parent
OUT = HERE / "allocate_county.json"
WAN = 1_000_000  # 1万 yuan in fen
TOWNSHIPS = ["城关镇", "东湖街道", "西山镇", "南桥镇", "北苑街道", "青石镇", "白沙镇", "柳河乡"]
TIERS = [("startup", 3 * WAN), ("growth", 5 * WAN), ("mature", 8 * WAN)]


def main() -> None:
    rng = random.Random(SEED)
    scoring_request = read_request(HERE / "score_county.json")
    scored = handlers.score_proposals(scoring_request, Limits()).result
    final = {p.proposal_id: p for p in scored.proposals}
    proposals = []
    for p in scoring_request.proposals:
        tier, cap = rng.choice(TIERS)
        requested = rng.randint(10, cap // 10_000) * 10_000
        entry: dict[str, object] = {
            "proposalId": p.proposal_id,
            "title": p.title,
            "organizationId": p.organization_id,
            "domain": p.domain,
            "region": rng.choice(TOWNSHIPS),
            "tier": tier,
            "requestedFen": str(requested),
            "projectBudgetFen": str(requested * rng.choice([12, 15, 20]) // 10),
        }
        if rng.random() < 0.4:
            entry["minimumFen"] = str(requested // 2 // 10_000 * 10_000)
        scored_p = final[p.proposal_id]
        if scored_p.outcome != scoring_pb2.SCORING_OUTCOME_NOT_SCORED:
            entry["score"] = round(scored_p.final_score, 2)
        if scored_p.outcome != scoring_pb2.SCORING_OUTCOME_INELIGIBLE:  # no tag: no pool admits it
            entry["tags"] = ["eligible"]
        proposals.append(entry)
    request = {
        "labels": {"round": "2026-county-spring", "caller": "demo"},
        "proposals": proposals,
        "rules": {
            "totalBudgetFen": str(30 * WAN),
            "reserveBp": 1000,
            "pools": [
                {
                    "poolId": "welfare_lottery",
                    "displayName": "福彩公益金",
                    "amountFen": str(9 * WAN),
                    "eligibleDomains": ["elderly", "disability"],
                    "eligibleTags": ["eligible"],
                },
                {
                    "poolId": "community_fund",
                    "displayName": "社区发展基金",
                    "amountFen": str(18 * WAN),
                    "eligibleTags": ["eligible"],
                },
            ],
            "tiers": [
                {"tier": "startup", "maxGrantFen": str(3 * WAN)},
                {"tier": "growth", "maxGrantFen": str(5 * WAN)},
                {"tier": "mature", "maxGrantFen": str(8 * WAN)},
            ],
            "scoreBands": [
                {"minScore": 85, "fundingRatioBp": 10000},
                {"minScore": 75, "fundingRatioBp": 8000},
                {"minScore": 60, "fundingRatioBp": 6000},
            ],
            "minGrantFen": str(WAN // 2),
            "grantUnitFen": "10000",
            "maxProjectShareBp": 6000,
            "quotas": [
                {"dimension": "DIMENSION_DOMAIN", "key": "elderly", "minCount": 1},
                {"dimension": "DIMENSION_DOMAIN", "key": "disability", "minCount": 1},
                {"dimension": "DIMENSION_DOMAIN", "key": "youth", "minCount": 1, "maxCount": 3},
            ],
            "requireRegionCoverage": True,
            # Like many counties (每家机构限报两个项目), two projects per organization: with
            # one, ORG01's two proposals (the only elderly one, and the only one in 白沙镇)
            # could not both be funded, and the minimum quota and coverage would conflict.
            "maxGrantsPerOrganization": 2,
            "passLine": 60,
            "objective": "ALLOCATION_OBJECTIVE_TOTAL_SCORE",
        },
    }
    OUT.write_text(json.dumps(request, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
