"""MatchMentors' engine: the matching of best coverage, proven by CP-SAT, and explained.

1. encode.encode: allowed pairs (no conflict, in reach, some shared area) and integer values.
2. teams.fill from nothing: a greedy matching, the solver's first hint and a fallback.
3. solve.maximise_coverage: value(org) = Σ over its weak areas of severity × (best level among
   its mentors in that area) / 5; maximise Σ over organizations, within capacities and team
   sizes. A second expert in an area adds nothing, so teams come out complementary.
4. balance_load: solve.minimise_max_load, then solve.minimise_squared_loads, both keeping the
   coverage found in step 3 (lexicographic, each stage exact).
5. teams.fill repairs the answer (a no-op when it is optimal) and explain.* explains it.

Deterministic: CP-SAT runs one worker with random_seed = problem.seed, the model is built in
the request's order (never from a hash order), and ties in the answer are resolved by fixed
rules (teams.covering, explain.alternatives), so the same problem gives the same result; only a
solve cut short by the time limit may differ from one machine (or run) to another.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from importlib.metadata import version

from matching.mentors.encode import Encoded, encode, real
from matching.mentors.explain import (
    alternatives,
    assignments,
    blocking_pairs,
    input_notices,
    uncovered,
)
from matching.mentors.model import MentorMatchingProblem, MentorMatchResult
from matching.mentors.solve import (
    MentorModel,
    Stage,
    maximise_coverage,
    minimise_max_load,
    minimise_squared_loads,
)
from matching.mentors.teams import Teams, fill, prune, total_value
from matching.status import SolveStatus
from scoring.cancel import checkpoint
from scoring.model import Notice, StageTime

ENGINE = f"ortools-cp-sat {version('ortools')}"
DEFAULT_TIME_LIMIT_S = 10.0
"""Time limit when the problem gives none (the call's deadline may cut it further)."""
SOLVE_SHARE = 0.95
"""The solver stages end by this share of the time limit; the rest is left for the repair and
the explanations (about 0.5 s for 2,000 organizations)."""
COVERAGE_SHARE = 0.6
"""With balance_load, the coverage stage ends by this share of the limit; the rest is for the
two balancing stages (a coverage stage that ends sooner leaves them more)."""
MIN_STAGE_S = 0.01
"""A balancing stage with less time than this left is skipped."""

TIME_LIMIT_REACHED = "TIME_LIMIT_REACHED"
LOAD_BALANCE_NOT_PROVEN = "LOAD_BALANCE_NOT_PROVEN"
SEVERITIES_ROUNDED = "SEVERITIES_ROUNDED"


@dataclass(frozen=True, slots=True)
class _Coverage:
    teams: Teams
    status: SolveStatus
    bound: int
    """Proven bound on the scaled coverage."""


def match_mentors(problem: MentorMatchingProblem) -> MentorMatchResult:
    """Match a validated problem's organizations to mentors (see the module docstring)."""
    clock = _Clock(problem.time_limit_s)
    enc = encode(problem)
    model = MentorModel(enc)
    clock.lap("encode")
    share = COVERAGE_SHARE if problem.policy.balance_load else SOLVE_SHARE
    coverage = _best_coverage(enc, model, clock.deadline(share), problem.seed)
    clock.lap("solve")
    notices = input_notices(problem)
    teams = coverage.teams
    if problem.policy.balance_load and any(teams):
        teams, proven = _balance(enc, model, coverage, clock, problem.seed)
        clock.lap("balance")
        if not proven:
            notices.append(_balance_notice(clock.limit))
    matched = assignments(enc, teams)
    objective = sum(a.value for a in matched)
    result = MentorMatchResult(
        status=coverage.status,
        assignments=matched,
        uncovered=uncovered(enc, teams),
        alternatives=alternatives(enc, teams),
        blocking_pairs=blocking_pairs(enc, teams),
        objective=objective,
        best_bound=_best_bound(enc, coverage, objective),
        notices=tuple(notices + _solve_notices(enc, coverage, clock.limit)),
        timings=(),
        engine=ENGINE,
    )
    clock.lap("explain")
    return dataclasses.replace(result, timings=clock.timings)


def _best_coverage(enc: Encoded, model: MentorModel, deadline: float, seed: int) -> _Coverage:
    """The solver's matching, repaired; the greedy one when the solver found none better."""
    greedy = fill(enc, [[] for _ in enc.problem.organizations])
    stage = maximise_coverage(model, greedy, deadline, seed)
    teams = greedy
    if stage.teams is not None:
        repaired = fill(enc, stage.teams)
        if total_value(enc, repaired) >= total_value(enc, greedy):
            teams = repaired
    bound = enc.upper_bound() if stage.bound is None else min(stage.bound, enc.upper_bound())
    value = total_value(enc, teams)
    status = SolveStatus.OPTIMAL if value >= bound else SolveStatus.FEASIBLE
    return _Coverage(teams, status, max(bound, value))


def _balance(
    enc: Encoded, model: MentorModel, coverage: _Coverage, clock: _Clock, seed: int
) -> tuple[Teams, bool]:
    """The two balancing stages; the teams found and whether both were proven optimal."""
    teams = prune(enc, coverage.teams)
    end = clock.deadline(SOLVE_SHARE)
    if end - time.monotonic() < MIN_STAGE_S:
        return teams, False
    value = total_value(enc, teams)
    halfway = (time.monotonic() + end) / 2
    busiest = minimise_max_load(model, value, teams, halfway, seed)
    teams = _pruned(enc, busiest, teams)
    top = max(_loads(teams), default=0)
    if end - time.monotonic() < MIN_STAGE_S:
        return teams, False
    spread = minimise_squared_loads(model, top, teams, end, seed)
    teams = fill(enc, _pruned(enc, spread, teams))
    proven = busiest.status is SolveStatus.OPTIMAL and spread.status is SolveStatus.OPTIMAL
    return teams, proven


def _pruned(enc: Encoded, stage: Stage, fallback: Teams) -> Teams:
    return fallback if stage.teams is None else prune(enc, stage.teams)


def _loads(teams: Teams) -> list[int]:
    load: dict[int, int] = {}
    for team in teams:
        for m in team:
            load[m] = load.get(m, 0) + 1
    return list(load.values())


def _best_bound(enc: Encoded, coverage: _Coverage, objective: float) -> float:
    """The proven bound in real units, widened by any rounding of severities."""
    if coverage.status is SolveStatus.OPTIMAL and not enc.rounding:
        return objective
    return max(objective, real(coverage.bound) + enc.rounding)


def _solve_notices(enc: Encoded, coverage: _Coverage, limit_s: float) -> list[Notice]:
    notices: list[Notice] = []
    if coverage.status is not SolveStatus.OPTIMAL:
        notices.append(
            Notice(
                TIME_LIMIT_REACHED,
                f"the time limit of {limit_s:g} s ended the search before the best matching was "
                "proven; best_bound says how much more coverage one could give",
            )
        )
    if enc.rounding:
        notices.append(
            Notice(
                SEVERITIES_ROUNDED,
                "severities with more than 6 decimals were rounded for the solver; the objective "
                "is exact, and best_bound is widened by the largest rounding error",
            )
        )
    return notices


def _balance_notice(limit_s: float) -> Notice:
    return Notice(
        LOAD_BALANCE_NOT_PROVEN,
        f"the time limit of {limit_s:g} s ended load balancing before the most even loads were "
        "proven; the coverage is unaffected",
    )


class _Clock:
    """The time limit, the time left, and the wall-clock time of each stage."""

    def __init__(self, limit_s: float | None) -> None:
        self.limit = DEFAULT_TIME_LIMIT_S if limit_s is None else limit_s
        self.started = time.monotonic()
        self._lap = time.perf_counter()
        self._timings: list[StageTime] = []

    def deadline(self, share: float) -> float:
        """When `share` of the limit will have passed, on the time.monotonic() clock."""
        return self.started + share * self.limit

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self._timings.append(StageTime(stage, now - self._lap))
        self._lap = now
        checkpoint()  # a cancelled call goes no further

    @property
    def timings(self) -> tuple[StageTime, ...]:
        return tuple(self._timings)
