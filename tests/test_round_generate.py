"""Seeded round generators: deterministic, sized as the issue asks, every reference resolvable,
and each round feasible, checked by running its stages through the in-process handlers."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from google.protobuf import json_format

from service import handlers
from service.config import Limits
from service.round.generate import (
    ROUNDS,
    SEEDS,
    WAN,
    YUAN,
    city_round,
    county_round,
    generated_round,
    street_round,
)
from venture.v1 import (
    allocation_pb2,
    common_pb2,
    matching_pb2,
    round_pb2,
    scoring_pb2,
)

EXAMPLES = Path(__file__).parent.parent / "examples"
OPTIMAL = common_pb2.SOLVE_STATUS_OPTIMAL
STAGE_LIMIT_S = 5.0
"""Each stage of a shipped round solves well within this on a laptop."""


@dataclass(frozen=True, slots=True)
class Stages:
    """A round's results stage by stage, as OptimizeRound chains them, and each stage's time."""

    scoring: scoring_pb2.ScoringResult
    allocation: allocation_pb2.AllocationResult
    needs: matching_pb2.NeedMatchResult
    mentors: matching_pb2.MentorMatchResult
    seconds: dict[str, float]

    @property
    def funded(self) -> set[str]:
        return {a.proposal_id for a in self.allocation.awards}


def run_stages(request: round_pb2.OptimizeRoundRequest) -> Stages:
    """Score; allocate the qualified proposals at their final scores; match the funded
    organizations to needs and mentors (pairs and conflicts naming others left out)."""
    limits = Limits()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    scoring = handlers.score_proposals(
        scoring_pb2.ScoreProposalsRequest(
            options=common_pb2.RequestOptions(seed=request.options.seed),
            criteria=request.criteria,
            judges=request.judges,
            proposals=request.proposals,
            sheets=request.sheets,
            policy=request.scoring_policy,
        ),
        limits,
    ).result
    seconds["score"] = time.perf_counter() - started
    qualified = {
        p.proposal_id: p.final_score
        for p in scoring.proposals
        if p.outcome == scoring_pb2.SCORING_OUTCOME_QUALIFIED
    }
    allocate = allocation_pb2.AllocateFundingRequest(rules=request.allocation_rules)
    for proposal in request.proposals:
        if proposal.proposal_id in qualified:
            copy = allocate.proposals.add()
            copy.CopyFrom(proposal)
            copy.score = qualified[proposal.proposal_id]
    started = time.perf_counter()
    allocation = handlers.allocate_funding(allocate, limits).result
    seconds["allocate"] = time.perf_counter() - started
    awarded = {a.proposal_id for a in allocation.awards}
    funded = {p.organization_id for p in request.proposals if p.proposal_id in awarded}
    orgs = [o for o in request.organizations if o.organization_id in funded]
    needs_request = matching_pb2.MatchNeedsRequest(
        options=request.options,
        needs=request.needs,
        organizations=orgs,
        policy=request.need_matching_policy,
    )
    for pairs in (needs_request.policy.forbidden_pairs, needs_request.policy.fixed_pairs):
        kept = [pair for pair in pairs if pair.organization_id in funded]
        del pairs[:]
        pairs.extend(kept)
    started = time.perf_counter()
    needs = handlers.match_needs(needs_request, limits).result
    seconds["needs"] = time.perf_counter() - started
    mentors_request = matching_pb2.MatchMentorsRequest(
        options=request.options,
        mentors=request.mentors,
        organizations=orgs,
        policy=request.mentor_matching_policy,
    )
    for mentor in mentors_request.mentors:
        kept_ids = [o for o in mentor.conflict_organization_ids if o in funded]
        del mentor.conflict_organization_ids[:]
        mentor.conflict_organization_ids.extend(kept_ids)
    started = time.perf_counter()
    mentors = handlers.match_mentors(mentors_request, limits).result
    seconds["mentors"] = time.perf_counter() - started
    return Stages(scoring, allocation, needs, mentors, seconds)


@cache
def shipped(name: str) -> round_pb2.OptimizeRoundRequest:
    return ROUNDS[name](SEEDS[name])


@cache
def shipped_stages(name: str) -> Stages:
    return run_stages(shipped(name))


def _awards_by(request: round_pb2.OptimizeRoundRequest, stages: Stages, field: str) -> Counter[str]:
    return Counter(getattr(p, field) for p in request.proposals if p.proposal_id in stages.funded)


def _assert_solved(stages: Stages) -> None:
    assert stages.allocation.summary.status == OPTIMAL
    assert stages.allocation.summary.relative_gap == 0
    assert stages.needs.summary.status == OPTIMAL
    assert stages.mentors.summary.status == OPTIMAL
    assert stages.needs.assignments
    assert stages.mentors.assignments


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------


GENERATORS = pytest.mark.parametrize(
    "make",
    [county_round, street_round, city_round, generated_round],
    ids=["county", "street", "city", "generated"],
)
Generator = Callable[[int], round_pb2.OptimizeRoundRequest]


@GENERATORS
def test_same_seed_gives_the_same_bytes(make: Generator) -> None:
    first = make(7).SerializeToString(deterministic=True)
    assert make(7).SerializeToString(deterministic=True) == first


@GENERATORS
def test_distinct_seeds_give_distinct_rounds(make: Generator) -> None:
    one, two = make(1), make(2)
    assert one.round_id != two.round_id
    assert [s.scores[0].value for s in one.sheets] != [s.scores[0].value for s in two.sheets]
    assert [p.requested_fen for p in one.proposals] != [p.requested_fen for p in two.proposals]


def test_shipped_files_are_what_the_generators_give() -> None:
    for name in ROUNDS:
        text = (EXAMPLES / f"round_{name}.json").read_text(encoding="utf-8")
        parsed = json_format.ParseDict(json.loads(text), round_pb2.OptimizeRoundRequest())
        assert parsed == shipped(name), f"examples/round_{name}.json is stale; regenerate it"


# ---------------------------------------------------------------------------------------------
# Sizes and rules as the issue gives them
# ---------------------------------------------------------------------------------------------


def test_county_round_has_the_issue_sizes() -> None:
    r = shipped("county")
    assert len(r.proposals) == 90
    assert len(r.judges) == 15
    assert len(r.needs) == 50
    assert len(r.organizations) == 40
    assert len(r.mentors) == 15
    assert len({p.domain for p in r.proposals}) == 6
    assert len({n.region for n in r.needs}) == 16
    assert len({e.area for m in r.mentors for e in m.expertise}) == 8
    panels = Counter(pid for j in r.judges for pid in j.assigned_proposal_ids)
    assert set(panels.values()) == {5}
    assert any(m.conflict_organization_ids for m in r.mentors)
    assert r.scoring_policy.aggregation == scoring_pb2.AGGREGATION_METHOD_TRIMMED_MEAN


def test_county_round_has_the_issue_rules() -> None:
    rules = shipped("county").allocation_rules
    assert rules.total_budget_fen == 120 * WAN
    assert rules.reserve_bp == 1000
    assert sum(p.amount_fen for p in rules.pools) == 108 * WAN
    assert (rules.min_grant_fen, rules.max_grant_fen) == (WAN, 8 * WAN)
    assert rules.grant_unit_fen == 100 * YUAN
    assert [(b.min_score, b.funding_ratio_bp) for b in rules.score_bands] == [
        (85, 10000),
        (75, 8000),
        (60, 6000),
    ]
    assert {(q.key, q.min_count) for q in rules.quotas} == {
        (d, 3) for d in ("elderly", "disability", "youth", "community", "environment", "poverty")
    }
    assert rules.max_grants_per_organization == 2


def test_street_round_has_two_pools_and_three_tiers() -> None:
    r = shipped("street")
    rules = r.allocation_rules
    assert len(r.proposals) == 60
    assert rules.total_budget_fen == 13 * WAN
    assert {t.tier: t.max_grant_fen for t in rules.tiers} == {
        "large": 8000 * YUAN,
        "medium": 5000 * YUAN,
        "small": 3000 * YUAN,
    }
    assert {p.tier for p in r.proposals} == {"large", "medium", "small"}
    assert [list(p.eligible_tags) for p in rules.pools] == [["registered"], ["volunteer_team"]]
    assert sum(p.amount_fen for p in rules.pools) == rules.total_budget_fen
    kinds = Counter(t for p in r.proposals for t in p.tags if t in ("registered", "volunteer_team"))
    assert kinds["registered"] > 10
    assert kinds["volunteer_team"] > 10


def test_city_round_has_the_issue_sizes_and_rules() -> None:
    r = shipped("city")
    rules = r.allocation_rules
    policy = r.scoring_policy
    assert len(r.proposals) == 320
    assert rules.total_budget_fen == 1800 * WAN
    assert rules.max_grant_fen == 50 * WAN
    assert rules.max_project_share_bp == 6000
    weights = [policy.panel_weight, *(c.weight for c in policy.components)]
    assert weights == [60, 20, 20]
    assert all(p.project_budget_fen for p in r.proposals)


def test_generated_rounds_are_small_distinct_and_named_by_seed() -> None:
    rounds = [generated_round(seed) for seed in range(200)]
    assert [r.round_id for r in rounds[:3]] == ["gen-0000", "gen-0001", "gen-0002"]
    assert all(20 <= len(r.proposals) <= 60 for r in rounds)
    assert len({r.SerializeToString(deterministic=True) for r in rounds}) == 200
    kinds = Counter(r.labels["kind"] for r in rounds)
    assert set(kinds) == {"generated-county", "generated-street"}
    assert len({r.scoring_policy.aggregation for r in rounds}) >= 4


# ---------------------------------------------------------------------------------------------
# Every reference resolves
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["county", "street", "city", "generated"])
def test_every_id_a_round_names_exists(name: str) -> None:
    r = generated_round(3) if name == "generated" else shipped(name)
    orgs = {o.organization_id for o in r.organizations}
    proposals = {p.proposal_id for p in r.proposals}
    judges = {j.judge_id for j in r.judges}
    criteria = {c.criterion_id for c in r.criteria}
    assert {p.organization_id for p in r.proposals} == orgs  # every organization applied
    assert {o for j in r.judges for o in j.conflict_organization_ids} <= orgs
    assert {o for m in r.mentors for o in m.conflict_organization_ids} <= orgs
    assert {pid for j in r.judges for pid in j.assigned_proposal_ids} <= proposals
    assert {(s.judge_id, s.proposal_id) for s in r.sheets} <= {
        (j, p) for j in judges for p in proposals
    }
    assert all({c.criterion_id for c in s.scores} == criteria for s in r.sheets)
    regions = {p.region for p in r.proposals} | {n.region for n in r.needs}
    adjacency = r.need_matching_policy.region_adjacency
    assert {a.region for a in adjacency} | {x for a in adjacency for x in a.adjacent_regions} <= (
        regions | {x for o in r.organizations for x in o.regions}
    )
    policy = r.need_matching_policy
    assert {p.organization_id for p in [*policy.fixed_pairs, *policy.forbidden_pairs]} <= orgs
    assert {p.need_id for p in [*policy.fixed_pairs, *policy.forbidden_pairs]} <= {
        n.need_id for n in r.needs
    }


def test_county_round_has_recusals_missing_sheets_and_an_ineligible_application() -> None:
    result = shipped_stages("county").scoring
    outcomes = Counter(p.outcome for p in result.proposals)
    assert result.recusals
    assert result.missing_sheets
    assert outcomes[scoring_pb2.SCORING_OUTCOME_INELIGIBLE] >= 1
    assert outcomes[scoring_pb2.SCORING_OUTCOME_QUALIFIED] >= 40


# ---------------------------------------------------------------------------------------------
# Each round runs through the handlers, feasible and fast
# ---------------------------------------------------------------------------------------------


def test_county_round_is_optimal_with_three_grants_per_domain() -> None:
    stages = shipped_stages("county")
    r = shipped("county")
    _assert_solved(stages)
    per_domain = _awards_by(r, stages, "domain")
    assert len(per_domain) == 6
    assert min(per_domain.values()) >= 3
    assert stages.allocation.awarded_fen <= 108 * WAN
    assert all(WAN <= a.amount_fen <= 8 * WAN for a in stages.allocation.awards)
    assert max(stages.seconds.values()) < STAGE_LIMIT_S


def test_street_round_is_optimal_and_funds_both_pools() -> None:
    stages = shipped_stages("street")
    _assert_solved(stages)
    pools = Counter(a.pool_id for a in stages.allocation.awards)
    assert set(pools) == {"registered_orgs", "volunteer_teams"}
    assert 25 <= len(stages.allocation.awards) <= 45  # 60 -> 37 in the real round
    assert max(stages.seconds.values()) < STAGE_LIMIT_S


def test_city_round_is_optimal_within_the_caps() -> None:
    stages = shipped_stages("city")
    r = shipped("city")
    _assert_solved(stages)
    assert 97 <= len(stages.allocation.awards) <= 162  # the real rounds' range
    budgets = {p.proposal_id: p.project_budget_fen for p in r.proposals}
    for award in stages.allocation.awards:
        assert award.amount_fen <= min(50 * WAN, budgets[award.proposal_id] * 6 // 10)
    assert len(_awards_by(r, stages, "region")) == 11  # every district funded
    assert max(stages.seconds.values()) < STAGE_LIMIT_S


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 5, 8, 13, 21])
def test_generated_rounds_are_optimal(seed: int) -> None:
    stages = run_stages(generated_round(seed))
    _assert_solved(stages)
    assert sum(stages.seconds.values()) < 1.5
