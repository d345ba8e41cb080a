"""Baseline (b): min-cost flow built arc by arc in Python, the peer's approach.

OpenReview's openreview-matcher (SimpleSolver) builds its OR-Tools SimpleMinCostFlow graph in
Python loops, one add-arc call per arc and one set-supply call per node, solves, then reads
every arc's flow back one call at a time. This does the same on our candidate pairs:
source → need (capacity = the need's demand), need → organization (capacity 1, unit cost
−round(value × SCALE)), organization → sink (capacity = its capacity); the source supplies
Σ demand and the sink absorbs it, so every need gets exactly its demand (min = max is
required, as in the peer, whose demands are exact). Conservative: the peer also loops over
every (reviewer, paper) cell of a dense matrix and tests node membership in Python lists when
reading back; here the loops run over candidate pairs only, with index arithmetic.

SimpleMinCostFlow cannot be interrupted, so the time limit is checked while building and
reading back; a run over it stops there and says so.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped, unused-ignore]

from bench.matching.baseline import BaselineRun, Candidates
from matching.status import SolveStatus

CHECK_EVERY = 10_000
"""Arcs between two looks at the clock."""


class TimeLimit(Exception):
    """The time limit passed while building the graph or reading it back."""


def solve_arc_by_arc(
    need_idx: NDArray[np.integer],
    org_idx: NDArray[np.integer],
    value: NDArray[np.floating],
    min_demand: NDArray[np.integer],
    max_demand: NDArray[np.integer],
    capacity: NDArray[np.integer],
    time_limit_s: float = 60.0,
) -> BaselineRun:
    """Build, solve and read back the flow; timed from the arrays to the chosen pairs."""
    started = time.perf_counter()
    deadline = started + time_limit_s
    pairs = Candidates(
        np.asarray(need_idx, dtype=np.int64),
        np.asarray(org_idx, dtype=np.int64),
        np.asarray(value, dtype=np.float64),
        np.asarray(min_demand, dtype=np.int64),
        np.asarray(max_demand, dtype=np.int64),
        np.asarray(capacity, dtype=np.int64),
    )
    if not np.array_equal(pairs.min_demand, pairs.max_demand):
        raise ValueError("the arc-by-arc flow models exact demands: min_demand must equal max")
    flow = min_cost_flow.SimpleMinCostFlow()
    try:
        _build(flow, pairs, deadline)
    except TimeLimit:
        seconds = time.perf_counter() - started
        note = (
            f"building the graph passed the {time_limit_s:g} s limit (stopped at {seconds:.1f} s)"
        )
        return BaselineRun(
            "arcflow", SolveStatus.NO_SOLUTION_FOUND, None, seconds, seconds, 0.0, note=note
        )
    build_s = time.perf_counter() - started
    code = flow.solve()
    solve_s = time.perf_counter() - started - build_s
    if code != flow.OPTIMAL:
        seconds = time.perf_counter() - started
        status = (
            SolveStatus.INFEASIBLE if code == flow.INFEASIBLE else SolveStatus.NO_SOLUTION_FOUND
        )
        return BaselineRun("arcflow", status, None, seconds, build_s, solve_s, note=str(code))
    try:
        chosen = _read_back(flow, pairs, deadline)
    except TimeLimit:
        seconds = time.perf_counter() - started
        note = f"reading the flow back passed the {time_limit_s:g} s limit"
        return BaselineRun(
            "arcflow", SolveStatus.NO_SOLUTION_FOUND, None, seconds, build_s, solve_s, note=note
        )
    seconds = time.perf_counter() - started
    return BaselineRun(
        "arcflow", SolveStatus.OPTIMAL, pairs.objective(chosen), seconds, build_s, solve_s, chosen
    )


def _build(flow: min_cost_flow.SimpleMinCostFlow, pairs: Candidates, deadline: float) -> None:
    """Nodes: 0 source, 1..n needs, then organizations, then the sink."""
    n_needs, n_orgs = pairs.n_needs, pairs.n_orgs
    source, sink = 0, 1 + n_needs + n_orgs
    demand = pairs.max_demand.tolist()
    for i in range(n_needs):
        flow.add_arc_with_capacity_and_unit_cost(source, 1 + i, demand[i], 0)
    cost = pairs.scaled().tolist()
    for k, (i, j) in enumerate(zip(pairs.need.tolist(), pairs.organization.tolist(), strict=True)):
        flow.add_arc_with_capacity_and_unit_cost(1 + i, 1 + n_needs + j, 1, -cost[k])
        if k % CHECK_EVERY == 0 and time.perf_counter() > deadline:
            raise TimeLimit
    capacity = pairs.capacity.tolist()
    for j in range(n_orgs):
        flow.add_arc_with_capacity_and_unit_cost(1 + n_needs + j, sink, capacity[j], 0)
    total = sum(demand)
    for node in range(sink + 1):
        supply = total if node == source else -total if node == sink else 0
        flow.set_node_supply(node, supply)


def _read_back(
    flow: min_cost_flow.SimpleMinCostFlow, pairs: Candidates, deadline: float
) -> NDArray[np.int64]:
    """Pair k is arc n_needs + k (arcs were added needs first, then pairs)."""
    n_needs, last_org = pairs.n_needs, pairs.n_needs + pairs.n_orgs
    chosen: list[int] = []
    for arc in range(flow.num_arcs()):
        tail, head = flow.tail(arc), flow.head(arc)
        if 1 <= tail <= n_needs < head <= last_org and flow.flow(arc) > 0:
            chosen.append(arc - n_needs)
        if arc % CHECK_EVERY == 0 and time.perf_counter() > deadline:
            raise TimeLimit
    return np.array(chosen, dtype=np.int64)
