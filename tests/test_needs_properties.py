"""Needs matching against brute force on tiny random problems: every objective and rule, hard
and soft, exact lexicographic optimum; every answer passes the shared validator."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from matching.needs.affinity import features_of
from matching.needs.candidates import candidate_pairs
from matching.needs.encode import encode
from matching.needs.engine import match_needs
from matching.needs.flow import FlowInfeasible, solve_flow
from matching.needs.model import MatchObjective, NeedMatchingProblem
from matching.needs.validate import validate_problem
from matching.needs.verify import violations
from scoring.errors import InvalidProblem, Unsatisfiable
from tests.needs_builders import need, org, problem

REGIONS = ("R1", "R2", "R3")
DOMAINS = ("e", "y")


@st.composite
def problems(draw: st.DrawFn) -> NeedMatchingProblem:
    n_needs = draw(st.integers(1, 3))
    n_orgs = draw(st.integers(1, 3))
    needs = []
    for i in range(n_needs):
        low = draw(st.integers(1, 2))
        needs.append(
            need(
                f"N{i}",
                draw(st.sampled_from(DOMAINS)),
                draw(st.sampled_from(REGIONS)),
                low=low,
                high=draw(st.integers(low, 2)),
                priority=draw(st.sampled_from([1.0, 2.0])),
            )
        )
    orgs = []
    for j in range(n_orgs):
        capacity = draw(st.integers(1, 2))
        orgs.append(
            org(
                f"O{j}",
                draw(st.lists(st.sampled_from(DOMAINS), min_size=1, max_size=2, unique=True)),
                draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True)),
                capacity=capacity,
                min_load=draw(st.integers(0, min(capacity, 1))),
            )
        )
    all_pairs = [(n.need_id, o.organization_id) for n in needs for o in orgs]
    marks = draw(
        st.lists(st.sampled_from("..ff#"), min_size=len(all_pairs), max_size=len(all_pairs))
    )
    return problem(
        needs,
        orgs,
        objective=draw(st.sampled_from(list(MatchObjective))),
        adjacency={"R1": ("R2",)},
        forbidden=[p for p, m in zip(all_pairs, marks, strict=True) if m == "f"],
        fixed=[p for p, m in zip(all_pairs, marks, strict=True) if m == "#"],
        one_per_domain=draw(st.booleans()),
        min_affinity=draw(st.sampled_from([0.0, 0.0, 0.3])),
        soft=draw(st.booleans()),
    )


def _key(p: NeedMatchingProblem, chosen: list[int], pairs: object) -> tuple[float, ...] | None:
    """The lexicographic objective of a set of candidate pairs, None when it breaks a rule."""
    need_of = pairs.need  # type: ignore[attr-defined]
    org_of = pairs.organization  # type: ignore[attr-defined]
    affinity = pairs.affinity  # type: ignore[attr-defined]
    if not all(k in chosen for k in np.flatnonzero(pairs.fixed)):  # type: ignore[attr-defined]
        return None
    count = np.bincount(need_of[chosen], minlength=len(p.needs))
    load = np.bincount(org_of[chosen], minlength=len(p.organizations))
    for i, n in enumerate(p.needs):
        if count[i] > n.max_organizations or (
            not p.policy.soft_minimums and count[i] < n.min_organizations
        ):
            return None
    for j, o in enumerate(p.organizations):
        if load[j] > o.capacity or load[j] < o.min_load:
            return None
    if p.policy.one_organization_per_domain:
        for i in range(len(p.needs)):
            domains = [
                d for k in chosen if need_of[k] == i for d in p.organizations[org_of[k]].domains
            ]
            if len(domains) != len(set(domains)):
                return None
    key: list[float] = []
    if p.policy.soft_minimums:
        key.append(sum(min(int(count[i]), n.min_organizations) for i, n in enumerate(p.needs)))
    if p.policy.objective is MatchObjective.FAIR:
        has = np.bincount(need_of, minlength=len(p.needs)) > 0
        got = np.bincount(need_of[chosen], weights=affinity[chosen], minlength=len(p.needs))
        low = np.array([n.min_organizations for n in p.needs])
        key.append(float(np.min((got / np.maximum(count, low))[has])) if has.any() else 0.0)
    priority = np.array([n.priority for n in p.needs])
    key.append(float(np.sum(priority[need_of[chosen]] * affinity[chosen])))
    return tuple(key)


def _brute(p: NeedMatchingProblem) -> tuple[float, ...] | None:
    weights = p.policy.weights.normalised()
    pairs = candidate_pairs(
        p, features_of(p.needs, p.organizations, p.policy.region_adjacency), weights
    )
    best: tuple[float, ...] | None = None
    ks = range(len(pairs.need))
    for size in range(len(ks) + 1):
        for chosen in itertools.combinations(ks, size):
            key = _key(p, list(chosen), pairs)
            if key is not None and (best is None or key > best):
                best = key
    return best


def _valid(p: NeedMatchingProblem) -> bool:
    try:
        validate_problem(p)
    except Unsatisfiable:
        return True  # rules that cannot hold: the engine must say so too
    except InvalidProblem:
        return False
    return True


@given(problems())
def test_matches_the_brute_force_optimum(p: NeedMatchingProblem) -> None:
    assume(_valid(p))
    best = _brute(p)
    if best is None:
        with pytest.raises(Unsatisfiable):
            match_needs(p)
        return
    result = match_needs(p)
    assert violations(p, result) == []
    key: list[float] = []
    if p.policy.soft_minimums:
        count = {n.need_id: 0 for n in p.needs}
        for a in result.assignments:
            count[a.need_id] += 1
        key.append(sum(min(count[n.need_id], n.min_organizations) for n in p.needs))
    if p.policy.objective is MatchObjective.FAIR:
        key.append(result.worst_need_affinity)
    key.append(result.total_affinity)
    assert len(key) == len(best)
    for got, want in zip(key, best, strict=True):
        assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6), (key, best)


@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.booleans())
def test_pricing_from_few_pairs_per_need_reaches_the_full_optimum(
    seed: int, per_need: int, soft: bool
) -> None:
    rng = np.random.default_rng(seed)
    needs = [
        need(f"N{i}", "e", f"R{rng.integers(4)}", low=int(rng.integers(1, 3)), high=2)
        for i in range(12)
    ]
    orgs = [
        org(
            f"O{j}",
            ["e"],
            [f"R{rng.integers(4)}"],
            capacity=int(rng.integers(1, 4)),
            min_load=int(rng.integers(0, 2)),
        )
        for j in range(8)
    ]
    p = problem(needs, orgs, soft=soft)
    pairs = candidate_pairs(
        p, features_of(p.needs, p.organizations, {}), p.policy.weights.normalised()
    )
    enc = encode(p, pairs)
    try:
        full = solve_flow(enc, soft=soft, per_need=len(orgs))
    except FlowInfeasible:
        with pytest.raises(FlowInfeasible):
            solve_flow(enc, soft=soft, per_need=per_need)
        return
    few = solve_flow(enc, soft=soft, per_need=per_need)
    assert float(np.sum(enc.value[few.chosen])) == pytest.approx(
        float(np.sum(enc.value[full.chosen])), abs=1e-9
    )
    low = np.array([n.min_organizations for n in needs])

    def filled(chosen: np.ndarray) -> int:
        return int(np.minimum(np.bincount(pairs.need[chosen], minlength=len(needs)), low).sum())

    assert filled(few.chosen) == filled(full.chosen)
