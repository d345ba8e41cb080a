"""Needs matching with CP-SAT, for the rules a flow cannot express: the max-min fair objective
and at most one organization per service domain on a need.

Lexicographic and exact in scaled integers: (soft mode) the fewest required places left empty,
then (fair) the largest worst-off need affinity, then the largest total priority × affinity;
each stage's optimum is fixed as a constraint before the next. A need's fairness score is the
affinity of its matches divided by max(matches, min_organizations): the mean of its matches,
with required places left empty counting as zero.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from matching.needs.encode import Encoded, scaled
from matching.needs.model import MatchObjective, NeedMatchingProblem
from matching.seeds import cp_sat_seed
from matching.status import SolveStatus
from scoring.cancel import stop_with

VALUE_SCALE = 10**7
"""Integer units per unit of priority × affinity in CP-SAT (its search prefers small numbers;
rounding moves each pair by at most 5e-8)."""
FAIRNESS_SCALE = 10**6
"""Integer units per unit of a need's fairness score (affinity in [0, 1])."""


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """How one lexicographic stage ended."""

    name: str
    status: SolveStatus
    value: int
    bound: int


@dataclass(frozen=True, slots=True)
class CpSatSolution:
    chosen: npt.NDArray[np.bool_]
    """Per candidate pair (fixed pairs included)."""
    status: SolveStatus
    stages: tuple[StageOutcome, ...]


class _Model:
    """Variables, then each constraint family, then the stage objectives."""

    def __init__(self, problem: NeedMatchingProblem, enc: Encoded) -> None:
        self.problem = problem
        self.enc = enc
        self.model = cp_model.CpModel()
        self.free = np.flatnonzero(enc.free)
        self.x = [self.model.new_bool_var(f"x{p}") for p in self.free]
        self.by_need: dict[int, list[int]] = defaultdict(list)
        self.by_org: dict[int, list[int]] = defaultdict(list)
        for k, p in enumerate(self.free):
            self.by_need[int(enc.pairs.need[p])].append(k)
            self.by_org[int(enc.pairs.organization[p])].append(k)
        self.short: list[cp_model.IntVar] = []
        self._need_counts()
        self._org_counts()
        if problem.policy.one_organization_per_domain:
            self._one_per_domain()

    def count(self, need: int) -> cp_model.LinearExprT:
        return cp_model.LinearExpr.sum([self.x[k] for k in self.by_need.get(need, [])])

    def _need_counts(self) -> None:
        soft = self.problem.policy.soft_minimums
        for i in range(self.enc.n_needs):
            count = self.count(i)
            self.model.add(count <= int(self.enc.need_max[i]))
            low = int(self.enc.need_min[i])
            if low == 0:
                continue
            if soft:
                short = self.model.new_int_var(0, low, f"short{i}")
                self.model.add(cp_model.LinearExpr.sum([count, short]) >= low)
                self.short.append(short)
            else:
                self.model.add(count >= low)

    def _org_counts(self) -> None:
        for j in range(self.enc.n_orgs):
            terms = [self.x[k] for k in self.by_org.get(j, [])]
            load = cp_model.LinearExpr.sum(terms)
            self.model.add(load <= int(self.enc.org_capacity[j]))
            if self.enc.org_min_load[j] > 0:
                self.model.add(load >= int(self.enc.org_min_load[j]))

    def _one_per_domain(self) -> None:
        """Organizations that share a domain never serve the same need together."""
        pairs, orgs = self.enc.pairs, self.problem.organizations
        fixed_domains: dict[tuple[int, str], int] = defaultdict(int)
        for p in np.flatnonzero(pairs.fixed):
            for domain in orgs[int(pairs.organization[p])].domains:
                fixed_domains[(int(pairs.need[p]), domain)] += 1
        groups: dict[tuple[int, str], list[int]] = defaultdict(list)
        for k, p in enumerate(self.free):
            for domain in orgs[int(pairs.organization[p])].domains:
                groups[(int(pairs.need[p]), domain)].append(k)
        for key, members in groups.items():
            room = 1 - fixed_domains.get(key, 0)
            self.model.add(cp_model.LinearExpr.sum([self.x[k] for k in members]) <= room)

    def fairness_floor(self) -> cp_model.IntVar:
        """t: every need with a candidate scores at least t (FAIRNESS_SCALE units)."""
        enc, needs = self.enc, self.problem.needs
        t = self.model.new_int_var(0, FAIRNESS_SCALE, "worst_need")
        affinity = scaled(enc.pairs.affinity, FAIRNESS_SCALE)
        fixed_count = np.bincount(enc.pairs.need[enc.pairs.fixed], minlength=enc.n_needs)
        fixed_sum = np.bincount(
            enc.pairs.need[enc.pairs.fixed],
            weights=affinity[enc.pairs.fixed],
            minlength=enc.n_needs,
        ).astype(np.int64)
        constrained = False
        for i, need in enumerate(needs):
            members = self.by_need.get(i, [])
            if not members and fixed_count[i] == 0:
                continue  # no candidate at all: reported unmet, not a fairness floor of zero
            constrained = True
            score = cp_model.LinearExpr.weighted_sum(
                [self.x[k] for k in members], [int(affinity[self.free[k]]) for k in members]
            ) + int(fixed_sum[i])
            lowest = int(fixed_count[i]) + (
                0 if self.problem.policy.soft_minimums else int(enc.need_min[i])
            )
            highest = int(fixed_count[i]) + min(len(members), int(enc.need_max[i]))
            if lowest >= highest:
                self.model.add(score >= t * max(highest, need.min_organizations))
                continue
            total = self.count(i) + int(fixed_count[i])
            for matches in range(lowest, highest + 1):
                exact = self.model.new_bool_var(f"n{i}_{matches}")
                self.model.add(total == matches).only_enforce_if(exact)
                self.model.add(total != matches).only_enforce_if(~exact)
                self.model.add(score >= t * max(matches, need.min_organizations)).only_enforce_if(
                    exact
                )
        if not constrained:
            self.model.add(t == 0)  # no need has a candidate: there is no worst-off need
        return t

    def total_value(self) -> cp_model.LinearExprT:
        weights = scaled(self.enc.value[self.free], VALUE_SCALE)
        return cp_model.LinearExpr.weighted_sum(self.x, [int(w) for w in weights])


def solve_cpsat(
    problem: NeedMatchingProblem,
    enc: Encoded,
    deadline: float,
    seed: int,
    hint: npt.NDArray[np.bool_] | None = None,
) -> CpSatSolution:
    """Stages in order, each within what is left of the time until `deadline` (monotonic).
    `hint`: a matching (per candidate pair) to start the first stage from."""
    m = _Model(problem, enc)
    stages: list[tuple[str, cp_model.LinearExprT]] = []
    if m.short:
        stages.append(("fewest_required_places_empty", -cp_model.LinearExpr.sum(m.short)))
    if problem.policy.objective is MatchObjective.FAIR:
        stages.append(("worst_need_affinity", m.fairness_floor()))
    stages.append(("total_affinity", m.total_value()))
    outcomes: list[StageOutcome] = []
    values: list[bool] | None = None if hint is None else hint[m.free].tolist()
    status = SolveStatus.OPTIMAL
    for name, objective in stages:
        if values is not None and time.monotonic() >= deadline:
            # Out of time: loading a model this size into CP-SAT alone can take a second, so a
            # stage that could not search is not started; the matching so far stands.
            outcomes.append(StageOutcome(name, SolveStatus.NO_SOLUTION_FOUND, 0, 0))
            status = SolveStatus.FEASIBLE
            break
        m.model.maximize(objective)
        if values is not None:
            m.model.clear_hints()  # type: ignore[no-untyped-call]
            for var, hinted in zip(m.x, values, strict=True):
                m.model.add_hint(var, hinted)
        solver = _solver(deadline, seed)
        with stop_with(solver.stop_search):
            code = solver.solve(m.model)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if code == cp_model.INFEASIBLE:
                return CpSatSolution(_chosen(enc, m, None), SolveStatus.INFEASIBLE, tuple(outcomes))
            stage_status = SolveStatus.NO_SOLUTION_FOUND
            outcomes.append(StageOutcome(name, stage_status, 0, 0))
            if values is None:
                return CpSatSolution(_chosen(enc, m, None), stage_status, tuple(outcomes))
            status = SolveStatus.FEASIBLE
            break
        value = round(solver.objective_value)
        bound = round(solver.best_objective_bound)
        stage_status = SolveStatus.OPTIMAL if code == cp_model.OPTIMAL else SolveStatus.FEASIBLE
        outcomes.append(StageOutcome(name, stage_status, value, bound))
        values = [bool(solver.boolean_value(v)) for v in m.x]
        if stage_status is not SolveStatus.OPTIMAL:
            status = SolveStatus.FEASIBLE
            break  # a stage not proven optimal cannot be fixed for the next one
        m.model.add(objective >= value)
    return CpSatSolution(_chosen(enc, m, values), status, tuple(outcomes))


def _solver(deadline: float, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    # Two workers interleaved: CP-SAT's deterministic parallel mode, so the same request gets
    # the same matching on any machine. It proved fair matchings of 100 x 60 and 200 x 100
    # (top 20) that one worker did not within 30 s.
    solver.parameters.num_workers = 2
    solver.parameters.interleave_search = True
    solver.parameters.random_seed = cp_sat_seed(seed)
    solver.parameters.max_time_in_seconds = max(deadline - time.monotonic(), 0.001)
    return solver


def _chosen(enc: Encoded, m: _Model, values: Sequence[bool] | None) -> npt.NDArray[np.bool_]:
    chosen = enc.pairs.fixed.copy()
    if values is not None:
        chosen[m.free[np.asarray(values, dtype=bool)]] = True
    return chosen
