"""One validator for every needs matching, ours and the baselines': each hard rule checked on
the answer alone, so a solver cannot pass by agreeing with itself.

`pair_violations` checks a matching given as index arrays (what the baselines produce; fast
enough for 10,000 × 5,000 rounds): no pair twice, every need between its min and max
organizations, every organization between its min_load and capacity, no forbidden pair, every
fixed pair, and (when candidates are given) only candidate pairs. `violations` checks a whole
NeedMatchResult: those rules on its assignments, one organization per domain, the unmet-needs
listing, the totals and every breakdown.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching.needs.model import NeedMatchingProblem, NeedMatchResult, PairRef

TOLERANCE = 1e-9

IntArray = NDArray[np.int64]
Pairs = tuple[IntArray, IntArray]
"""(need indices, organization indices) of the assigned pairs."""
SHOWN = 5
"""Offending pairs or items named per kind of violation."""


@dataclass(frozen=True, slots=True)
class ProblemArrays:
    """The hard rules of a problem as arrays over need and organization indices."""

    need_ids: tuple[str, ...]
    organization_ids: tuple[str, ...]
    min_demand: IntArray
    max_demand: IntArray
    capacity: IntArray
    min_load: IntArray
    priority: NDArray[np.float64]
    forbidden: IntArray
    """Sorted pair codes need × n_orgs + organization."""
    fixed: IntArray
    candidates: IntArray | None = None
    """Sorted codes of the candidate pairs; None: every non-forbidden pair."""

    @property
    def n_orgs(self) -> int:
        return len(self.organization_ids)

    def codes(self, pairs: Pairs) -> IntArray:
        need, org = pairs
        return np.asarray(need, dtype=np.int64) * self.n_orgs + np.asarray(org, dtype=np.int64)

    def with_candidates(self, pairs: Pairs) -> ProblemArrays:
        """The same rules, and only these pairs are candidates."""
        return dataclasses.replace(self, candidates=np.unique(self.codes(pairs)))

    def index_pairs(self, refs: Iterable[tuple[str, str]]) -> Pairs:
        """(need_id, organization_id) pairs to index arrays."""
        need_at = {n: k for k, n in enumerate(self.need_ids)}
        org_at = {o: k for k, o in enumerate(self.organization_ids)}
        listed = [(need_at[n], org_at[o]) for n, o in refs]
        need = np.array([n for n, _ in listed], dtype=np.int64)
        org = np.array([o for _, o in listed], dtype=np.int64)
        return need, org


def problem_arrays(problem: NeedMatchingProblem) -> ProblemArrays:
    """The problem's hard rules; forbidden and fixed pairs by index."""
    need_at = {n.need_id: k for k, n in enumerate(problem.needs)}
    org_at = {o.organization_id: k for k, o in enumerate(problem.organizations)}
    n_orgs = len(org_at)

    def codes(refs: tuple[PairRef, ...]) -> IntArray:
        listed = [need_at[p.need_id] * n_orgs + org_at[p.organization_id] for p in refs]
        return np.unique(np.array(listed, dtype=np.int64))

    return ProblemArrays(
        tuple(need_at),
        tuple(org_at),
        np.array([n.min_organizations for n in problem.needs], dtype=np.int64),
        np.array([n.max_organizations for n in problem.needs], dtype=np.int64),
        np.array([o.capacity for o in problem.organizations], dtype=np.int64),
        np.array([o.min_load for o in problem.organizations], dtype=np.int64),
        np.array([n.priority for n in problem.needs], dtype=np.float64),
        codes(problem.policy.forbidden_pairs),
        codes(problem.policy.fixed_pairs),
    )


def pair_violations(arrays: ProblemArrays, pairs: Pairs, soft_minimums: bool = False) -> list[str]:
    """Every broken hard rule of a matching given as index arrays, one line each (empty: legal).
    With `soft_minimums` a need below its minimum is allowed (it must be reported instead)."""
    need, org = (np.asarray(p, dtype=np.int64) for p in pairs)
    n_needs, n_orgs = len(arrays.need_ids), arrays.n_orgs
    if len(need) != len(org):
        return [f"{len(need)} need indices but {len(org)} organization indices"]
    if len(need) and (need.min() < 0 or need.max() >= n_needs):
        return ["need index out of range"]
    if len(org) and (org.min() < 0 or org.max() >= n_orgs):
        return ["organization index out of range"]
    found: list[str] = []
    codes = arrays.codes((need, org))
    unique, counts = np.unique(codes, return_counts=True)
    found += _listed("pair assigned twice", arrays, unique[counts > 1])
    per_need = np.bincount(need, minlength=n_needs)
    per_org = np.bincount(org, minlength=n_orgs)
    if not soft_minimums:
        found += _items(
            "need below min_organizations", arrays.need_ids, per_need < arrays.min_demand
        )
    found += _items("need above max_organizations", arrays.need_ids, per_need > arrays.max_demand)
    found += _items(
        "organization above capacity", arrays.organization_ids, per_org > arrays.capacity
    )
    found += _items(
        "organization below min_load", arrays.organization_ids, per_org < arrays.min_load
    )
    found += _listed("forbidden pair", arrays, unique[np.isin(unique, arrays.forbidden)])
    found += _listed("fixed pair missing", arrays, arrays.fixed[~np.isin(arrays.fixed, unique)])
    if arrays.candidates is not None:
        found += _listed("not a candidate", arrays, unique[~np.isin(unique, arrays.candidates)])
    return found


def _items(what: str, ids: tuple[str, ...], bad: NDArray[np.bool_]) -> list[str]:
    where = np.flatnonzero(bad)
    if not len(where):
        return []
    named = ", ".join(ids[k] for k in where[:SHOWN])
    return [f"{what}: {len(where)} ({named}{', …' if len(where) > SHOWN else ''})"]


def _listed(what: str, arrays: ProblemArrays, codes: IntArray) -> list[str]:
    if not len(codes):
        return []
    rows, cols = np.divmod(codes[:SHOWN], arrays.n_orgs)
    named = ", ".join(
        f"({arrays.need_ids[r]}, {arrays.organization_ids[c]})"
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
    )
    return [f"{what}: {len(codes)} ({named}{', …' if len(codes) > SHOWN else ''})"]


def violations(problem: NeedMatchingProblem, result: NeedMatchResult) -> list[str]:
    """Every rule the result breaks or way it contradicts itself; empty when it is legal."""
    needs = {n.need_id: n for n in problem.needs}
    orgs = {o.organization_id: o for o in problem.organizations}
    pairs = [(a.need_id, a.organization_id) for a in result.assignments]
    unknown = [p for p in pairs if p[0] not in needs or p[1] not in orgs]
    if unknown:
        return [f"unknown pair {p}" for p in unknown]
    arrays = problem_arrays(problem)
    policy = problem.policy
    found = pair_violations(arrays, arrays.index_pairs(pairs), policy.soft_minimums)
    per_need = Counter(n for n, _ in pairs)
    short = {n.need_id for n in problem.needs if per_need[n.need_id] < n.min_organizations}
    listed = {u.need_id for u in result.unmet_needs}
    if listed != short:
        found.append(f"unmet_needs {sorted(listed)} but short needs are {sorted(short)}")
    if policy.one_organization_per_domain:
        for need in problem.needs:
            domains = Counter(d for n, o in pairs if n == need.need_id for d in orgs[o].domains)
            found += [
                f"need {need.need_id}: {times} organizations in domain {d}"
                for d, times in domains.items()
                if times > 1
            ]
    total = sum(needs[a.need_id].priority * a.affinity.total for a in result.assignments)
    if not math.isclose(total, result.total_affinity, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
        found.append(f"total_affinity {result.total_affinity} but the pairs sum to {total}")
    for a in result.assignments:
        parts = sum(p.contribution for p in a.affinity.parts)
        if not math.isclose(parts, a.affinity.total, abs_tol=TOLERANCE):
            found.append(f"pair ({a.need_id}, {a.organization_id}): parts sum {parts}")
    return found
