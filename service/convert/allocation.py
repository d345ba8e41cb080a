"""AllocateFunding: request -> matching.allocation.model.AllocationProblem, result -> response.

Every field error is collected with the request's own field path; proto zero values mean "the
documented default" and the defaults are applied here.
"""

from __future__ import annotations

from typing import Any

from matching.allocation import model as m
from matching.allocation.model import MAX_FEN
from matching.allocation.validate import validate_problem
from scoring.errors import Violations
from service.convert.common import (
    STATUS_PB,
    Options,
    StandIns,
    all_built,
    build,
    enum_from_pb,
    summary_pb,
)
from venture.v1 import allocation_pb2, proposal_pb2

ENGINE = "venture-allocation"

DIMENSION: dict[allocation_pb2.Dimension.ValueType, m.Dimension] = {
    allocation_pb2.DIMENSION_DOMAIN: m.Dimension.DOMAIN,
    allocation_pb2.DIMENSION_REGION: m.Dimension.REGION,
    allocation_pb2.DIMENSION_TIER: m.Dimension.TIER,
    allocation_pb2.DIMENSION_POOL: m.Dimension.POOL,
}
LOCK: dict[allocation_pb2.LockedDecisionKind.ValueType, m.LockKind] = {
    allocation_pb2.LOCKED_DECISION_KIND_APPROVED: m.LockKind.APPROVED,
    allocation_pb2.LOCKED_DECISION_KIND_REJECTED: m.LockKind.REJECTED,
}
OBJECTIVE: dict[allocation_pb2.AllocationObjective.ValueType, m.Objective] = {
    allocation_pb2.ALLOCATION_OBJECTIVE_TOTAL_SCORE: m.Objective.TOTAL_SCORE,
    allocation_pb2.ALLOCATION_OBJECTIVE_SCORE_WEIGHTED_AMOUNT: m.Objective.SCORE_WEIGHTED_AMOUNT,
    allocation_pb2.ALLOCATION_OBJECTIVE_RANK_ORDER: m.Objective.RANK_ORDER,
}
QUOTA_MODE: dict[allocation_pb2.QuotaMode.ValueType, m.QuotaMode] = {
    allocation_pb2.QUOTA_MODE_HARD: m.QuotaMode.HARD,
    allocation_pb2.QUOTA_MODE_SOFT: m.QuotaMode.SOFT,
}
REASON_PB: dict[m.UnfundedReason, allocation_pb2.UnfundedReason.ValueType] = {
    m.UnfundedReason.BELOW_PASS_LINE: allocation_pb2.UNFUNDED_REASON_BELOW_PASS_LINE,
    m.UnfundedReason.INELIGIBLE: allocation_pb2.UNFUNDED_REASON_INELIGIBLE,
    m.UnfundedReason.BUDGET_EXHAUSTED: allocation_pb2.UNFUNDED_REASON_BUDGET_EXHAUSTED,
    m.UnfundedReason.POOL_EXHAUSTED: allocation_pb2.UNFUNDED_REASON_POOL_EXHAUSTED,
    m.UnfundedReason.DOMAIN_MAXIMUM: allocation_pb2.UNFUNDED_REASON_DOMAIN_MAXIMUM,
    m.UnfundedReason.REGION_MAXIMUM: allocation_pb2.UNFUNDED_REASON_REGION_MAXIMUM,
    m.UnfundedReason.TIER_MAXIMUM: allocation_pb2.UNFUNDED_REASON_TIER_MAXIMUM,
    m.UnfundedReason.ORGANIZATION_LIMIT: allocation_pb2.UNFUNDED_REASON_ORGANIZATION_LIMIT,
    m.UnfundedReason.LOCKED_REJECTED: allocation_pb2.UNFUNDED_REASON_LOCKED_REJECTED,
    m.UnfundedReason.DISPLACED_BY_QUOTA: allocation_pb2.UNFUNDED_REASON_DISPLACED_BY_QUOTA,
    m.UnfundedReason.NOT_SCORED: allocation_pb2.UNFUNDED_REASON_NOT_SCORED,
}
DIMENSION_PB = {domain: number for number, domain in DIMENSION.items()}


# ---------------------------------------------------------------------------------------------
# Request -> problem
# ---------------------------------------------------------------------------------------------


def problem_from_pb(
    request: allocation_pb2.AllocateFundingRequest, options: Options, violations: Violations
) -> m.AllocationProblem | None:
    """The domain problem, or None when a field could not be converted (see `violations`)."""
    proposals = all_built(
        build(violations, f"proposals[{i}]", _proposal, p) for i, p in enumerate(request.proposals)
    )
    rules = _rules(request.rules, violations)
    if proposals is None or rules is None:
        return None
    return m.AllocationProblem(proposals, rules, options.time_limit_s, options.seed)


def _proposal(pb: proposal_pb2.Proposal) -> m.AllocationProposal:
    return m.AllocationProposal(
        proposal_id=pb.proposal_id,
        score=pb.score if pb.HasField("score") else None,
        organization_id=pb.organization_id,
        domain=pb.domain,
        region=pb.region,
        tier=pb.tier,
        tags=tuple(pb.tags),
        requested_fen=pb.requested_fen,
        minimum_fen=pb.minimum_fen,
        project_budget_fen=pb.project_budget_fen,
        donations_fen=pb.donations_fen,
    )


def _rules(pb: allocation_pb2.AllocationRules, violations: Violations) -> m.AllocationRules | None:
    path = "rules"
    before = len(violations)
    pools = all_built(
        build(violations, f"{path}.pools[{k}]", _pool, p) for k, p in enumerate(pb.pools)
    )
    tiers = all_built(
        build(violations, f"{path}.tiers[{k}]", _tier, t) for k, t in enumerate(pb.tiers)
    )
    bands = all_built(
        build(violations, f"{path}.score_bands[{k}]", _band, b)
        for k, b in enumerate(pb.score_bands)
    )
    quotas = all_built(
        _quota(q, f"{path}.quotas[{k}]", violations) for k, q in enumerate(pb.quotas)
    )
    locks = all_built(
        _lock(d, f"{path}.locked_decisions[{k}]", violations)
        for k, d in enumerate(pb.locked_decisions)
    )
    values = _rule_values(pb, violations)
    failed = len(violations) > before or None in (pools, tiers, bands, quotas, locks)
    # The rules' own values are checked even when a list did not convert (left out here: no
    # check of the rules' own looks into their lists), so that one answer names every mistake.
    rules = build(
        violations,
        path,
        m.AllocationRules,
        pools=pools or (),
        tiers=tiers or (),
        score_bands=bands or (),
        quotas=quotas or (),
        locked_decisions=locks or (),
        **values,
    )
    return None if failed else rules


def _rule_values(pb: allocation_pb2.AllocationRules, violations: Violations) -> dict[str, Any]:
    """The rules' own values (all but their lists), zero values resolved to their defaults."""
    return {
        "total_budget_fen": pb.total_budget_fen,
        "reserve_bp": pb.reserve_bp,
        "min_grant_fen": pb.min_grant_fen,
        "max_grant_fen": pb.max_grant_fen,
        "grant_unit_fen": pb.grant_unit_fen or 1,
        "max_grants_per_organization": pb.max_grants_per_organization or 1,
        "max_project_share_bp": pb.max_project_share_bp,
        "donation_match_bp": pb.donation_match_bp,
        "require_region_coverage": pb.require_region_coverage,
        "objective": enum_from_pb(
            pb.objective, OBJECTIVE, m.Objective.TOTAL_SCORE, "rules.objective", violations
        ),
        "pass_line": pb.pass_line if pb.HasField("pass_line") else None,
        "quota_mode": enum_from_pb(
            pb.quota_mode, QUOTA_MODE, m.QuotaMode.HARD, "rules.quota_mode", violations
        ),
        "quota_penalty": pb.quota_penalty,
    }


def _pool(pb: allocation_pb2.FundingPool) -> m.FundingPool:
    return m.FundingPool(
        pool_id=pb.pool_id,
        amount_fen=pb.amount_fen,
        eligible_domains=tuple(pb.eligible_domains),
        eligible_regions=tuple(pb.eligible_regions),
        eligible_tiers=tuple(pb.eligible_tiers),
        eligible_tags=tuple(pb.eligible_tags),
        display_name=pb.display_name,
    )


def _tier(pb: allocation_pb2.TierRule) -> m.TierRule:
    return m.TierRule(pb.tier, pb.max_grant_fen, pb.min_grant_fen)


def _band(pb: allocation_pb2.ScoreBand) -> m.ScoreBand:
    return m.ScoreBand(pb.min_score, pb.funding_ratio_bp)


def _quota(pb: allocation_pb2.Quota, path: str, violations: Violations) -> m.Quota | None:
    if pb.dimension not in DIMENSION:
        violations.add(
            f"{path}.dimension", pb.dimension, "choose DIMENSION_DOMAIN, _REGION, _TIER or _POOL"
        )
        return None
    return build(
        violations,
        path,
        m.Quota,
        dimension=DIMENSION[pb.dimension],
        key=pb.key,
        min_count=pb.min_count,
        max_count=pb.max_count if pb.HasField("max_count") else None,
        min_amount_fen=pb.min_amount_fen,
        max_amount_fen=pb.max_amount_fen if pb.HasField("max_amount_fen") else None,
    )


def _lock(
    pb: allocation_pb2.LockedDecision, path: str, violations: Violations
) -> m.LockedDecision | None:
    if pb.decision not in LOCK:
        violations.add(
            f"{path}.decision",
            pb.decision,
            "choose LOCKED_DECISION_KIND_APPROVED or LOCKED_DECISION_KIND_REJECTED",
        )
        return None
    return build(
        violations,
        path,
        m.LockedDecision,
        pb.proposal_id,
        LOCK[pb.decision],
        pb.amount_fen,
        pb.pool_id,
    )


# ---------------------------------------------------------------------------------------------
# Cross-references of a request that did not convert
# ---------------------------------------------------------------------------------------------

_REFERENCES = {
    "proposals": r"rules\.locked_decisions\[\d+\]\.proposal_id",
    # Every quota's key has this path, though only a pool quota's names a pool: a pool without
    # an id silences what is said of the others' keys too.
    "rules.pools": r"rules\.quotas\[\d+\]\.key|rules\.locked_decisions\[\d+\]\.pool_id",
}
"""Where a list's items are referred to by id (tiers and score bands are not)."""


def cross_check_unconverted(
    request: allocation_pb2.AllocateFundingRequest, options: Options, violations: Violations
) -> None:
    """Add the cross-reference violations of a request some of whose items did not convert
    (recorded in `violations`), so that one answer names every mistake (see StandIns)."""
    if violations.full:
        return
    stand_ins = StandIns(_REFERENCES)
    proposals = tuple(
        build(Violations(), "", _proposal, pb)
        or _proposal_stand_in(pb, f"proposals[{i}]", stand_ins)
        for i, pb in enumerate(request.proposals)
    )
    rules = _rules_with_stand_ins(request.rules, stand_ins)
    problem = m.AllocationProblem(proposals, rules, options.time_limit_s, options.seed)
    stand_ins.cross_check(validate_problem, problem, violations)


def _proposal_stand_in(
    pb: proposal_pb2.Proposal, path: str, stand_ins: StandIns
) -> m.AllocationProposal:
    """Its id and what quotas look at as given, unscored. A request that is not a valid amount
    stands in as MAX_FEN, which no agreed grant exceeds; the requests' total is then unknown."""
    requested = pb.requested_fen
    if not 0 < requested <= MAX_FEN:
        requested = MAX_FEN
        stand_ins.unjudged("proposals")
    return m.AllocationProposal(
        stand_ins.named(path, "proposal_id", pb.proposal_id),
        score=None,
        organization_id=pb.organization_id,
        domain=pb.domain,
        region=pb.region,
        tier=pb.tier,
        tags=tuple(pb.tags),
        requested_fen=requested,
    )


def _rules_with_stand_ins(
    pb: allocation_pb2.AllocationRules, stand_ins: StandIns
) -> m.AllocationRules:
    path = "rules"
    lists: dict[str, Any] = {
        "pools": tuple(
            build(Violations(), "", _pool, p) or _pool_stand_in(p, f"{path}.pools[{k}]", stand_ins)
            for k, p in enumerate(pb.pools)
        ),
        "tiers": tuple(
            build(Violations(), "", _tier, t)
            or m.TierRule(stand_ins.named(f"{path}.tiers[{k}]", "tier", t.tier))
            for k, t in enumerate(pb.tiers)
        ),
        # The bands are checked against one another and the pass line, so a band that did not
        # convert leaves the table unjudged: no stand-in value would say where it belongs.
        "score_bands": all_built(build(Violations(), "", _band, b) for b in pb.score_bands) or (),
        "quotas": tuple(
            _quota(q, "", Violations()) or _quota_stand_in(q, f"{path}.quotas[{k}]", stand_ins)
            for k, q in enumerate(pb.quotas)
        ),
        "locked_decisions": tuple(
            _lock(d, "", Violations())
            or _lock_stand_in(d, f"{path}.locked_decisions[{k}]", stand_ins)
            for k, d in enumerate(pb.locked_decisions)
        ),
    }
    values = _rule_values(pb, Violations())
    failed = Violations()
    rules = build(failed, "", m.AllocationRules, **lists, **values)
    if rules is not None:
        return rules
    # The values that failed stand in as their defaults, and nothing is said of them: the
    # budget's check is at its own field; the pass line's band check lapses.
    for v in failed:
        values.pop(v.field, None)
        stand_ins.add(f"{path}.{v.field}")
    return m.AllocationRules(**{"total_budget_fen": 0, **lists, **values})


def _pool_stand_in(pb: allocation_pb2.FundingPool, path: str, stand_ins: StandIns) -> m.FundingPool:
    """Its id as given; an amount that is not a valid one stands in as 0 and leaves the pools'
    total unknown."""
    amount = pb.amount_fen
    if not 0 <= amount <= MAX_FEN:
        amount = 0
        stand_ins.unjudged(r"rules\.pools")
    return m.FundingPool(stand_ins.named(path, "pool_id", pb.pool_id), amount)


def _quota_stand_in(pb: allocation_pb2.Quota, path: str, stand_ins: StandIns) -> m.Quota:
    """Its dimension and key as given, without a minimum: only a pool quota's key is checked
    then (a minimum of a domain, region or tier is what asks that some proposal has the key)."""
    stand_ins.add(path)
    dimension = DIMENSION.get(pb.dimension, m.Dimension.DOMAIN)
    return m.Quota(dimension, stand_ins.refer(f"{path}.key", pb.key), max_amount_fen=MAX_FEN)


def _lock_stand_in(
    pb: allocation_pb2.LockedDecision, path: str, stand_ins: StandIns
) -> m.LockedDecision:
    """Its proposal (and an approval's pool) as given, at any legal amount; a decision of
    neither kind stands in as a rejection, which names no pool."""
    stand_ins.add(path)
    proposal_id = stand_ins.refer(f"{path}.proposal_id", pb.proposal_id)
    if pb.decision != allocation_pb2.LOCKED_DECISION_KIND_APPROVED:
        return m.LockedDecision(proposal_id, m.LockKind.REJECTED)
    pool_id = pb.pool_id and stand_ins.refer(f"{path}.pool_id", pb.pool_id)
    return m.LockedDecision(proposal_id, m.LockKind.APPROVED, pool_id=pool_id)


# ---------------------------------------------------------------------------------------------
# Problem -> request (for clients and benchmarks that build rounds in Python)
# ---------------------------------------------------------------------------------------------

OBJECTIVE_PB = {domain: number for number, domain in OBJECTIVE.items()}
QUOTA_MODE_PB = {domain: number for number, domain in QUOTA_MODE.items()}
LOCK_PB = {domain: number for number, domain in LOCK.items()}


def problem_to_pb(problem: m.AllocationProblem) -> allocation_pb2.AllocateFundingRequest:
    """The request that problem_from_pb turns back into `problem`."""
    request = allocation_pb2.AllocateFundingRequest()
    if problem.seed:
        request.options.seed = problem.seed
    if problem.time_limit_s is not None:
        request.options.time_limit.FromNanoseconds(round(problem.time_limit_s * 1e9))
    for p in problem.proposals:
        pb = request.proposals.add(
            proposal_id=p.proposal_id,
            organization_id=p.organization_id,
            domain=p.domain,
            region=p.region,
            tier=p.tier,
            tags=p.tags,
            requested_fen=p.requested_fen,
            minimum_fen=p.minimum_fen,
            project_budget_fen=p.project_budget_fen,
            donations_fen=p.donations_fen,
        )
        if p.score is not None:
            pb.score = p.score
    r = problem.rules
    rules = request.rules
    rules.total_budget_fen = r.total_budget_fen
    rules.reserve_bp = r.reserve_bp
    for pool in r.pools:
        rules.pools.add(
            pool_id=pool.pool_id,
            amount_fen=pool.amount_fen,
            eligible_domains=pool.eligible_domains,
            eligible_regions=pool.eligible_regions,
            eligible_tiers=pool.eligible_tiers,
            eligible_tags=pool.eligible_tags,
            display_name=pool.display_name,
        )
    for tier in r.tiers:
        rules.tiers.add(
            tier=tier.tier, max_grant_fen=tier.max_grant_fen, min_grant_fen=tier.min_grant_fen
        )
    for band in r.score_bands:
        rules.score_bands.add(min_score=band.min_score, funding_ratio_bp=band.funding_ratio_bp)
    rules.min_grant_fen = r.min_grant_fen
    rules.max_grant_fen = r.max_grant_fen
    rules.grant_unit_fen = r.grant_unit_fen
    rules.max_grants_per_organization = r.max_grants_per_organization
    rules.max_project_share_bp = r.max_project_share_bp
    rules.donation_match_bp = r.donation_match_bp
    for q in r.quotas:
        quota = rules.quotas.add(
            dimension=DIMENSION_PB[q.dimension],
            key=q.key,
            min_count=q.min_count,
            min_amount_fen=q.min_amount_fen,
        )
        if q.max_count is not None:
            quota.max_count = q.max_count
        if q.max_amount_fen is not None:
            quota.max_amount_fen = q.max_amount_fen
    rules.require_region_coverage = r.require_region_coverage
    for d in r.locked_decisions:
        rules.locked_decisions.add(
            proposal_id=d.proposal_id,
            decision=LOCK_PB[d.kind],
            amount_fen=d.amount_fen,
            pool_id=d.pool_id,
        )
    rules.objective = OBJECTIVE_PB[r.objective]
    if r.pass_line is not None:
        rules.pass_line = r.pass_line
    rules.quota_mode = QUOTA_MODE_PB[r.quota_mode]
    rules.quota_penalty = r.quota_penalty
    return request


# ---------------------------------------------------------------------------------------------
# Result -> response
# ---------------------------------------------------------------------------------------------


def result_to_pb(
    result: m.AllocationResult, exclude_timings: bool
) -> allocation_pb2.AllocationResult:
    pb = allocation_pb2.AllocationResult(
        available_fen=result.available_fen,
        awarded_fen=result.awarded_fen,
        remaining_fen=result.remaining_fen,
    )
    for a in result.awards:
        pb.awards.add(
            proposal_id=a.proposal_id,
            amount_fen=a.amount_fen,
            pool_id=a.pool_id,
            requested_fen=a.requested_fen,
            score=a.score,
            locked=a.locked,
        )
    for u in result.unfunded:
        pb.unfunded.add(
            proposal_id=u.proposal_id, reason=REASON_PB[u.reason], rule=u.rule, message=u.message
        )
    for s in result.spend:
        pb.spend.add(
            dimension=DIMENSION_PB[s.dimension], key=s.key, amount_fen=s.amount_fen, count=s.count
        )
    for d in result.margins:
        pb.margins.add(
            proposal_id=d.proposal_id, funded=d.funded, score_margin=d.score_margin, exact=d.exact
        )
    for c in result.conflicts:
        pb.conflicts.add(rules=c.rules, message=c.message)
    for q in result.quota_violations:
        pb.quota_violations.add(
            rule=q.rule,
            count_violation=q.count_violation,
            amount_violation_fen=q.amount_violation_fen,
        )
    for n in result.notices:
        pb.notices.add(code=n.code, message=n.message, subject_ids=n.subject_ids)
    pb.summary.CopyFrom(
        summary_pb(
            STATUS_PB[result.status],
            [(t.stage, t.seconds) for t in result.timings],
            ENGINE,
            exclude_timings,
            objective=result.objective,
            best_bound=result.best_bound,
            relative_gap=result.relative_gap,
        )
    )
    return pb
