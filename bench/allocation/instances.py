"""Seeded, realistic allocation rounds for the benchmark (figures from DESIGN.md).

Every choice, and why:
- 8 service domains with the shares seen in published rounds (elderly services most common) and
  a score shift each: some fields (mental health, environment) field younger organizations
  that score lower, so greedy by score starves them and the minimum quotas bind.
- 16 regions: 8 urban streets (街道) with more applicants and 8 rural townships (镇/乡) with
  fewer and a 3-point score handicap, so region coverage binds. The county case has 8.
- 3 tiers (初创 start-up / 成长 growth / 成熟 mature) with request ranges and tier caps; some
  requests exceed the cap, as they do. City scale: caps 10万/30万/50万, the round's cap
  min(50万, 60% of the project budget), at least 1万. County scale: 1万–8万 grants, tier caps
  3万/5万/8万.
- Scores ~ N(72, 9) plus the shifts, clipped to [30, 99], two decimals (as published); pass
  line 60; bands ≥ 85: 100%, 75–84.99: 80%, 60–74.99: 60% of the request.
- Requests in whole 1,000 yuan; grants in units of 100 yuan; projects' total budgets 1.3–3×
  the request (the 60% share cap binds for about a fifth); 35% accept partial funding down to
  50% or 60% of the request (those asking 60% of a request the band cuts to 60% stay eligible).
- Organizations: about 15% of proposals come from an organization that filed another one; at
  most one grant per organization.
- Budget: after the 10% reserve it covers 30% of the money requested, which funds about 35% of
  the applications (DESIGN.md: 315–385 → 97–162). Two pools: a welfare-lottery pool (福彩公益金,
  30% of the total) only for elderly and disability services, a community pool for the rest.
- Quotas: each domain must get at least 80% of its proportional share of the expected grants
  (40% of its candidates), which binds for the domains that score low; every region with a
  candidate gets a grant. `witness` builds a legal allocation, which proves both feasible.
- Optional (the `city` case): a few locked decisions (approvals, some at an agreed amount and
  pool, and rejections) and maximum quotas (community governance ≤ 15% of the money, start-ups
  ≤ 40% of the grants).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from matching.allocation.bounds import Candidate, Pool, prepare
from matching.allocation.greedy import Grant, assemble, trivial_bound
from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    AllocationResult,
    AllocationRules,
    Dimension,
    FundingPool,
    LockedDecision,
    LockKind,
    Quota,
    ScoreBand,
    TierRule,
)
from matching.status import SolveStatus

SEED = 20261122
WAN = 1_000_000
"""1万 yuan in fen."""
QIAN = 100_000
"""1千 yuan in fen."""
UNIT = 10_000
"""100 yuan: the grant unit."""
RESERVE_BP = 1000
FUNDED_MONEY_SHARE = 0.30
"""The available budget covers this share of all the money requested."""
EXPECTED_FUNDED = 0.40
"""About this share of the candidates (those passing the per-proposal rules) gets a grant."""
QUOTA_SHARE = 0.8
"""A domain's minimum count: this share of its proportional number of grants."""
LOTTERY_SHARE = 0.30
WELFARE_DOMAINS = ("助老", "助残")


@dataclass(frozen=True, slots=True)
class Domain:
    name: str
    share: float
    shift: float


DOMAINS = (
    Domain("助老", 0.20, 1.0),
    Domain("助残", 0.10, 0.5),
    Domain("青少年", 0.16, 1.5),
    Domain("社区治理", 0.16, 0.0),
    Domain("济困", 0.10, -1.0),
    Domain("文化", 0.10, 0.5),
    Domain("环保", 0.09, -4.0),
    Domain("心理健康", 0.09, -5.0),
)
STREETS = (
    "城关街道",
    "东湖街道",
    "北苑街道",
    "新华街道",
    "解放街道",
    "人民路街道",
    "滨江街道",
    "高新街道",
)
TOWNSHIPS = ("西山镇", "南桥镇", "青石镇", "白沙镇", "柳河乡", "石门镇", "龙潭乡", "桃源镇")
RURAL_SHIFT = -3.0


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    share: float
    request_min_fen: int
    request_max_fen: int
    cap_fen: int
    shift: float


CITY_TIERS = (
    Tier("初创", 0.45, 2 * WAN, 12 * WAN, 10 * WAN, -2.0),
    Tier("成长", 0.35, 5 * WAN, 35 * WAN, 30 * WAN, 0.0),
    Tier("成熟", 0.20, 15 * WAN, 60 * WAN, 50 * WAN, 2.0),
)
COUNTY_TIERS = (
    Tier("初创", 0.40, 1 * WAN, 35 * QIAN, 3 * WAN, -2.0),
    Tier("成长", 0.35, 2 * WAN, 6 * WAN, 5 * WAN, 0.0),
    Tier("成熟", 0.25, 4 * WAN, 9 * WAN, 8 * WAN, 2.0),
)


@dataclass(frozen=True, slots=True)
class Case:
    """One benchmark round."""

    name: str
    n: int
    county: bool = False
    locks: int = 0
    """Locked decisions: half approvals (every other at an agreed amount), half rejections."""
    max_quotas: bool = False


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case("county", 90, county=True),
        Case("n100", 100),
        Case("city", 350, locks=12, max_quotas=True),
        Case("n1000", 1000),
        Case("n5000", 5000),
        Case("n20000", 20000),
    )
}


def make_problem(case: Case, seed: int = SEED) -> AllocationProblem:
    """A seeded round of the case's size and rules."""
    rng = np.random.default_rng([seed, case.n])
    proposals = _proposals(case, rng)
    rules = _rules(case, proposals)
    problem = AllocationProblem(proposals, rules)
    rules = dataclasses.replace(rules, quotas=_quotas(case, problem))
    if case.locks:
        rules = dataclasses.replace(rules, locked_decisions=_locks(case, problem, rng))
    return AllocationProblem(proposals, rules)


def _proposals(case: Case, rng: np.random.Generator) -> tuple[AllocationProposal, ...]:
    n = case.n
    tiers = COUNTY_TIERS if case.county else CITY_TIERS
    regions = TOWNSHIPS if case.county else STREETS + TOWNSHIPS
    region_weight = np.array([1.6 - 0.08 * k for k in range(len(regions))])
    rural = np.array([r in TOWNSHIPS for r in regions])
    domain = rng.choice(len(DOMAINS), size=n, p=[d.share for d in DOMAINS])
    region = rng.choice(len(regions), size=n, p=region_weight / region_weight.sum())
    tier = rng.choice(len(tiers), size=n, p=[t.share for t in tiers])
    shift = (
        np.array([d.shift for d in DOMAINS])[domain]
        + np.where(rural[region], RURAL_SHIFT, 0.0)
        + np.array([t.shift for t in tiers])[tier]
    )
    scores = np.clip(rng.normal(72.0, 9.0, size=n) + shift, 30.0, 99.0).round(2)
    lo = np.array([t.request_min_fen // QIAN for t in tiers])[tier]
    hi = np.array([t.request_max_fen // QIAN for t in tiers])[tier]
    requested = rng.integers(lo, hi + 1) * QIAN
    budget = np.round(requested * rng.uniform(1.3, 3.0, size=n) / QIAN) * QIAN
    partial = rng.random(n) < 0.35
    minimum = np.where(partial, np.ceil(requested * rng.choice([0.5, 0.6], size=n) / QIAN), 0)
    orgs = np.arange(n)
    twice = rng.random(n) < 0.15
    orgs[twice] = rng.integers(0, n, size=int(twice.sum()))
    return tuple(
        AllocationProposal(
            f"P{p:05d}",
            float(scores[p]),
            organization_id=f"ORG-{orgs[p]:05d}",
            domain=DOMAINS[domain[p]].name,
            region=regions[region[p]],
            tier=tiers[tier[p]].name,
            requested_fen=int(requested[p]),
            minimum_fen=int(minimum[p]) * QIAN,
            project_budget_fen=int(budget[p]),
        )
        for p in range(n)
    )


def _rules(case: Case, proposals: tuple[AllocationProposal, ...]) -> AllocationRules:
    tiers = COUNTY_TIERS if case.county else CITY_TIERS
    requested = sum(p.requested_fen for p in proposals)
    available = requested * FUNDED_MONEY_SHARE
    total = round(available / (1 - RESERVE_BP / 10_000) / (10 * WAN)) * 10 * WAN
    lottery = round(total * LOTTERY_SHARE / WAN) * WAN
    return AllocationRules(
        total_budget_fen=total,
        reserve_bp=RESERVE_BP,
        pools=(
            FundingPool("lottery", lottery, WELFARE_DOMAINS, display_name="福彩公益金"),
            FundingPool("community", total - lottery, display_name="社区公益基金"),
        ),
        tiers=tuple(TierRule(t.name, max_grant_fen=t.cap_fen) for t in tiers),
        score_bands=(ScoreBand(85.0, 10_000), ScoreBand(75.0, 8_000), ScoreBand(60.0, 6_000)),
        min_grant_fen=WAN,
        max_grant_fen=8 * WAN if case.county else 50 * WAN,
        grant_unit_fen=UNIT,
        max_grants_per_organization=1,
        max_project_share_bp=6000,
        require_region_coverage=True,
        pass_line=60.0,
    )


def _quotas(case: Case, problem: AllocationProblem) -> tuple[Quota, ...]:
    prepared = prepare(problem)
    per_domain = Counter(problem.proposals[c.index].domain for c in prepared.candidates)
    quotas = [
        Quota(Dimension.DOMAIN, d.name, min_count=count)
        for d in DOMAINS
        if (count := math.floor(QUOTA_SHARE * EXPECTED_FUNDED * per_domain[d.name])) >= 1
    ]
    if case.max_quotas:
        funded = round(EXPECTED_FUNDED * len(prepared.candidates))
        quotas += [
            Quota(Dimension.DOMAIN, "社区治理", max_amount_fen=prepared.available_fen * 15 // 100),
            Quota(Dimension.TIER, "初创", max_count=funded * 40 // 100),
        ]
    return tuple(quotas)


def _locks(
    case: Case, problem: AllocationProblem, rng: np.random.Generator
) -> tuple[LockedDecision, ...]:
    """Approvals among the passing half of the field, rejections anywhere."""
    candidates = prepare(problem).candidates
    picked = rng.choice(len(candidates), size=case.locks, replace=False)
    locks: list[LockedDecision] = []
    for k, c in enumerate(candidates[int(i)] for i in picked):
        proposal_id = problem.proposals[c.index].proposal_id
        if k % 2:
            locks.append(LockedDecision(proposal_id, LockKind.REJECTED))
        elif k % 4 == 0:
            pool = problem.rules.pools[c.pools[-1]].pool_id
            locks.append(LockedDecision(proposal_id, LockKind.APPROVED, c.upper_fen, pool))
        else:
            locks.append(LockedDecision(proposal_id, LockKind.APPROVED))
    return tuple(locks)


def witness(problem: AllocationProblem) -> AllocationResult:
    """A legal allocation if the quotas and coverage are easy to meet: locked approvals, then
    the cheapest candidates that fill each minimum count and cover each region (one per
    organization), paid from the first pool with room. Check it with verify.violations."""
    prepared = prepare(problem)
    cheap = sorted(prepared.candidates, key=lambda c: (c.lower_fen, c.index))
    chosen = [c for c in prepared.candidates if c.approved]
    orgs = {problem.proposals[c.index].organization_id for c in chosen}

    def take(wanted: int, match: str, attribute: str) -> None:
        have = sum(getattr(problem.proposals[c.index], attribute) == match for c in chosen)
        for c in cheap:
            proposal = problem.proposals[c.index]
            if have >= wanted:
                return
            fits = _within_maximums(problem, [*chosen, c])
            if (
                getattr(proposal, attribute) == match
                and proposal.organization_id not in orgs
                and fits
            ):
                chosen.append(c)
                orgs.add(proposal.organization_id)
                have += 1

    for quota in problem.rules.quotas:
        if quota.dimension is Dimension.DOMAIN and quota.min_count:
            take(quota.min_count, quota.key, "domain")
    if problem.rules.require_region_coverage:
        for region in sorted({problem.proposals[c.index].region for c in cheap} - {""}):
            take(1, region, "region")
    grants = _pay(prepared.pools, chosen)
    return assemble(
        problem,
        prepared,
        grants,
        {},
        SolveStatus.FEASIBLE,
        trivial_bound(problem, prepared),
    )


def _within_maximums(problem: AllocationProblem, chosen: list[Candidate]) -> bool:
    """Maximum count and amount quotas on domains, regions and tiers (at the lower amounts)."""
    for quota in problem.rules.quotas:
        if quota.dimension is Dimension.POOL:
            continue
        field = quota.dimension.value
        members = [c for c in chosen if getattr(problem.proposals[c.index], field) == quota.key]
        if quota.max_count is not None and len(members) > quota.max_count:
            return False
        amount = sum(c.lower_fen for c in members)
        if quota.max_amount_fen is not None and amount > quota.max_amount_fen:
            return False
    return True


def _pay(pools: tuple[Pool, ...], chosen: list[Candidate]) -> dict[int, Grant]:
    room = [p.amount_fen for p in pools]
    grants: dict[int, Grant] = {}
    for c in chosen:
        pool = next((p for p in c.pools if room[p] >= c.lower_fen), c.pools[0])
        room[pool] -= c.lower_fen
        grants[c.index] = Grant(c.lower_fen, pool)
    return grants
