"""The CP-SAT model of mentor matching, and its lexicographic stages.

Variables: x[p] = 1 when allowed pair p is matched; y[s] = 1 when coverage step s holds
(weak area a of organization o is covered at level ≥ l, see encode.Step).
Constraints: team size ≤ mentors_wanted; load ≤ capacity; a step holds only if some matched
mentor gives it (a clause). Nothing forces the step below a holding step to hold too: the
objective always wants it, so at any optimum it does, and the decoding reads only x.
Objective: maximise Σ weight[s] × y[s] = Σ_o Σ_a round(severity × 10^6) × (best team level in
a), i.e. 5 × 10^6 × Σ_o Σ_a severity × best level / 5. Its LP relaxation is that of the usual
"z[o, a, m] ≤ x[o, m], Σ_m z[o, a, m] ≤ 1" model with far fewer variables (one per distinct level
on offer rather than one per mentor).

balance_load adds two exact stages, each keeping what the stage before achieved: the coverage
at least the best found, then the busiest mentor's load at most its minimum; they minimise the
maximum load, then Σ load² (as Σ_t (2t − 1) × [load ≥ t]).

Deterministic: one worker and random_seed = the problem's seed, so a solve that ends on its
own (optimal) gives the same answer on every run; only a solve cut by the time limit depends on
the machine's speed.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from matching.mentors.encode import Encoded
from matching.mentors.teams import Teams
from matching.seeds import cp_sat_seed
from matching.status import SolveStatus
from scoring.cancel import stop_with

MIN_LIMIT_S = 0.001


@dataclass(frozen=True, slots=True)
class Stage:
    """How one solve ended: the matching found (None: none in time), its objective and the
    proven bound, both in the stage's own units."""

    status: SolveStatus
    teams: Teams | None
    objective: int
    bound: int | None
    """None: the solver proved none."""


class MentorModel:
    """Variables, then each constraint family, then the objective, like the OR-Tools samples."""

    def __init__(self, enc: Encoded) -> None:
        self.enc = enc
        self.model = cp_model.CpModel()
        self.x = [self.model.new_bool_var(f"x{p}") for p in range(enc.pairs)]
        self.y = [self.model.new_bool_var(f"y{s}") for s in range(len(enc.steps))]
        self._team_sizes()
        self._capacities()
        self._coverage()
        self.coverage = cp_model.LinearExpr.weighted_sum(
            self.y, [step.weight for step in enc.steps]
        )

    def _team_sizes(self) -> None:
        for o, pairs in enumerate(self.enc.org_pairs):
            wanted = self.enc.problem.organizations[o].mentors_wanted
            if len(pairs) > wanted:
                self.model.add(_sum(self.x[p] for p in pairs) <= wanted)

    def _capacities(self) -> None:
        for m, pairs in enumerate(self.enc.mentor_pairs):
            capacity = self.enc.problem.mentors[m].capacity
            if len(pairs) > capacity:
                self.model.add(_sum(self.x[p] for p in pairs) <= capacity)

    def _coverage(self) -> None:
        steps = self.enc.steps
        for s, step in enumerate(steps):
            self.model.add_bool_or([~self.y[s], *(self.x[p] for p in step.pairs)])

    def load(self, m: int) -> cp_model.LinearExprT:
        return _sum(self.x[p] for p in self.enc.mentor_pairs[m])

    def hint(self, teams: Teams) -> None:
        """Hint a matching, with every step it reaches (written to the proto in one go: one
        add_hint call per variable costs seconds on the largest rounds)."""
        chosen = {self.enc.pair_of[(o, m)] for o, team in enumerate(teams) for m in team}
        x = [int(p in chosen) for p in range(len(self.x))]
        y = [int(any(x[p] for p in step.pairs)) for step in self.enc.steps]
        proto = self.model.proto
        proto.clear_solution_hint()
        proto.solution_hint.vars.extend([v.index for v in self.x] + [v.index for v in self.y])
        proto.solution_hint.values.extend(x + y)

    def teams(self, values: Sequence[int]) -> Teams:
        """The matching in a solver response (values indexed by variable)."""
        teams: Teams = [[] for _ in self.enc.problem.organizations]
        for p, var in enumerate(self.x):
            if values[var.index]:
                teams[self.enc.pair_org[p]].append(self.enc.pair_mentor[p])
        return [sorted(team) for team in teams]


def maximise_coverage(model: MentorModel, start: Teams, deadline: float, seed: int) -> Stage:
    """Maximise the coverage, from the matching `start`; stop at `deadline` (time.monotonic)."""
    model.model.maximize(model.coverage)
    model.hint(start)
    return _solve(model, deadline, seed, maximise=True)


def minimise_max_load(
    model: MentorModel, coverage: int, start: Teams, deadline: float, seed: int
) -> Stage:
    """Keep the coverage at least `coverage`; minimise the largest load."""
    model.model.add(model.coverage >= coverage)
    top = max((m.capacity for m in model.enc.problem.mentors), default=0)
    busiest = model.model.new_int_var(0, top, "max_load")
    for m in range(len(model.enc.problem.mentors)):
        model.model.add(model.load(m) <= busiest)
    model.model.minimize(busiest)
    model.hint(start)
    return _solve(model, deadline, seed, maximise=False)


def minimise_squared_loads(
    model: MentorModel, max_load: int, start: Teams, deadline: float, seed: int
) -> Stage:
    """Keep every load at most `max_load` (and the coverage kept before); minimise Σ load²."""
    terms: list[tuple[cp_model.IntVar, int]] = []
    for m, pairs in enumerate(model.enc.mentor_pairs):
        if not pairs:
            continue
        top = min(len(pairs), model.enc.problem.mentors[m].capacity, max_load)
        model.model.add(model.load(m) <= top)
        at_least = [model.model.new_bool_var(f"load{m}>={t}") for t in range(1, top + 1)]
        for lower, upper in itertools.pairwise(at_least):
            model.model.add_implication(upper, lower)
        model.model.add(model.load(m) == _sum(at_least))
        terms += [(var, 2 * t - 1) for t, var in enumerate(at_least, start=1)]
    model.model.minimize(
        cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [w for _, w in terms])
    )
    model.hint(start)
    return _solve(model, deadline, seed, maximise=False)


def _solve(model: MentorModel, deadline: float, seed: int, *, maximise: bool) -> Stage:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    # Coverage steps are clauses, which the default level leaves out of the LP relaxation:
    # without them the bound is the trivial one and nothing is ever proven.
    solver.parameters.linearization_level = 2
    solver.parameters.random_seed = cp_sat_seed(seed)
    solver.parameters.max_time_in_seconds = max(deadline - time.monotonic(), MIN_LIMIT_S)
    with stop_with(solver.stop_search):
        status = solver.solve(model.model)
    if status == cp_model.INFEASIBLE:
        return Stage(SolveStatus.INFEASIBLE, None, 0, None)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # UNKNOWN reports a bound of 0, which is no bound at all.
        return Stage(SolveStatus.NO_SOLUTION_FOUND, None, 0, None)
    objective = round(solver.objective_value)
    teams = model.teams(solver.response_proto.solution)
    if status == cp_model.OPTIMAL:
        return Stage(SolveStatus.OPTIMAL, teams, objective, objective)
    raw = solver.best_objective_bound
    # Objectives are integers, so a fractional bound rounds towards the objective.
    bound = math.floor(raw + 1e-6) if maximise else math.ceil(raw - 1e-6)
    return Stage(SolveStatus.FEASIBLE, teams, objective, bound)


def _sum(terms: Iterable[cp_model.LinearExprT]) -> cp_model.LinearExprT:
    items = list(terms)
    return cp_model.LinearExpr.sum(items) if items else 0
