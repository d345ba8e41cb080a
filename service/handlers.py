"""What each RPC does, as a plain function request -> response: check limits, convert, solve,
convert back. The servicer runs these in worker threads; `venture score --local` and
`venture allocate --local` call them directly, so the command line and the server give the same
answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from matching.allocation.engine import DEFAULT_TIME_LIMIT_S, allocate
from matching.allocation.validate import validate_problem as validate_allocation
from matching.mentors.engine import DEFAULT_TIME_LIMIT_S as MENTORS_TIME_LIMIT_S
from matching.mentors.engine import match_mentors as solve_mentors
from matching.mentors.validate import validate_problem as validate_mentors
from matching.needs.engine import DEFAULT_TIME_LIMIT_S as NEEDS_TIME_LIMIT_S
from matching.needs.engine import ENGINE as NEEDS_ENGINE
from matching.needs.engine import match_needs as solve_needs
from matching.needs.validate import validate_problem as validate_needs
from scoring.engine import score_proposals as score
from scoring.errors import InvalidProblem, Violations
from scoring.model import DEFAULT_BOOTSTRAP_SAMPLES
from scoring.validate import validate_problem
from service.config import Limits
from service.convert import allocation as allocation_convert
from service.convert import mentors as mentors_convert
from service.convert import needs as needs_convert
from service.convert.common import echo_labels, options_from_pb, violations_to_pb
from service.convert.scoring import cross_check_unconverted, problem_from_pb, result_to_pb
from venture.v1 import allocation_pb2, common_pb2, matching_pb2, scoring_pb2

P = TypeVar("P")
OPTION_UNUSED = "OPTION_UNUSED"
DEADLINE_MARGIN_S = 0.2
"""Solving stops at least this long before the call's deadline, to send the result."""
TAIL_PER_ITEM_S = 20e-6
"""And this much longer per proposal, need or organization: explaining the answer and
converting it to the response take about 10-20 microseconds per item after the solve (0.4 s
for a 20,000-proposal round), and must fit before the deadline too."""
MIN_TIME_LIMIT_S = 0.05
"""A call whose deadline is (nearly) spent still gives the engine a valid, tiny limit; the
caller has likely given up, and refusing such calls outright is left to the deadline work."""


def _cross_check(problem: P | None, validate: Callable[[P], None], violations: Violations) -> None:
    """A converted problem's cross-reference checks, added to the conversion's violations (but
    at a field conversion has already reported: one answer per field)."""
    if problem is None:
        return
    try:
        validate(problem)
    except InvalidProblem as error:
        reported = {v.field for v in violations}
        for v in error.violations:
            if v.field not in reported:
                violations.add_shown(v.field, v.value, v.description)


def _check_count(violations: Violations, field: str, count: int, limit: int, setting: str) -> None:
    violations.require(
        count <= limit,
        field,
        count,
        f"at most {limit} items per request (server limit {setting}); split the request",
    )


def check_scoring_limits(request: scoring_pb2.ScoreProposalsRequest, limits: Limits) -> None:
    """Refuse oversized requests before converting anything."""
    v = Violations()
    _check_count(v, "criteria", len(request.criteria), limits.max_criteria, "max_criteria")
    _check_count(v, "judges", len(request.judges), limits.max_judges, "max_judges")
    _check_count(v, "proposals", len(request.proposals), limits.max_proposals, "max_proposals")
    _check_count(v, "sheets", len(request.sheets), limits.max_sheets, "max_sheets")
    stability = request.policy.rank_stability
    samples = stability.samples if stability.HasField("samples") else DEFAULT_BOOTSTRAP_SAMPLES
    v.require(
        samples <= limits.max_bootstrap_samples,
        "policy.rank_stability.samples",
        samples,
        f"at most {limits.max_bootstrap_samples} (server limit max_bootstrap_samples)",
    )
    cells = samples * len(request.proposals)
    v.require(
        cells <= limits.max_bootstrap_cells,
        "policy.rank_stability.samples",
        samples,
        f"{len(request.proposals)} proposals x {samples} samples exceeds the server limit "
        f"max_bootstrap_cells ({limits.max_bootstrap_cells}); use fewer samples",
    )
    v.raise_if_any()


def score_proposals(
    request: scoring_pb2.ScoreProposalsRequest, limits: Limits
) -> scoring_pb2.ScoreProposalsResponse:
    """ScoreProposals: rank proposals from judges' sheets, explained."""
    check_scoring_limits(request, limits)
    violations = Violations()
    options = options_from_pb(request.options, violations)
    problem = problem_from_pb(request, options.seed, violations)
    if problem is None:  # the fields' violations, and what the rest refers to wrongly
        cross_check_unconverted(request, options.seed, violations)
    elif violations or options.validate_only:  # bad options: the references are still checked
        _cross_check(problem, validate_problem, violations)
    response = scoring_pb2.ScoreProposalsResponse()
    echo_labels(request, response)
    if options.validate_only:
        response.validation_errors.extend(violations_to_pb(list(violations)))
        return response
    violations.raise_if_any()
    assert problem is not None  # no violations means every field converted
    result = score(problem)
    result_to_pb(result, options.exclude_timings, into=response.result)
    _note_unused_options(request, response.result)
    return response


def _note_unused_options(
    request: scoring_pb2.ScoreProposalsRequest, result: scoring_pb2.ScoringResult
) -> None:
    """Options that mean nothing to an exact, bounded computation are reported, not dropped."""
    given = request.options
    if given.HasField("time_limit") and (given.time_limit.seconds or given.time_limit.nanos):
        result.notices.add(
            code=OPTION_UNUSED,
            message="options.time_limit is not used: scoring is exact and always runs to the end "
            "(the call deadline still applies)",
        )
    if given.top_k:
        result.notices.add(
            code=OPTION_UNUSED,
            message="options.top_k is not used: ScoreProposals returns every proposal, ranked",
        )


def check_allocation_limits(request: allocation_pb2.AllocateFundingRequest, limits: Limits) -> None:
    """Refuse oversized requests before converting anything."""
    rules = request.rules
    counts = (
        ("proposals", len(request.proposals), limits.max_proposals, "max_proposals"),
        ("rules.pools", len(rules.pools), limits.max_pools, "max_pools"),
        ("rules.tiers", len(rules.tiers), limits.max_tiers, "max_tiers"),
        ("rules.score_bands", len(rules.score_bands), limits.max_score_bands, "max_score_bands"),
        ("rules.quotas", len(rules.quotas), limits.max_quotas, "max_quotas"),
        (
            "rules.locked_decisions",
            len(rules.locked_decisions),
            limits.max_locked_decisions,
            "max_locked_decisions",
        ),
    )
    v = Violations()
    for field, count, limit, setting in counts:
        v.require(
            count <= limit,
            field,
            count,
            f"at most {limit} items per request (server limit {setting}); a round is allocated "
            "as a whole, so the server's operator must raise the limit",
        )
    v.raise_if_any()


def allocate_funding(
    request: allocation_pb2.AllocateFundingRequest,
    limits: Limits,
    deadline: float | None = None,
) -> allocation_pb2.AllocateFundingResponse:
    """AllocateFunding: fund proposals within the budget and rules, every decision explained.

    `deadline` is the call's deadline on the time.monotonic() clock (None: the caller set none);
    the engine's time limit is cut so that the answer arrives before it.
    """
    check_allocation_limits(request, limits)
    violations = Violations()
    options = options_from_pb(request.options, violations)
    problem = allocation_convert.problem_from_pb(request, options, violations)
    if problem is None:  # the fields' violations, and what the rest refers to wrongly
        allocation_convert.cross_check_unconverted(request, options, violations)
    response = allocation_pb2.AllocateFundingResponse()
    echo_labels(request, response)
    # The engines trust their input: cross-references are checked here, once, for all.
    _cross_check(problem, validate_allocation, violations)
    if options.validate_only:
        response.validation_errors.extend(violations_to_pb(list(violations)))
        return response
    violations.raise_if_any()
    assert problem is not None  # no violations means every field converted
    limit = solve_time_limit(
        problem.time_limit_s, deadline, DEFAULT_TIME_LIMIT_S, len(problem.proposals)
    )
    problem = replace(problem, time_limit_s=limit)
    result = allocate(problem)
    response.result.CopyFrom(allocation_convert.result_to_pb(result, options.exclude_timings))
    _note_unused_allocation_options(request.options, response.result)
    return response


def solve_time_limit(
    requested_s: float | None,
    deadline: float | None,
    default_s: float = DEFAULT_TIME_LIMIT_S,
    items: int = 0,
) -> float | None:
    """The engine's time limit: the request's own limit (None: the engine's default,
    `default_s`), cut to end before the call's deadline, as RequestOptions.time_limit promises:
    DEADLINE_MARGIN_S plus TAIL_PER_ITEM_S for each of the answer's `items` before it."""
    if deadline is None:
        return requested_s
    reserve = DEADLINE_MARGIN_S + TAIL_PER_ITEM_S * items
    left = max(deadline - time.monotonic() - reserve, MIN_TIME_LIMIT_S)
    return min(default_s if requested_s is None else requested_s, left)


def _note_unused_allocation_options(
    given: common_pb2.RequestOptions, result: allocation_pb2.AllocationResult
) -> None:
    """Options that mean nothing to allocation are reported, not dropped."""
    if given.top_k:
        result.notices.add(
            code=OPTION_UNUSED,
            message="options.top_k is not used: AllocateFunding returns every award and every "
            "unfunded proposal",
        )


def check_needs_limits(request: matching_pb2.MatchNeedsRequest, limits: Limits) -> None:
    """Refuse oversized requests before converting anything, naming the limit."""
    v = Violations()
    _check_count(v, "needs", len(request.needs), limits.max_needs, "max_needs")
    _check_count(
        v,
        "organizations",
        len(request.organizations),
        limits.max_organizations,
        "max_organizations",
    )
    policy = request.policy
    listed = len(policy.forbidden_pairs) + len(policy.fixed_pairs)
    v.require(
        listed <= limits.max_listed_pairs,
        "policy.forbidden_pairs",
        listed,
        f"at most {limits.max_listed_pairs} forbidden plus fixed pairs per request (server limit "
        "max_listed_pairs)",
    )
    per_need = len(request.organizations)
    if policy.candidates_per_need > 0:
        per_need = min(per_need, policy.candidates_per_need)
    v.require(
        len(request.needs) * per_need <= limits.max_candidate_pairs,
        "policy.candidates_per_need",
        policy.candidates_per_need,
        f"{len(request.needs)} needs x {per_need} candidate organizations each exceeds the server "
        f"limit max_candidate_pairs ({limits.max_candidate_pairs}); set candidates_per_need to at "
        f"most {max(limits.max_candidate_pairs // max(len(request.needs), 1), 1)}",
    )
    v.raise_if_any()


def match_needs(
    request: matching_pb2.MatchNeedsRequest,
    limits: Limits,
    deadline: float | None = None,
) -> matching_pb2.MatchNeedsResponse:
    """MatchNeeds: organizations to community needs, optimal or fair, with ranked alternatives.

    `deadline` is the call's deadline on the time.monotonic() clock (None: none set).
    """
    check_needs_limits(request, limits)
    violations = Violations()
    options = options_from_pb(request.options, violations)
    problem = needs_convert.problem_from_pb(request, options, violations)
    if problem is None:  # the fields' violations, and what the rest refers to wrongly
        needs_convert.cross_check_unconverted(request, options, violations)
    elif violations or options.validate_only:  # bad options: the references are still checked
        _cross_check(problem, validate_needs, violations)
    response = matching_pb2.MatchNeedsResponse()
    echo_labels(request, response)
    if options.validate_only:
        response.validation_errors.extend(violations_to_pb(list(violations)))
        return response
    violations.raise_if_any()
    assert problem is not None  # no violations means every field converted
    items = len(problem.needs) + len(problem.organizations)
    limit = solve_time_limit(problem.time_limit_s, deadline, NEEDS_TIME_LIMIT_S, items)
    problem = replace(problem, time_limit_s=limit)
    # The engine validates cross-references itself; an Unsatisfiable from it stays
    # FAILED_PRECONDITION.
    result = solve_needs(problem)
    response.result.CopyFrom(
        needs_convert.result_to_pb(result, NEEDS_ENGINE, options.exclude_timings)
    )
    return response


def check_mentors_limits(request: matching_pb2.MatchMentorsRequest, limits: Limits) -> None:
    """Refuse oversized requests before converting anything, naming the limit."""
    v = Violations()
    _check_count(v, "mentors", len(request.mentors), limits.max_mentors, "max_mentors")
    _check_count(
        v,
        "organizations",
        len(request.organizations),
        limits.max_organizations,
        "max_organizations",
    )
    v.raise_if_any()


def match_mentors(
    request: matching_pb2.MatchMentorsRequest,
    limits: Limits,
    deadline: float | None = None,
) -> matching_pb2.MatchMentorsResponse:
    """MatchMentors: mentor teams that cover organizations' weak areas, explained."""
    check_mentors_limits(request, limits)
    violations = Violations()
    options = options_from_pb(request.options, violations)
    problem = mentors_convert.problem_from_pb(request, options, violations)
    if problem is None:  # the fields' violations, and what the rest refers to wrongly
        mentors_convert.cross_check_unconverted(request, options, violations)
    response = matching_pb2.MatchMentorsResponse()
    echo_labels(request, response)
    _cross_check(problem, validate_mentors, violations)
    if options.validate_only:
        response.validation_errors.extend(violations_to_pb(list(violations)))
        return response
    violations.raise_if_any()
    assert problem is not None  # no violations means every field converted
    items = len(problem.mentors) + len(problem.organizations)
    limit = solve_time_limit(problem.time_limit_s, deadline, MENTORS_TIME_LIMIT_S, items)
    result = solve_mentors(replace(problem, time_limit_s=limit))
    response.result.CopyFrom(mentors_convert.result_to_pb(result, options.exclude_timings))
    return response
