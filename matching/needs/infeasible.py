"""Why a hard-mode matching cannot give every need its minimum, or every organization its
minimum load, in counts a committee can check: a set of needs (or organizations) that asks
for more than everyone they can be matched with can give them (Hall's condition, read off a
minimum cut)."""

from __future__ import annotations

import numpy as np
from ortools.graph.python import max_flow

from matching.needs.encode import Encoded
from matching.needs.model import NeedMatchingProblem
from scoring.errors import FieldViolation, Unsatisfiable

LISTED = 10
"""At most this many ids are named in one message."""


def needs_short(problem: NeedMatchingProblem, enc: Encoded) -> Unsatisfiable | None:
    """The needs that together ask for more organizations than they can reach; None when every
    need can have its minimum (ignoring organizations' minimum loads)."""
    n, m = enc.n_needs, enc.n_orgs
    free = enc.free
    source, sink = n + m, n + m + 1
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(
        np.concatenate([np.full(n, source), enc.pairs.need[free], n + np.arange(m)]),
        np.concatenate([np.arange(n), n + enc.pairs.organization[free], np.full(m, sink)]),
        np.concatenate([enc.need_min, np.ones(int(free.sum()), dtype=np.int64), enc.org_capacity]),
    )
    if flow.solve(source, sink) != max_flow.SimpleMaxFlow.OPTIMAL:
        raise RuntimeError("max flow failed on a well-formed network")
    if flow.optimal_flow() == int(enc.need_min.sum()):
        return None
    side = np.zeros(n + m + 2, dtype=bool)
    side[np.asarray(flow.get_source_side_min_cut(), dtype=np.int64)] = True
    needs = np.flatnonzero(side[:n] & (enc.need_min > 0))
    orgs = np.flatnonzero(side[n : n + m])
    in_set = side[enc.pairs.need] & free
    reachable_outside = int(np.sum(in_set & ~side[n + enc.pairs.organization]))
    room = int(enc.org_capacity[orgs].sum()) + reachable_outside
    asked = int(enc.need_min[needs].sum())
    ids = [problem.needs[int(i)].need_id for i in needs]
    return Unsatisfiable(
        [
            FieldViolation(
                "needs",
                _listed(ids),
                f"{len(ids)} need(s) require {asked} more organization(s) in total than their "
                f"fixed pairs give them, but the organizations they can be matched with have "
                f"room for only {room} of them (after conflicts, min_affinity, "
                "candidates_per_need and fixed pairs); add organizations or capacity, lower "
                "min_organizations, or set policy.soft_minimums to match as many as possible",
            )
        ]
    )


def loads_short(problem: NeedMatchingProblem, enc: Encoded) -> Unsatisfiable:
    """The organizations whose minimum loads cannot all be met, or, when each side can be met
    alone, the two together."""
    n, m = enc.n_needs, enc.n_orgs
    free = enc.free
    source, sink = n + m, n + m + 1
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(
        np.concatenate([np.full(m, source), n + enc.pairs.organization[free], np.arange(n)]),
        np.concatenate([n + np.arange(m), enc.pairs.need[free], np.full(n, sink)]),
        np.concatenate([enc.org_min_load, np.ones(int(free.sum()), dtype=np.int64), enc.need_max]),
    )
    if flow.solve(source, sink) != max_flow.SimpleMaxFlow.OPTIMAL:
        raise RuntimeError("max flow failed on a well-formed network")
    if flow.optimal_flow() == int(enc.org_min_load.sum()):
        return Unsatisfiable(
            [
                FieldViolation(
                    "organizations",
                    f"{int(enc.org_min_load.sum())} required load",
                    "organizations' min_load and needs' min_organizations can each be met "
                    "alone but not together: the needs that can fill the loads are not the "
                    "ones that can fill the minimums; lower a min_load or a min_organizations, "
                    "or set policy.soft_minimums",
                )
            ]
        )
    side = np.zeros(n + m + 2, dtype=bool)
    side[np.asarray(flow.get_source_side_min_cut(), dtype=np.int64)] = True
    orgs = np.flatnonzero(side[n : n + m] & (enc.org_min_load > 0))
    needs = np.flatnonzero(side[:n])
    in_set = side[n + enc.pairs.organization] & free
    outside = int(np.sum(in_set & ~side[enc.pairs.need]))
    room = int(enc.need_max[needs].sum()) + outside
    load = int(enc.org_min_load[orgs].sum())
    ids = [problem.organizations[int(j)].organization_id for j in orgs]
    return Unsatisfiable(
        [
            FieldViolation(
                "organizations",
                _listed(ids),
                f"{len(ids)} organization(s) must take {load} more need(s) in total (min_load, "
                f"beyond fixed pairs), but the needs they can be matched with have room for "
                f"only {room} (max_organizations, after conflicts and fixed pairs); lower "
                "min_load or add needs",
            )
        ]
    )


def _listed(ids: list[str]) -> str:
    shown = ", ".join(f'"{i}"' for i in ids[:LISTED])
    more = f" and {len(ids) - LISTED} more" if len(ids) > LISTED else ""
    return f"{len(ids)}: {shown}{more}"
