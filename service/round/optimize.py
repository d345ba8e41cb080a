"""OptimizeRound: one round scored, shortlisted, allocated and matched in one consistent call.

Each stage is the RPC that does it alone (service.handlers), fed from the round's request:
scoring; allocation of the proposals scoring qualified, at their published scores (the others are
reported unfunded with scoring's reason); needs and mentor matching of the organizations that
were funded, so what is matched is what was funded. Every part is validated before any is
solved, and every violation is named by its path in the round's request.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

from matching.allocation.validate import MAX_SCORE
from scoring.arrays import round_score
from scoring.errors import FieldViolation, InvalidProblem, Unsatisfiable, Violations
from service import handlers
from service.config import Limits
from service.convert.common import duration_pb
from venture.v1 import (
    allocation_pb2,
    common_pb2,
    matching_pb2,
    round_pb2,
    scoring_pb2,
)

NO_FUNDED_ORGANIZATIONS = "NO_FUNDED_ORGANIZATIONS"
FIXED_PAIR_NOT_FUNDED = "FIXED_PAIR_NOT_FUNDED"
SOLVERS = ("ortools", "scipy", "scikit-learn", "numpy")
DEFAULT_TIE_DECIMALS = 2
_SCORE_FIELD = re.compile(r"proposals\[\d+\]\.score")
"""The allocation's path of a proposal's score, which a round's scoring computes."""
"""ScoringPolicy.tie_decimals when unset (scoring.model.ScoringPolicy's default)."""

_UNFUNDED_FOR = {
    scoring_pb2.SCORING_OUTCOME_BELOW_PASS_LINE: allocation_pb2.UNFUNDED_REASON_BELOW_PASS_LINE,
    scoring_pb2.SCORING_OUTCOME_VETOED: allocation_pb2.UNFUNDED_REASON_INELIGIBLE,
    scoring_pb2.SCORING_OUTCOME_INELIGIBLE: allocation_pb2.UNFUNDED_REASON_INELIGIBLE,
    scoring_pb2.SCORING_OUTCOME_NOT_SCORED: allocation_pb2.UNFUNDED_REASON_NOT_SCORED,
}


@dataclass(frozen=True, slots=True)
class _Paths:
    """How a stage's field paths read in the round's request."""

    policy: str
    """The round's name for the stage request's `policy` (or `rules`)."""
    proposals: list[int] | None = None
    """Stage proposal index -> round proposal index (None: the same)."""
    organizations: list[int] | None = None

    def rewrite(self, field: str) -> str:
        for stage_name in ("policy", "rules"):
            if (
                field == stage_name
                or field.startswith(stage_name + ".")
                or field.startswith(stage_name + "[")
            ):
                return self.policy + field[len(stage_name) :]
        for name, mapping in (("proposals", self.proposals), ("organizations", self.organizations)):
            if mapping is not None and field.startswith(name + "["):
                index, rest = field[len(name) + 1 :].split("]", 1)
                if index.isdigit() and int(index) < len(mapping):
                    return f"{name}[{mapping[int(index)]}]{rest}"
        return field

    def error(self, error: InvalidProblem) -> InvalidProblem:
        moved = [
            FieldViolation(self.rewrite(v.field), v.value, v.description) for v in error.violations
        ]
        kind = Unsatisfiable if isinstance(error, Unsatisfiable) else InvalidProblem
        return kind(moved, error.truncated)


def input_hash(request: round_pb2.OptimizeRoundRequest) -> str:
    """SHA-256 of the request's deterministic serialisation: the key of a result."""
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def provenance(request: round_pb2.OptimizeRoundRequest) -> round_pb2.Provenance:
    return round_pb2.Provenance(
        input_hash=input_hash(request),
        venture_version=version("venture"),
        solver_versions={name: version(name) for name in SOLVERS},
        seed=request.options.seed,
        options=request.options,
    )


def optimize_round(
    request: round_pb2.OptimizeRoundRequest, limits: Limits, deadline: float | None = None
) -> round_pb2.OptimizeRoundResponse:
    """The whole round (see the module docstring); `deadline` on the time.monotonic() clock."""
    response = round_pb2.OptimizeRoundResponse(round_id=request.round_id)
    for key in sorted(request.labels):
        response.labels[key] = request.labels[key]
    response.provenance.CopyFrom(provenance(request))
    problems = _validate(request, limits)
    if request.options.validate_only:
        response.validation_errors.extend(
            common_pb2.FieldViolation(field=v.field, description=v.description, value=v.value)
            for v in problems
        )
        return response
    if problems:
        raise InvalidProblem(problems[:], len(problems) >= 100)
    stages: list[tuple[str, float]] = []

    def timed(name: str, work: Callable[[], None]) -> None:
        started = time.perf_counter()
        work()
        stages.append((name, time.perf_counter() - started))

    scored: dict[str, scoring_pb2.ScoredProposal] = {}

    def score() -> None:
        result = handlers.score_proposals(_scoring_request(request), limits).result
        response.scoring.CopyFrom(result)
        scored.update({p.proposal_id: p for p in result.proposals})

    timed("score", score)

    def allocate() -> None:
        stage, paths = _allocation_request(request, scored)
        try:
            result = handlers.allocate_funding(stage, limits, deadline).result
        except InvalidProblem as error:
            raise paths.error(_computed_scores(error)) from None
        response.allocation.CopyFrom(_with_scoring_reasons(request, scored, result))

    timed("allocate", allocate)
    funded = {
        p.organization_id
        for p in request.proposals
        if p.proposal_id in {a.proposal_id for a in response.allocation.awards}
    }
    orgs = [j for j, o in enumerate(request.organizations) if o.organization_id in funded]
    if request.needs:
        dropped = unfunded_fixed_pairs(request, orgs)
        if dropped:
            response.notices.add(
                code=FIXED_PAIR_NOT_FUNDED,
                message=f"{len(dropped)} fixed pair(s) name an organization that was not funded, "
                "so they could not be kept: "
                + ", ".join(f"({p.need_id}, {p.organization_id})" for p in dropped[:10]),
                subject_ids=[p.organization_id for p in dropped],
            )
        if orgs:
            timed("match_needs", lambda: _match_needs(request, orgs, limits, deadline, response))
        else:
            _skipped(response, "needs matching")
    if request.mentors:
        if orgs:
            timed(
                "match_mentors", lambda: _match_mentors(request, orgs, limits, deadline, response)
            )
        else:
            _skipped(response, "mentor matching")
    if not request.options.exclude_timings:
        for name, seconds in stages:
            response.timings.add(stage=name, duration=duration_pb(seconds))
    return response


def _skipped(response: round_pb2.OptimizeRoundResponse, what: str) -> None:
    response.notices.add(
        code=NO_FUNDED_ORGANIZATIONS,
        message=f"{what} was skipped: no organization was funded, so there is nothing to match",
    )


def _match_needs(
    request: round_pb2.OptimizeRoundRequest,
    orgs: list[int],
    limits: Limits,
    deadline: float | None,
    response: round_pb2.OptimizeRoundResponse,
) -> None:
    stage = _needs_request(request, orgs)
    try:
        result = handlers.match_needs(stage, limits, deadline).result
    except InvalidProblem as error:
        raise _Paths("need_matching_policy", organizations=orgs).error(error) from None
    response.needs.CopyFrom(result)


def _match_mentors(
    request: round_pb2.OptimizeRoundRequest,
    orgs: list[int],
    limits: Limits,
    deadline: float | None,
    response: round_pb2.OptimizeRoundResponse,
) -> None:
    stage = _mentors_request(request, orgs)
    try:
        result = handlers.match_mentors(stage, limits, deadline).result
    except InvalidProblem as error:
        raise _Paths("mentor_matching_policy", organizations=orgs).error(error) from None
    response.mentors.CopyFrom(result)


# ---------------------------------------------------------------------------------------------
# Stage requests
# ---------------------------------------------------------------------------------------------


def _options(
    request: round_pb2.OptimizeRoundRequest, validate_only: bool
) -> common_pb2.RequestOptions:
    options = common_pb2.RequestOptions()
    options.CopyFrom(request.options)
    options.validate_only = validate_only
    return options


def _scoring_request(
    request: round_pb2.OptimizeRoundRequest, validate_only: bool = False
) -> scoring_pb2.ScoreProposalsRequest:
    options = _options(request, validate_only)
    options.ClearField("time_limit")  # scoring is exact: a time limit would only be reported
    options.top_k = 0
    return scoring_pb2.ScoreProposalsRequest(
        options=options,
        criteria=request.criteria,
        judges=request.judges,
        proposals=request.proposals,
        sheets=request.sheets,
        policy=request.scoring_policy,
    )


def _computed_scores(error: InvalidProblem) -> InvalidProblem:
    """The allocation's violations, with those of `proposals[i].score` said of the proposal:
    in a round that score is not a field of the request but scoring's result, and the fix is
    in the rubric."""
    moved = [
        FieldViolation(
            v.field.removesuffix(".score"),
            v.value,
            f"its final score from scoring, {v.value}, is outside the ±{MAX_SCORE:,.0f} that "
            "allocation accepts; scale the rubric down (criterion weights in points mode, "
            "component weights and caps)",
        )
        if _SCORE_FIELD.fullmatch(v.field)
        else v
        for v in error.violations
    ]
    kind = Unsatisfiable if isinstance(error, Unsatisfiable) else InvalidProblem
    return kind(moved, error.truncated)


def _allocation_request(
    request: round_pb2.OptimizeRoundRequest, scored: dict[str, scoring_pb2.ScoredProposal]
) -> tuple[allocation_pb2.AllocateFundingRequest, _Paths]:
    """The proposals scoring qualified, each with its published final score: rounded to
    tie_decimals as scoring's pass line and ties read it, so that a proposal scoring
    qualified at 59.996 (published 60.00) is not below an allocation pass line of 60."""
    policy = request.scoring_policy
    decimals = policy.tie_decimals if policy.HasField("tie_decimals") else DEFAULT_TIE_DECIMALS
    options = _options(request, False)
    options.top_k = 0
    stage = allocation_pb2.AllocateFundingRequest(options=options, rules=request.allocation_rules)
    kept: list[int] = []
    for i, proposal in enumerate(request.proposals):
        outcome = scored.get(proposal.proposal_id)
        if outcome is None or outcome.outcome != scoring_pb2.SCORING_OUTCOME_QUALIFIED:
            continue
        copy = stage.proposals.add()
        copy.CopyFrom(proposal)
        copy.score = round_score(outcome.final_score, decimals)
        kept.append(i)
    return stage, _Paths("allocation_rules", proposals=kept)


def _with_scoring_reasons(
    request: round_pb2.OptimizeRoundRequest,
    scored: dict[str, scoring_pb2.ScoredProposal],
    result: allocation_pb2.AllocationResult,
) -> allocation_pb2.AllocationResult:
    """The allocation with the proposals scoring did not qualify listed as unfunded, with
    scoring's reason, in request order."""
    merged = allocation_pb2.AllocationResult()
    merged.CopyFrom(result)
    del merged.unfunded[:]
    by_id = {u.proposal_id: u for u in result.unfunded}
    for proposal in request.proposals:
        pid = proposal.proposal_id
        if pid in by_id:
            merged.unfunded.append(by_id[pid])
            continue
        outcome = scored.get(pid)
        if outcome is None or outcome.outcome == scoring_pb2.SCORING_OUTCOME_QUALIFIED:
            continue
        reason = outcome.reasons[0] if outcome.reasons else None
        merged.unfunded.add(
            proposal_id=pid,
            reason=_UNFUNDED_FOR.get(outcome.outcome, allocation_pb2.UNFUNDED_REASON_INELIGIBLE),
            rule="scoring_policy"
            + (f" ({reason.subject_id})" if reason and reason.subject_id else ""),
            message="scoring: " + (reason.message if reason else "not qualified"),
        )
    return merged


def _needs_request(
    request: round_pb2.OptimizeRoundRequest, orgs: list[int], validate_only: bool = False
) -> matching_pb2.MatchNeedsRequest:
    """Needs matching of these organizations. Solving, forbidden and fixed pairs naming another
    organization are left out (it was not funded; the fixed ones are reported by the caller).
    Validating (every organization), nothing is: a pair naming an organization the round does
    not have is the caller's mistake, and is reported at its own position."""
    stage = matching_pb2.MatchNeedsRequest(
        options=_options(request, validate_only),
        needs=request.needs,
        organizations=[request.organizations[j] for j in orgs],
        policy=request.need_matching_policy,
    )
    if validate_only:
        return stage
    present = {request.organizations[j].organization_id for j in orgs}
    policy = stage.policy
    for pairs in (policy.forbidden_pairs, policy.fixed_pairs):
        kept = [p for p in pairs if p.organization_id in present]
        del pairs[:]
        pairs.extend(kept)
    return stage


def unfunded_fixed_pairs(
    request: round_pb2.OptimizeRoundRequest, orgs: list[int]
) -> list[matching_pb2.NeedOrganizationPair]:
    """Fixed (need, organization) pairs whose organization was not funded."""
    present = {request.organizations[j].organization_id for j in orgs}
    return [p for p in request.need_matching_policy.fixed_pairs if p.organization_id not in present]


def _mentors_request(
    request: round_pb2.OptimizeRoundRequest, orgs: list[int], validate_only: bool = False
) -> matching_pb2.MatchMentorsRequest:
    """Mentor matching of these organizations. Solving, conflicts with other organizations (not
    funded, so never matched) are left out; validating (every organization), none is, so that a
    conflict with an organization the round does not have is reported."""
    stage = matching_pb2.MatchMentorsRequest(
        options=_options(request, validate_only),
        mentors=request.mentors,
        organizations=[request.organizations[j] for j in orgs],
        policy=request.mentor_matching_policy,
    )
    if validate_only:
        return stage
    present = {request.organizations[j].organization_id for j in orgs}
    for mentor in stage.mentors:
        kept = [o for o in mentor.conflict_organization_ids if o in present]
        del mentor.conflict_organization_ids[:]
        mentor.conflict_organization_ids.extend(kept)
    return stage


# ---------------------------------------------------------------------------------------------
# Validation of every part before any is solved
# ---------------------------------------------------------------------------------------------


def _validate(request: round_pb2.OptimizeRoundRequest, limits: Limits) -> list[FieldViolation]:
    """Every violation of every stage, with the round's paths. Limits are checked first, by
    each stage's own check (oversized parts are refused before anything is converted)."""
    found = Violations()
    everyone = list(range(len(request.organizations)))
    unscored = allocation_pb2.AllocateFundingRequest(
        options=_options(request, True), rules=request.allocation_rules
    )
    for proposal in request.proposals:
        copy = unscored.proposals.add()
        copy.CopyFrom(proposal)
        copy.ClearField("score")
    checks: list[tuple[Callable[[], object], _Paths]] = [
        (
            lambda: handlers.score_proposals(_scoring_request(request, True), limits),
            _Paths("scoring_policy"),
        ),
        (lambda: handlers.allocate_funding(unscored, limits), _Paths("allocation_rules")),
    ]
    if request.needs:
        checks.append(
            (
                lambda: handlers.match_needs(_needs_request(request, everyone, True), limits),
                _Paths("need_matching_policy"),
            )
        )
    if request.mentors:
        checks.append(
            (
                lambda: handlers.match_mentors(_mentors_request(request, everyone, True), limits),
                _Paths("mentor_matching_policy"),
            )
        )
    said: set[tuple[str, str, str]] = set()  # the stages share proposals, organizations, options
    for run, paths in checks:
        try:
            answer = run()
        except InvalidProblem as error:  # limits: raised even for validate_only
            found.extend(paths.error(error))
            continue
        for v in answer.validation_errors:  # type: ignore[attr-defined]
            violation = (paths.rewrite(v.field), v.value, v.description)
            if violation not in said:
                said.add(violation)
                found.add_shown(*violation)
    _check_organizations(request, found)
    return list(found)


def _check_organizations(request: round_pb2.OptimizeRoundRequest, found: Violations) -> None:
    """A funded organization must be in `organizations` to be matched to needs or mentors."""
    if not request.needs and not request.mentors:
        return
    known = {o.organization_id for o in request.organizations}
    for i, proposal in enumerate(request.proposals):
        if proposal.organization_id not in known:
            found.add(
                f"proposals[{i}].organization_id",
                proposal.organization_id,
                "not among the round's organizations; every applicant organization must be "
                "listed there so that, if funded, it can be matched to needs and mentors",
            )
