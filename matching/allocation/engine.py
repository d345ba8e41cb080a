"""AllocateFunding's engine: the best allocation the rules allow, proven, and explained.

1. bounds.prepare applies the per-proposal rules (pass line, bands, caps, floors, pools, locks).
2. formulation.formulate turns the rest into one linear model over (candidate, pool) pairs.
3. TOTAL_SCORE and SCORE_WEIGHTED_AMOUNT: optimise.optimise (LP bound, reduced-cost fixing, a
   small core solved exactly by HiGHS); TOTAL_SCORE then funds the chosen proposals as fully as
   the rules allow (rounds of at most 40 candidates are solved whole, and there the most money
   is taken over every allocation of the optimal score). RANK_ORDER: rank.rank_order
   (lexicographic down the ranking).
4. No allocation obeys the rules: conflicts.find_conflict names an irreducible set of them.
5. explain.reasons gives every unfunded proposal its reason; explain.margins the margins.

Deterministic: no solver here uses threads or randomness that depends on the machine (HiGHS
runs serially; CP-SAT, used only to find conflicts, runs one worker with the request's seed,
the only use of the seed).
"""

from __future__ import annotations

import dataclasses
import math
import time

from matching.allocation.bounds import prepare
from matching.allocation.conflicts import find_conflict
from matching.allocation.explain import margins, reasons
from matching.allocation.formulation import MILLION, Formulation, Sense, formulate, row_value
from matching.allocation.greedy import Grant, assemble
from matching.allocation.model import AllocationProblem, AllocationResult, Objective, QuotaViolation
from matching.allocation.optimise import EXACT_FLOAT, Optimum, optimise
from matching.allocation.rank import rank_order
from matching.allocation.solution import Solution
from matching.status import SolveStatus
from scoring.cancel import checkpoint
from scoring.errors import FieldViolation, InvalidProblem
from scoring.model import Notice, StageTime

DEFAULT_TIME_LIMIT_S = 60.0
"""Time limit when the request gives none (the call's deadline may cut it further)."""
SCORES_ROUNDED = "SCORES_ROUNDED"
TIME_LIMIT_REACHED = "TIME_LIMIT_REACHED"
MARGINS_NOT_COMPUTED = "MARGINS_NOT_COMPUTED"


def _check_exact(form: Formulation) -> None:
    """Refuse a round whose objective the solvers could not keep exact: whole numbers above
    EXACT_FLOAT lose their last digits in floating point, and HiGHS then fails or answers
    wrongly (6-decimal scores times grants counted in single fen reached 2e15)."""
    most = form.most_value()
    if most <= EXACT_FLOAT:
        return
    unit = "fen" if form.money_gcd == 1 else f"steps of {form.money_gcd:,} fen"
    raise InvalidProblem(
        [
            FieldViolation(
                "proposals",
                f"scores with {form.decimals} decimals",
                f"the objective would reach {most:.3g} in its exact units (scores with "
                f"{form.decimals} decimals{', times amounts in ' + unit if form.weighted else ''}"
                f"), beyond the {EXACT_FLOAT:.3g} solvers keep exact; give the scores fewer "
                "decimals" + (" or the amounts in whole hundreds of yuan" if form.weighted else ""),
            )
        ]
    )


def allocate(problem: AllocationProblem) -> AllocationResult:
    """Allocate a validated problem's budget (see the module docstring)."""
    started = time.perf_counter()
    limit = problem.time_limit_s if problem.time_limit_s is not None else DEFAULT_TIME_LIMIT_S
    deadline = time.monotonic() + limit
    prepared = prepare(problem)
    if prepared.conflicts:
        return assemble(problem, prepared, {}, {}, SolveStatus.INFEASIBLE, 0.0)
    form = formulate(problem, prepared)
    _check_exact(form)
    prepared_s = time.perf_counter() - started
    checkpoint()
    if problem.rules.objective is Objective.RANK_ORDER:
        optimum = rank_order(form, deadline)
    else:
        optimum = optimise(form, deadline)
    solved_s = time.perf_counter() - started - prepared_s
    timings = [StageTime("prepare", prepared_s), StageTime("solve", solved_s)]
    notices = list(prepared.notices) + _score_notices(form)
    if optimum.status is SolveStatus.INFEASIBLE:
        conflict = find_conflict(form, max(deadline, time.monotonic() + 1.0), problem.seed)
        timings.append(
            StageTime("conflicts", time.perf_counter() - started - prepared_s - solved_s)
        )
        result = assemble(
            problem,
            prepared,
            {},
            {},
            SolveStatus.INFEASIBLE,
            0.0,
            notices=tuple(notices),
            timings=tuple(timings),
        )
        return _with(result, conflicts=(conflict,) if conflict else ())
    if optimum.solution is None:
        notices.append(
            Notice(
                TIME_LIMIT_REACHED,
                f"no legal allocation was found within the time limit of {limit:g} s",
            )
        )
        return assemble(
            problem,
            prepared,
            {},
            {},
            SolveStatus.NO_SOLUTION_FOUND,
            _api_bound(form, optimum),
            notices=tuple(notices),
            timings=tuple(timings),
        )
    solution = optimum.solution
    if optimum.status is SolveStatus.FEASIBLE:
        notices.append(
            Notice(
                TIME_LIMIT_REACHED,
                f"the time limit of {limit:g} s ended the search before the best allocation was "
                "proven; best_bound says how much better one could be",
            )
        )
    checkpoint()
    explained_from = time.perf_counter()
    why = reasons(form, solution)
    margin_list = (
        margins(form, optimum) if form.problem.rules.objective is not Objective.RANK_ORDER else ()
    )
    if problem.rules.objective is Objective.RANK_ORDER:
        notices.append(
            Notice(
                MARGINS_NOT_COMPUTED,
                "margins are not computed for the rank-order objective: there a decision flips "
                "when the ranking changes, which the reasons already state",
            )
        )
    timings.append(StageTime("explain", time.perf_counter() - explained_from))
    result = assemble(
        problem,
        prepared,
        _grants(form, solution),
        why,
        optimum.status,
        0.0,
        quota_violations=_quota_violations(form, solution),
        notices=tuple(notices),
        timings=tuple(timings),
    )
    bound = result.objective if optimum.status is SolveStatus.OPTIMAL else _api_bound(form, optimum)
    if form.soft and optimum.status is not SolveStatus.OPTIMAL:
        bound = _api_bound(form, optimum)
    if not form.scores_exact:
        bound += _rounding_allowance(form)
    return _with(result, best_bound=bound, margins=margin_list)


def _with(result: AllocationResult, **changes: object) -> AllocationResult:
    return dataclasses.replace(result, **changes)  # type: ignore[arg-type]


def _grants(form: Formulation, solution: Solution) -> dict[int, Grant]:
    grants: dict[int, Grant] = {}
    for j in solution.chosen.nonzero()[0].tolist():
        candidate = form.prepared.candidates[int(form.pair_candidate[j])]
        grants[candidate.index] = Grant(int(solution.money[j]), int(form.pair_pool[j]))
    return grants


def _api_bound(form: Formulation, optimum: Optimum) -> float:
    if not math.isfinite(optimum.bound):
        return optimum.bound if optimum.bound > 0 else 0.0
    return optimum.bound / form.objective_scale()


def _rounding_allowance(form: Formulation) -> float:
    """How far rounding scores to MAX_DECIMALS can move the objective."""
    half = 0.5 / 10.0**form.decimals
    if form.weighted:
        return half * sum(int(form.hi[p].max()) for p in form.candidate_pairs) / MILLION
    return half * len(form.candidate_pairs)


def _score_notices(form: Formulation) -> list[Notice]:
    if form.scores_exact:
        return []
    return [
        Notice(
            SCORES_ROUNDED,
            f"scores with more than {form.decimals} decimals were rounded for the solver; the "
            "objective is exact, and best_bound is widened by the largest rounding error",
        )
    ]


def _quota_violations(form: Formulation, solution: Solution) -> tuple[QuotaViolation, ...]:
    """SOFT mode: each quota or coverage missed, with grants and money missing (or over)."""
    if not form.soft:
        return ()
    misses: dict[str, list[int]] = {}
    for row in form.rows:
        if not row.soft:
            continue
        value = row_value(form, row, solution.chosen, solution.money)
        miss = row.rhs - value if row.sense is Sense.AT_LEAST else value - row.rhs
        if miss > 0:
            line = misses.setdefault(row.rule, [0, 0])
            line[1 if row.money else 0] += miss
    return tuple(QuotaViolation(rule, c, a) for rule, (c, a) in sorted(misses.items()))
