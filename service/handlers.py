"""What each RPC does, as a plain function request -> response: check limits, convert, solve,
convert back. The servicer runs these in worker threads; `venture score --local` calls them
directly, so the command line and the server give the same answer.
"""

from __future__ import annotations

from scoring.engine import score_proposals as score
from scoring.errors import InvalidProblem, Violations
from scoring.model import DEFAULT_BOOTSTRAP_SAMPLES
from scoring.validate import validate_problem
from service.config import Limits
from service.convert.common import echo_labels, options_from_pb, violations_to_pb
from service.convert.scoring import problem_from_pb, result_to_pb
from venture.v1 import scoring_pb2

OPTION_UNUSED = "OPTION_UNUSED"


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
    response = scoring_pb2.ScoreProposalsResponse()
    echo_labels(request, response)
    if options.validate_only:
        if problem is not None:
            try:
                validate_problem(problem)
            except InvalidProblem as error:
                violations.extend(error)
        response.validation_errors.extend(violations_to_pb(list(violations)))
        return response
    violations.raise_if_any()
    assert problem is not None  # no violations means every field converted
    result = score(problem)
    response.result.CopyFrom(result_to_pb(result, options.exclude_timings))
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
