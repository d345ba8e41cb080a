"""Baseline (a): a plain CP-SAT assignment model, built the straightforward way.

One Boolean x[k] per candidate pair; for each need min ≤ Σ x ≤ max; for each organization
Σ x ≤ capacity; maximise Σ round(value × SCALE) · x (SCALE in bench.matching.baseline).
Default CP-SAT parameters except num_workers (2: every core here) and the time limit, which
covers building and solving: what building leaves of it goes to the solver.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from bench.matching.baseline import BaselineRun, Candidates
from matching.status import SolveStatus

STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.UNKNOWN: SolveStatus.NO_SOLUTION_FOUND,
}


class AssignmentModel:
    """The model and its variables: variables, then each constraint family, then the objective."""

    def __init__(self, pairs: Candidates) -> None:
        self.pairs = pairs
        self.model = cp_model.CpModel()
        self.x = [self.model.new_bool_var(f"x{k}") for k in range(len(pairs.value))]
        self._demand()
        self._capacity()
        self._objective()

    def _demand(self) -> None:
        p = self.pairs
        for i, group in enumerate(p.per_need()):
            assigned = cp_model.LinearExpr.sum([self.x[k] for k in group])
            self.model.add_linear_constraint(assigned, int(p.min_demand[i]), int(p.max_demand[i]))

    def _capacity(self) -> None:
        p = self.pairs
        for j, group in enumerate(p.per_organization()):
            self.model.add(cp_model.LinearExpr.sum([self.x[k] for k in group]) <= p.capacity[j])

    def _objective(self) -> None:
        self.model.maximize(cp_model.LinearExpr.weighted_sum(self.x, self.pairs.scaled().tolist()))

    def chosen(self, solver: cp_model.CpSolver) -> NDArray[np.int64]:
        return np.array(
            [k for k, x in enumerate(self.x) if solver.boolean_value(x)], dtype=np.int64
        )


def solve_cpsat(
    need_idx: NDArray[np.integer],
    org_idx: NDArray[np.integer],
    value: NDArray[np.floating],
    min_demand: NDArray[np.integer],
    max_demand: NDArray[np.integer],
    capacity: NDArray[np.integer],
    time_limit_s: float = 60.0,
    workers: int = 2,
) -> BaselineRun:
    """Build and solve the plain model on candidate pairs (need_idx[k], org_idx[k]) worth
    value[k]; timed from the arrays to the chosen pairs."""
    started = time.perf_counter()
    pairs = Candidates(
        np.asarray(need_idx, dtype=np.int64),
        np.asarray(org_idx, dtype=np.int64),
        np.asarray(value, dtype=np.float64),
        np.asarray(min_demand, dtype=np.int64),
        np.asarray(max_demand, dtype=np.int64),
        np.asarray(capacity, dtype=np.int64),
    )
    built = AssignmentModel(pairs)
    build_s = time.perf_counter() - started
    left = time_limit_s - build_s
    if left <= 0:
        note = f"building the model took {build_s:.1f} s, over the {time_limit_s:g} s limit"
        return BaselineRun(
            "cpsat", SolveStatus.NO_SOLUTION_FOUND, None, build_s, build_s, 0.0, note=note
        )
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.max_time_in_seconds = left
    code = solver.solve(built.model)
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"invalid CP-SAT model: {built.model.validate()}")
    status = STATUS[code]
    if status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        seconds = time.perf_counter() - started
        note = "time limit reached" if status is SolveStatus.NO_SOLUTION_FOUND else ""
        return BaselineRun("cpsat", status, None, seconds, build_s, solver.wall_time, note=note)
    chosen = built.chosen(solver)
    seconds = time.perf_counter() - started
    note = "" if status is SolveStatus.OPTIMAL else "time limit reached before a proof"
    return BaselineRun(
        "cpsat",
        status,
        pairs.objective(chosen),
        seconds,
        build_s,
        solver.wall_time,
        chosen,
        note,
    )
