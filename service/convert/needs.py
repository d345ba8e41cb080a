"""MatchNeeds request → matching.needs problem, and result → response."""

from __future__ import annotations

from collections.abc import Iterable

from matching.needs import model as m
from matching.needs.validate import validate_problem
from matching.organization import Organization
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
from service.convert.organization import (
    organization_from_pb,
    organization_to_pb,
    organizations_or_stand_ins,
)
from venture.v1 import matching_pb2

OBJECTIVE = {
    matching_pb2.MATCH_OBJECTIVE_TOTAL_AFFINITY: m.MatchObjective.TOTAL_AFFINITY,
    matching_pb2.MATCH_OBJECTIVE_FAIR: m.MatchObjective.FAIR,
}
OBJECTIVE_PB = {objective: number for number, objective in OBJECTIVE.items()}
UNMET_PB = {
    m.UnmetReason.NO_CANDIDATE: matching_pb2.UNMET_REASON_NO_CANDIDATE,
    m.UnmetReason.CONFLICTS: matching_pb2.UNMET_REASON_CONFLICTS,
    m.UnmetReason.CAPACITY_EXHAUSTED: matching_pb2.UNMET_REASON_CAPACITY_EXHAUSTED,
    m.UnmetReason.REGION_MISMATCH: matching_pb2.UNMET_REASON_REGION_MISMATCH,
    m.UnmetReason.DOMAIN_MISMATCH: matching_pb2.UNMET_REASON_DOMAIN_MISMATCH,
}


def problem_from_pb(
    request: matching_pb2.MatchNeedsRequest, options: Options, violations: Violations
) -> m.NeedMatchingProblem | None:
    """The problem, or None with every conversion violation recorded."""
    needs = all_built(_need(pb, f"needs[{i}]", violations) for i, pb in enumerate(request.needs))
    orgs = all_built(
        organization_from_pb(pb, f"organizations[{j}]", violations)
        for j, pb in enumerate(request.organizations)
    )
    policy = _policy(request.policy, violations)
    if needs is None or orgs is None or policy is None:
        return None
    return _problem(needs, orgs, policy, options)


def _problem(
    needs: tuple[m.Need, ...],
    organizations: tuple[Organization, ...],
    policy: m.NeedPolicy,
    options: Options,
) -> m.NeedMatchingProblem:
    return m.NeedMatchingProblem(
        needs,
        organizations,
        policy,
        top_k=options.top_k,
        time_limit_s=options.time_limit_s,
        seed=options.seed,
    )


def _need(pb: matching_pb2.Need, path: str, violations: Violations) -> m.Need | None:
    low = pb.min_organizations or 1
    return build(
        violations,
        path,
        m.Need,
        need_id=pb.need_id,
        display_name=pb.display_name,
        domain=pb.domain,
        region=pb.region,
        description=pb.description,
        min_organizations=low,
        max_organizations=pb.max_organizations or low,
        priority=pb.priority or 1.0,
    )


def _pairs(
    pbs: Iterable[matching_pb2.NeedOrganizationPair],
) -> tuple[m.PairRef, ...]:
    return tuple(m.PairRef(p.need_id, p.organization_id) for p in pbs)


def _policy(pb: matching_pb2.NeedMatchingPolicy, violations: Violations) -> m.NeedPolicy | None:
    before = len(violations)
    w = pb.weights
    weights = build(
        violations,
        "policy.weights",
        m.AffinityWeights,
        w.domain,
        w.region,
        w.text,
        w.rating,
        w.track_record,
        w.capacity,
    )
    objective = enum_from_pb(
        pb.objective,
        OBJECTIVE,
        m.MatchObjective.TOTAL_AFFINITY,
        "policy.objective",
        violations,
    )
    adjacency = _adjacency(pb, violations)
    if weights is None:
        return None
    policy = build(
        violations,
        "policy",
        m.NeedPolicy,
        weights=weights,
        objective=objective,
        region_adjacency=adjacency,
        forbidden_pairs=_pairs(pb.forbidden_pairs),
        fixed_pairs=_pairs(pb.fixed_pairs),
        one_organization_per_domain=pb.one_organization_per_domain,
        min_affinity=pb.min_affinity,
        candidates_per_need=pb.candidates_per_need,
        soft_minimums=pb.soft_minimums,
    )
    # An unknown objective or a region left empty did not stop the policy: it is checked
    # whole, but it did not convert.
    return policy if len(violations) == before else None


def _adjacency(
    pb: matching_pb2.NeedMatchingPolicy, violations: Violations
) -> dict[str, tuple[str, ...]]:
    """Region -> its adjacent regions, a region listed twice merged into its first entry."""
    adjacency: dict[str, list[str]] = {}
    for k, entry in enumerate(pb.region_adjacency):
        violations.require(
            bool(entry.region),
            f"policy.region_adjacency[{k}].region",
            entry.region,
            "must not be empty",
        )
        adjacency.setdefault(entry.region, []).extend(entry.adjacent_regions)
    return {r: tuple(dict.fromkeys(a)) for r, a in adjacency.items()}


# ---------------------------------------------------------------------------------------------
# Cross-references of a request that did not convert
# ---------------------------------------------------------------------------------------------

_REFERENCES = {
    "needs": r"policy\.(forbidden|fixed)_pairs\[\d+\]\.need_id",
    "organizations": r"policy\.(forbidden|fixed)_pairs\[\d+\]\.organization_id",
}
"""Where a list's items are referred to by id."""


def cross_check_unconverted(
    request: matching_pb2.MatchNeedsRequest, options: Options, violations: Violations
) -> None:
    """Add the cross-reference violations of a request some of whose items did not convert
    (recorded in `violations`), so that one answer names every mistake (see StandIns).

    A need or organization stands in with its id alone: the cross-checks look at nothing else
    but the counts of fixed pairs, which are not asked of a request with field violations.
    """
    if violations.full:
        return
    stand_ins = StandIns(_REFERENCES)
    # Conversion names an adjacency entry without a region at the entry's own position; the
    # cross-check at the merged mapping's, which differs when a region is listed twice.
    stand_ins.unjudged(r"policy\.region_adjacency\[\d+\]\.region")
    needs = tuple(
        _need(pb, "", Violations()) or m.Need(stand_ins.named(f"needs[{i}]", "need_id", pb.need_id))
        for i, pb in enumerate(request.needs)
    )
    organizations = organizations_or_stand_ins(request.organizations, stand_ins)
    policy = _policy(request.policy, Violations()) or _policy_stand_in(request.policy)
    problem = _problem(needs, organizations, policy, options)
    stand_ins.cross_check(validate_problem, problem, violations)


def _policy_stand_in(pb: matching_pb2.NeedMatchingPolicy) -> m.NeedPolicy:
    """What the policy refers to as given (region adjacency, forbidden and fixed pairs); the
    rest, which refers to nothing (weights, min_affinity, candidates_per_need), the defaults."""
    return m.NeedPolicy(
        region_adjacency=_adjacency(pb, Violations()),
        forbidden_pairs=_pairs(pb.forbidden_pairs),
        fixed_pairs=_pairs(pb.fixed_pairs),
    )


# ---------------------------------------------------------------------------------------------
# Result -> response
# ---------------------------------------------------------------------------------------------


def _affinity(a: m.Affinity) -> matching_pb2.Affinity:
    return matching_pb2.Affinity(
        total=a.total,
        parts=[
            matching_pb2.AffinityPart(
                part=p.part, weight=p.weight, value=p.value, contribution=p.contribution
            )
            for p in a.parts
        ],
    )


def _candidates(items: Iterable[m.Candidate]) -> list[matching_pb2.Candidate]:
    return [
        matching_pb2.Candidate(
            candidate_id=c.candidate_id,
            rank=c.rank,
            affinity=_affinity(c.affinity),
            chosen=c.chosen,
        )
        for c in items
    ]


def result_to_pb(
    result: m.NeedMatchResult, engine: str, exclude_timings: bool
) -> matching_pb2.NeedMatchResult:
    pb = matching_pb2.NeedMatchResult(
        total_affinity=result.total_affinity,
        worst_need_affinity=result.worst_need_affinity,
        summary=summary_pb(
            STATUS_PB[result.status],
            [(t.stage, t.seconds) for t in result.timings],
            engine,
            exclude_timings,
            objective=result.objective,
            best_bound=result.best_bound,
            relative_gap=result.relative_gap,
        ),
    )
    for a in result.assignments:
        pb.assignments.add(
            need_id=a.need_id,
            organization_id=a.organization_id,
            affinity=_affinity(a.affinity),
            fixed=a.fixed,
        )
    for nc in result.need_candidates:
        pb.need_candidates.add(need_id=nc.need_id, candidates=_candidates(nc.candidates))
    for oc in result.organization_candidates:
        pb.organization_candidates.add(
            organization_id=oc.organization_id, candidates=_candidates(oc.candidates)
        )
    for u in result.unmet_needs:
        pb.unmet_needs.add(
            need_id=u.need_id,
            required=u.required,
            assigned=u.assigned,
            reason=UNMET_PB[u.reason],
            message=u.message,
            candidates=u.candidates,
        )
    for n in result.notices:
        pb.notices.add(code=n.code, message=n.message, subject_ids=n.subject_ids)
    return pb


def problem_to_pb(problem: m.NeedMatchingProblem) -> matching_pb2.MatchNeedsRequest:
    """The wire form of a problem (examples and tests build requests with it)."""
    policy = problem.policy
    w = policy.weights
    request = matching_pb2.MatchNeedsRequest(
        needs=[
            matching_pb2.Need(
                need_id=n.need_id,
                display_name=n.display_name,
                domain=n.domain,
                region=n.region,
                description=n.description,
                min_organizations=n.min_organizations,
                max_organizations=n.max_organizations,
                priority=n.priority,
            )
            for n in problem.needs
        ],
        organizations=[organization_to_pb(o) for o in problem.organizations],
        policy=matching_pb2.NeedMatchingPolicy(
            weights=matching_pb2.AffinityWeights(
                domain=w.domain,
                region=w.region,
                text=w.text,
                rating=w.rating,
                track_record=w.track_record,
                capacity=w.capacity,
            ),
            objective=OBJECTIVE_PB[policy.objective],
            region_adjacency=[
                matching_pb2.RegionAdjacency(region=r, adjacent_regions=a)
                for r, a in policy.region_adjacency.items()
            ],
            forbidden_pairs=[
                matching_pb2.NeedOrganizationPair(
                    need_id=p.need_id, organization_id=p.organization_id
                )
                for p in policy.forbidden_pairs
            ],
            fixed_pairs=[
                matching_pb2.NeedOrganizationPair(
                    need_id=p.need_id, organization_id=p.organization_id
                )
                for p in policy.fixed_pairs
            ],
            one_organization_per_domain=policy.one_organization_per_domain,
            min_affinity=policy.min_affinity,
            candidates_per_need=policy.candidates_per_need,
            soft_minimums=policy.soft_minimums,
        ),
    )
    request.options.top_k = problem.top_k
    request.options.seed = problem.seed
    return request
