"""MatchNeeds' engine: organizations to the needs they will serve, proven optimal (or max-min
fair), explained.

1. validate.validate_problem checks ids and pairs; affinity.features_of and
   candidates.candidate_pairs give every legal pair its affinity (forbidden pairs, min_affinity
   and candidates_per_need applied; fixed pairs always kept).
2. candidates.precheck finds needs that cannot have their minimum from their candidates; in
   hard mode (soft_minimums off) that, or any shortfall the solver proves, is Unsatisfiable
   (FAILED_PRECONDITION) with the counts; in soft mode it is each unmet need's reason.
3. TOTAL_AFFINITY without one_organization_per_domain: flow.solve_flow (min-cost flow over each
   need's best pairs, proven optimal over all of them by pricing). FAIR or
   one_organization_per_domain: cpsat.solve_cpsat (lexicographic stages in CP-SAT).
4. explain gives breakdowns, ranked alternatives and unmet needs.

Deterministic: the flow has no randomness; CP-SAT runs its deterministic parallel mode (two
workers interleaved) with the request's seed, started from the flow's optimum where it obeys
the rules.
"""

from __future__ import annotations

import dataclasses
import time
from importlib.metadata import version

import numpy as np
import numpy.typing as npt

from matching.needs.affinity import features_of
from matching.needs.candidates import (
    CandidatePairs,
    candidate_pairs,
    demand_above_capacity,
    loads_above_room,
    precheck,
)
from matching.needs.cpsat import VALUE_SCALE, solve_cpsat
from matching.needs.encode import Encoded, encode
from matching.needs.explain import Explainer
from matching.needs.flow import MIN_PRECISE_SCALE, FlowInfeasible, solve_flow
from matching.needs.infeasible import loads_short, needs_short
from matching.needs.model import MatchObjective, NeedMatchingProblem, NeedMatchResult
from matching.needs.validate import validate_problem
from matching.status import SolveStatus
from scoring.cancel import checkpoint
from scoring.errors import FieldViolation, Unsatisfiable
from scoring.model import Notice, StageTime

DEFAULT_TIME_LIMIT_S = 60.0
"""Time limit when the request gives none (the call's deadline may cut it further)."""
TIME_LIMIT_REACHED = "TIME_LIMIT_REACHED"
PRECISION_REDUCED = "PRECISION_REDUCED"
DEMAND_ABOVE_SUPPLY = "DEMAND_ABOVE_SUPPLY"
ENGINE = f"venture-needs (ortools {version('ortools')})"


def match_needs(problem: NeedMatchingProblem) -> NeedMatchResult:
    """Match a problem's needs and organizations (see the module docstring)."""
    clock = _Clock()
    limit = problem.time_limit_s if problem.time_limit_s is not None else DEFAULT_TIME_LIMIT_S
    deadline = time.monotonic() + limit
    validate_problem(problem)
    policy = problem.policy
    weights = policy.weights.normalised()
    features = features_of(problem.needs, problem.organizations, policy.region_adjacency)
    pairs = candidate_pairs(problem, features, weights)
    clock.lap("affinity")
    shortfalls = precheck(problem, features, pairs)
    notices = _check_totals(problem)
    if shortfalls and not policy.soft_minimums:
        raise Unsatisfiable(
            FieldViolation(
                f"needs[{s.need}].min_organizations",
                str(s.required),
                f"{s.message}; set policy.soft_minimums to match the others and report this",
            )
            for s in shortfalls
        )
    enc = encode(problem, pairs)
    if policy.objective is MatchObjective.FAIR or policy.one_organization_per_domain:
        chosen, status, bound_gap = _by_cpsat(problem, enc, deadline, limit, notices)
    else:
        chosen, status, bound_gap = _by_flow(problem, enc, notices), SolveStatus.OPTIMAL, 0.0
    clock.lap("solve")
    short = np.bincount(pairs.need[chosen], minlength=len(problem.needs)) < np.array(
        [n.min_organizations for n in problem.needs]
    )
    if short.any() and not policy.soft_minimums:
        raise needs_short(problem, enc) or _unexplained_short(problem, short)
    explainer = Explainer(problem, features, weights, pairs, chosen)
    assignments = explainer.assignments()
    result = NeedMatchResult(
        status=status,
        assignments=assignments,
        need_candidates=explainer.need_candidates(),
        organization_candidates=explainer.organization_candidates(),
        unmet_needs=explainer.unmet(shortfalls),
        total_affinity=float(np.sum(enc.value[chosen])),
        worst_need_affinity=_worst_need(problem, pairs, chosen),
        objective=float(np.sum(enc.value[chosen])),
        best_bound=float(np.sum(enc.value[chosen])) + bound_gap,
        notices=tuple(notices),
        timings=(),
    )
    clock.lap("explain")
    return _with_timings(result, clock)


def _check_totals(problem: NeedMatchingProblem) -> list[Notice]:
    """Totals that can never balance, found before solving: minimum loads above the places the
    needs accept are Unsatisfiable in every mode; minimums above the total capacity are
    Unsatisfiable in hard mode and a notice in soft mode."""
    loads = loads_above_room(problem)
    if loads:
        raise Unsatisfiable([FieldViolation("organizations", "min_load", loads)])
    demand = demand_above_capacity(problem)
    if demand is None:
        return []
    if not problem.policy.soft_minimums:
        raise Unsatisfiable(
            [
                FieldViolation(
                    "needs",
                    "min_organizations",
                    f"{demand}; add organizations or capacity, lower min_organizations, or set "
                    "policy.soft_minimums to match as many as possible",
                )
            ]
        )
    return [Notice(DEMAND_ABOVE_SUPPLY, f"{demand}: some needs will be left short")]


def _by_flow(
    problem: NeedMatchingProblem, enc: Encoded, notices: list[Notice]
) -> npt.NDArray[np.bool_]:
    soft = problem.policy.soft_minimums
    try:
        solution = solve_flow(enc, soft)
    except FlowInfeasible:
        short = None if soft else needs_short(problem, enc)
        raise (short or loads_short(problem, enc)) from None
    if solution.scale < MIN_PRECISE_SCALE:
        notices.append(
            Notice(
                PRECISION_REDUCED,
                f"values were scaled by {solution.scale} (not 10^9) to fit the solver's 64-bit "
                "costs; the total may differ from the exact optimum by about "
                f"{len(problem.needs) / solution.scale:.1e}",
            )
        )
    return solution.chosen


def _by_cpsat(
    problem: NeedMatchingProblem,
    enc: Encoded,
    deadline: float,
    limit: float,
    notices: list[Notice],
) -> tuple[npt.NDArray[np.bool_], SolveStatus, float]:
    hint = None
    if not problem.policy.one_organization_per_domain:
        # The flow's optimum obeys every rule here: a good first matching for the fair stage.
        try:
            hint = solve_flow(enc, problem.policy.soft_minimums).chosen
        except FlowInfeasible:
            hint = None
    solution = solve_cpsat(problem, enc, deadline, problem.seed, hint)
    if solution.status is SolveStatus.INFEASIBLE:
        if problem.policy.soft_minimums or needs_short(problem, enc) is None:
            raise loads_short(problem, enc) if enc.org_min_load.any() else _domains_short(problem)
        raise needs_short(problem, enc) or _domains_short(problem)
    if solution.status is SolveStatus.NO_SOLUTION_FOUND:
        notices.append(
            Notice(
                TIME_LIMIT_REACHED, f"no matching was found within the time limit of {limit:g} s"
            )
        )
        return solution.chosen, SolveStatus.NO_SOLUTION_FOUND, 0.0
    gap = 0.0
    if solution.status is not SolveStatus.OPTIMAL:
        last = solution.stages[-1]
        notices.append(
            Notice(
                TIME_LIMIT_REACHED,
                f"the time limit of {limit:g} s ended stage {last.name!r} before its optimum was "
                "proven; later stages did not run",
            )
        )
        if last.name == "total_affinity" and last.status is SolveStatus.FEASIBLE:
            gap = (last.bound - last.value) / VALUE_SCALE
        else:
            gap = _best_possible(enc) - float(np.sum(enc.value[solution.chosen]))
    return solution.chosen, solution.status, max(gap, 0.0)


def _best_possible(enc: Encoded) -> float:
    """Each need's best max_organizations pair values (fixed pairs included), summed: no
    matching's total can exceed it."""
    order = np.lexsort((-enc.value, enc.pairs.need))
    need = enc.pairs.need[order]
    starts = np.searchsorted(need, np.arange(enc.n_needs + 1))
    rank = np.arange(len(order)) - starts[need]
    fixed = np.bincount(enc.pairs.need[enc.pairs.fixed], minlength=enc.n_needs)
    keep = rank < (enc.need_max + fixed)[need]
    return float(np.sum(enc.value[order][keep]))


def _domains_short(problem: NeedMatchingProblem) -> Unsatisfiable:
    return Unsatisfiable(
        [
            FieldViolation(
                "policy.one_organization_per_domain",
                "true",
                "with at most one organization per service domain on a need, some needs cannot "
                "have their min_organizations (their candidates share domains); lower "
                "min_organizations, turn the rule off, or set policy.soft_minimums",
            )
        ]
    )


def _unexplained_short(problem: NeedMatchingProblem, short: npt.NDArray[np.bool_]) -> Unsatisfiable:
    ids = [problem.needs[int(i)].need_id for i in np.flatnonzero(short)]
    return Unsatisfiable(
        [
            FieldViolation(
                "needs",
                ", ".join(ids[:10]),
                f"{len(ids)} need(s) cannot have their min_organizations together with the "
                "organizations' min_load; set policy.soft_minimums to match as many as possible",
            )
        ]
    )


def _worst_need(
    problem: NeedMatchingProblem, pairs: CandidatePairs, chosen: npt.NDArray[np.bool_]
) -> float:
    """min over needs with a candidate of affinity / max(matches, min_organizations)."""
    n = len(problem.needs)
    got = np.bincount(pairs.need[chosen], weights=pairs.affinity[chosen], minlength=n)
    count = np.bincount(pairs.need[chosen], minlength=n)
    minimum = np.array([need.min_organizations for need in problem.needs])
    has_candidate = np.bincount(pairs.need, minlength=n) > 0
    if not has_candidate.any():
        return 0.0
    return float(np.min((got / np.maximum(count, minimum))[has_candidate]))


class _Clock:
    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.stages: list[StageTime] = []

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages.append(StageTime(stage, now - self.last))
        self.last = now
        checkpoint()  # a cancelled call goes no further


def _with_timings(result: NeedMatchResult, clock: _Clock) -> NeedMatchResult:
    return dataclasses.replace(result, timings=tuple(clock.stages))
