"""Needs matching as a min-cost flow (OR-Tools, built from arrays), proven optimal over every
candidate pair while the solver only ever sees a few per need.

The network: source → need → organization (one arc per pair, cost −value) → sink, with a
bypass source → sink for places left empty. Organizations' minimum loads are node demands, so
they are hard. A need's required places are node supplies in hard mode (so they are hard too,
and the flow is infeasible when they cannot all be filled); in soft mode they are a source arc
at a bonus M larger than any total value, so minimum cost is lexicographic: the most required
places filled first, then the most value. (The bonus is kept out of hard mode because a wide
cost range slows cost scaling.) Solving on each need's best pairs and pricing the rest with
the optimal flow's node potentials (column generation) keeps the network small: a pair left
out with non-negative reduced cost cannot improve the optimum, so none is ever lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from matching.needs.encode import VALUE_SCALE, Encoded, IntArray, scaled

INT64_HEADROOM = 2**61
"""Costs times (nodes + 1) stay below this: OR-Tools' cost scaling multiplies costs by the
node count, and its sums must not overflow a signed 64-bit integer."""
MIN_PRECISE_SCALE = 10**7
"""Below this many integer units per unit of value, totals could drift past 1e-6 relative."""
PAIRS_PER_NEED = 28
"""Pairs of each need in the first network solved, beyond 4 per organization it may take: on
realistic rounds the first solve is then nearly always proven optimal at once."""
WHOLE_SHARE = 0.6
"""When the first network would hold more than this share of the pairs, solve them all."""


class FlowInfeasible(Exception):
    """The hard counts cannot all hold: needs' minimums (hard mode) or organizations' minimum
    loads, with the candidates there are."""


@dataclass(frozen=True, slots=True)
class FlowSolution:
    """Which candidate pairs the optimum takes, and how it was proven."""

    chosen: npt.NDArray[np.bool_]
    """Per candidate pair (fixed pairs included, always chosen)."""
    scale: int
    """Integer units per unit of value the solver used."""
    arcs_solved: int
    """Pair arcs in the last network solved (of all free candidate pairs)."""
    pricing_rounds: int


@dataclass(frozen=True, slots=True)
class _Network:
    """The arcs that do not depend on which pairs are active, and the node supplies."""

    tails: IntArray
    heads: IntArray
    capacities: IntArray
    costs: IntArray
    supplies: IntArray


def value_scale(enc: Encoded) -> int:
    """The largest power-of-ten scale, at most VALUE_SCALE, at which M and every cost fit."""
    nodes = enc.n_needs + enc.n_orgs + 2
    best_per_need = np.zeros(enc.n_needs)
    free = enc.free
    np.maximum.at(best_per_need, enc.pairs.need[free], enc.value[free])
    # M must exceed any flow's total value: each need adds at most need_max of its best pair.
    top_total = float(np.sum(best_per_need * np.maximum(enc.need_max, 0))) + 1.0
    scale = VALUE_SCALE
    while scale > 1 and (top_total * scale + 2) * (nodes + 1) >= INT64_HEADROOM:
        scale //= 10
    return scale


def solve_flow(enc: Encoded, soft: bool, per_need: int | None = None) -> FlowSolution:
    """The optimal matching over all free candidate pairs (fixed pairs are added back).

    Raises FlowInfeasible when the hard counts cannot all hold.
    """
    scale = value_scale(enc)
    free = np.flatnonzero(enc.free)
    weight = scaled(enc.value[free], scale)
    need = enc.pairs.need[free].astype(np.int64)
    org = enc.pairs.organization[free].astype(np.int64) + enc.n_needs
    network = _network(enc, int(_top_total(enc, weight, need)) + 1 if soft else None)
    k = per_need if per_need is not None else PAIRS_PER_NEED + 4 * int(enc.need_max.max(initial=0))
    active = _best_per_need(need, k)
    if active.sum() > WHOLE_SHARE * len(active):
        active[:] = True
    rounds = 0
    while True:
        rounds += 1
        try:
            flows, arcs = _solve(network, need[active], org[active], weight[active])
        except FlowInfeasible:
            if active.all():
                raise
            # Hard counts may need pairs outside each need's best few: only all of them
            # together can prove that the counts cannot hold.
            active[:] = True
            continue
        pair_flows = flows[len(network.tails) :]
        if active.all():
            break
        potential = _potentials(arcs, flows, len(network.supplies))
        reduced = -weight + potential[need] - potential[org]
        violated = np.flatnonzero((reduced < 0) & ~active)
        if len(violated) == 0:
            break
        # Add each need's k most negative pairs only: adding every violated pair at once can
        # bring back most of the network when ties leave many pairs priced just below zero.
        order = violated[np.lexsort((reduced[violated], need[violated]))]
        active[order[_best_per_need(need[order], k)]] = True
    chosen = enc.pairs.fixed.copy()
    chosen[free[np.flatnonzero(active)[pair_flows > 0]]] = True
    return FlowSolution(chosen, scale, int(active.sum()), rounds)


def _top_total(enc: Encoded, weight: IntArray, need: IntArray) -> int:
    """An upper bound on any flow's total value: each need's best pair, need_max times."""
    best = np.zeros(enc.n_needs, dtype=np.int64)
    np.maximum.at(best, need, weight)
    return int(np.sum(best * enc.need_max))


def _network(enc: Encoded, bonus: int | None) -> _Network:
    """The arcs other than the pairs, and the supplies. `bonus`: soft mode's M; None: hard."""
    n, m = enc.n_needs, enc.n_orgs
    source, sink = n + m, n + m + 1
    needs = np.arange(n, dtype=np.int64)
    orgs = np.arange(n, n + m, dtype=np.int64)
    room = enc.org_capacity - enc.org_min_load
    has_room = room > 0
    supplies = np.zeros(n + m + 2, dtype=np.int64)
    optional = enc.need_max - enc.need_min
    if bonus is None:
        supplies[needs] = enc.need_min  # required places start at the need: hard
        required = np.zeros(n, dtype=bool)
    else:
        required = enc.need_min > 0  # required places come from the source at a bonus
    has_optional = optional > 0
    through_source = int(optional.sum()) + (0 if bonus is None else int(enc.need_min.sum()))
    tails = np.concatenate(
        [np.full(required.sum() + has_optional.sum() + 1, source), orgs[has_room]]
    )
    heads = np.concatenate(
        [needs[required], needs[has_optional], [sink], np.full(has_room.sum(), sink)]
    )
    capacities = np.concatenate(
        [enc.need_min[required], optional[has_optional], [through_source], room[has_room]]
    )
    costs = np.zeros(len(tails), dtype=np.int64)
    costs[: required.sum()] = -(bonus or 0)
    supplies[source] = through_source
    supplies[orgs] = -enc.org_min_load
    supplies[sink] = -(int(supplies[: n + m + 1].sum()))
    return _Network(
        tails.astype(np.int64),
        heads.astype(np.int64),
        capacities.astype(np.int64),
        costs,
        supplies,
    )


def _best_per_need(need: IntArray, k: int) -> npt.NDArray[np.bool_]:
    """The first k free pairs of each need: pairs come sorted by need, then value descending."""
    if len(need) == 0:
        return np.zeros(0, dtype=bool)
    starts = np.flatnonzero(np.r_[True, need[1:] != need[:-1]])
    block_start = np.repeat(starts, np.diff(np.r_[starts, len(need)]))
    return (np.arange(len(need)) - block_start) < k


@dataclass(frozen=True, slots=True)
class _Arcs:
    tails: IntArray
    heads: IntArray
    capacities: IntArray
    costs: IntArray


def _solve(
    network: _Network, need: IntArray, org: IntArray, weight: IntArray
) -> tuple[IntArray, _Arcs]:
    """Optimal arc flows of the network with these pair arcs, and the arcs solved."""
    arcs = _Arcs(
        np.concatenate([network.tails, need]),
        np.concatenate([network.heads, org]),
        np.concatenate([network.capacities, np.ones(len(need), dtype=np.int64)]),
        np.concatenate([network.costs, -weight]),
    )
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(arcs.tails, arcs.heads, arcs.capacities, arcs.costs)
    solver.set_nodes_supplies(np.arange(len(network.supplies)), network.supplies)
    status = solver.solve()
    if status == min_cost_flow.SimpleMinCostFlow.INFEASIBLE:
        raise FlowInfeasible
    if status != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    flows = np.asarray(solver.flows(np.arange(solver.num_arcs())), dtype=np.int64)
    return flows, arcs


def _potentials(arcs: _Arcs, flows: IntArray, nodes: int) -> IntArray:
    """Node potentials that price every residual arc non-negatively: Bellman–Ford distances
    from a virtual root joined to every node at cost 0 (so they start at 0). They exist because
    the flow is optimal, so its residual graph has no negative cycle."""
    forward = flows < arcs.capacities
    backward = flows > 0
    tails = np.concatenate([arcs.tails[forward], arcs.heads[backward]])
    heads = np.concatenate([arcs.heads[forward], arcs.tails[backward]])
    costs = np.concatenate([arcs.costs[forward], -arcs.costs[backward]])
    order = np.argsort(heads, kind="stable")
    tails, heads, costs = tails[order], heads[order], costs[order]
    starts = np.flatnonzero(np.r_[True, heads[1:] != heads[:-1]])
    targets = heads[starts]
    distance = np.zeros(nodes, dtype=np.int64)
    for _ in range(nodes + 1):
        relaxed = np.minimum(
            distance[targets], np.minimum.reduceat(distance[tails] + costs, starts)
        )
        if np.array_equal(relaxed, distance[targets]):
            return distance
        distance[targets] = relaxed
    raise RuntimeError("negative cycle in the residual graph of an optimal flow")
