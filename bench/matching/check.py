"""The benchmark's own checker of a needs matching, shared by ours and every baseline.

A matching is two index arrays (need, organization), one entry per assigned pair. It is legal
when no pair repeats, every need gets between its min and max organizations, every organization
takes between its min_load and capacity, no pair is forbidden, every fixed pair is present, and
(when candidates are given) every pair is a candidate. Independent of the engine's code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching.needs.model import NeedMatchingProblem, PairRef

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


def violations(arrays: ProblemArrays, pairs: Pairs) -> list[str]:
    """Every broken rule, one line each (empty: the matching is legal)."""
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
    found += _items("need below min_organizations", arrays.need_ids, per_need < arrays.min_demand)
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
