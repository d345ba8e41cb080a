"""MatchMentors request → matching.mentors problem, and result → response."""

from __future__ import annotations

from matching.mentors import model as m
from matching.mentors.validate import validate_problem
from matching.organization import Organization
from scoring.errors import Violations
from service.convert.common import STATUS_PB, Options, StandIns, all_built, build, summary_pb
from service.convert.organization import (
    organization_from_pb,
    organization_to_pb,
    organizations_or_stand_ins,
)
from venture.v1 import matching_pb2

UNCOVERED_PB = {
    m.UncoveredReason.NO_EXPERT: matching_pb2.UNCOVERED_REASON_NO_EXPERT,
    m.UncoveredReason.CAPACITY: matching_pb2.UNCOVERED_REASON_CAPACITY,
    m.UncoveredReason.CONFLICT: matching_pb2.UNCOVERED_REASON_CONFLICT,
    m.UncoveredReason.REGION: matching_pb2.UNCOVERED_REASON_REGION,
    m.UncoveredReason.MENTOR_LIMIT: matching_pb2.UNCOVERED_REASON_MENTOR_LIMIT,
}


def problem_from_pb(
    request: matching_pb2.MatchMentorsRequest, options: Options, violations: Violations
) -> m.MentorMatchingProblem | None:
    """The problem, or None with every conversion violation recorded."""
    mentors = all_built(
        _mentor(pb, f"mentors[{k}]", violations) for k, pb in enumerate(request.mentors)
    )
    orgs = all_built(
        organization_from_pb(pb, f"organizations[{j}]", violations)
        for j, pb in enumerate(request.organizations)
    )
    if mentors is None or orgs is None:
        return None
    return _problem(mentors, orgs, request, options)


def _problem(
    mentors: tuple[m.Mentor, ...],
    organizations: tuple[Organization, ...],
    request: matching_pb2.MatchMentorsRequest,
    options: Options,
) -> m.MentorMatchingProblem:
    return m.MentorMatchingProblem(
        mentors,
        organizations,
        m.MentorPolicy(balance_load=request.policy.balance_load),
        top_k=options.top_k,
        time_limit_s=options.time_limit_s,
        seed=options.seed,
    )


def _mentor(pb: matching_pb2.Mentor, path: str, violations: Violations) -> m.Mentor | None:
    expertise = all_built(
        build(violations, f"{path}.expertise[{k}]", m.Expertise, e.area, e.level)
        for k, e in enumerate(pb.expertise)
    )
    if expertise is None:
        return None
    return build(
        violations,
        path,
        m.Mentor,
        mentor_id=pb.mentor_id,
        display_name=pb.display_name,
        expertise=expertise,
        capacity=pb.capacity or 1,
        regions=tuple(pb.regions),
        remote=pb.remote,
        conflict_organization_ids=tuple(pb.conflict_organization_ids),
    )


# ---------------------------------------------------------------------------------------------
# Cross-references of a request that did not convert
# ---------------------------------------------------------------------------------------------

_REFERENCES = {"organizations": r"mentors\[\d+\]\.conflict_organization_ids\[\d+\]"}
"""Where a list's items are referred to by id (mentors are not)."""


def cross_check_unconverted(
    request: matching_pb2.MatchMentorsRequest, options: Options, violations: Violations
) -> None:
    """Add the cross-reference violations of a request some of whose items did not convert
    (recorded in `violations`), so that one answer names every mistake (see StandIns)."""
    if violations.full:
        return
    stand_ins = StandIns(_REFERENCES)
    mentors = tuple(
        _mentor(pb, "", Violations()) or _mentor_stand_in(pb, f"mentors[{k}]", stand_ins)
        for k, pb in enumerate(request.mentors)
    )
    organizations = organizations_or_stand_ins(request.organizations, stand_ins)
    problem = _problem(mentors, organizations, request, options)
    stand_ins.cross_check(validate_problem, problem, violations)


def _mentor_stand_in(pb: matching_pb2.Mentor, path: str, stand_ins: StandIns) -> m.Mentor:
    """Its id and the organizations it must not serve as given; no expertise."""
    conflicts = tuple(pb.conflict_organization_ids)
    for j in range(len(conflicts)):
        stand_ins.keep(f"{path}.conflict_organization_ids[{j}]")
    return m.Mentor(
        stand_ins.named(path, "mentor_id", pb.mentor_id), conflict_organization_ids=conflicts
    )


# ---------------------------------------------------------------------------------------------
# Result -> response
# ---------------------------------------------------------------------------------------------


def result_to_pb(
    result: m.MentorMatchResult, exclude_timings: bool
) -> matching_pb2.MentorMatchResult:
    pb = matching_pb2.MentorMatchResult(
        blocking_pairs=result.blocking_pairs,
        summary=summary_pb(
            STATUS_PB[result.status],
            [(t.stage, t.seconds) for t in result.timings],
            result.engine,
            exclude_timings,
            objective=result.objective,
            best_bound=result.best_bound,
            relative_gap=result.relative_gap,
        ),
    )
    for a in result.assignments:
        pb.assignments.add(
            organization_id=a.organization_id,
            mentor_id=a.mentor_id,
            covered=[
                matching_pb2.CoveredArea(area=c.area, severity=c.severity, level=c.level)
                for c in a.covered
            ],
            value=a.value,
        )
    for u in result.uncovered:
        pb.uncovered.add(
            organization_id=u.organization_id,
            area=u.area,
            severity=u.severity,
            reason=UNCOVERED_PB[u.reason],
            message=u.message,
        )
    for alt in result.alternatives:
        pb.alternatives.add(
            organization_id=alt.organization_id,
            candidates=[
                matching_pb2.MentorCandidate(
                    mentor_id=c.mentor_id,
                    rank=c.rank,
                    value=c.value,
                    areas=c.areas,
                    chosen=c.chosen,
                )
                for c in alt.candidates
            ],
        )
    for n in result.notices:
        pb.notices.add(code=n.code, message=n.message, subject_ids=n.subject_ids)
    return pb


def problem_to_pb(problem: m.MentorMatchingProblem) -> matching_pb2.MatchMentorsRequest:
    """The wire form of a problem (examples and tests build requests with it)."""
    request = matching_pb2.MatchMentorsRequest(
        mentors=[
            matching_pb2.Mentor(
                mentor_id=x.mentor_id,
                display_name=x.display_name,
                expertise=[matching_pb2.Expertise(area=e.area, level=e.level) for e in x.expertise],
                capacity=x.capacity,
                regions=x.regions,
                remote=x.remote,
                conflict_organization_ids=x.conflict_organization_ids,
            )
            for x in problem.mentors
        ],
        organizations=[organization_to_pb(o) for o in problem.organizations],
        policy=matching_pb2.MentorMatchingPolicy(balance_load=problem.policy.balance_load),
    )
    request.options.top_k = problem.top_k
    request.options.seed = problem.seed
    return request
