"""Needs matching as arrays: per-need and per-organization counts with fixed pairs taken out,
and each candidate pair's value (priority × affinity), in floats and as solver integers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.needs.candidates import CandidatePairs
from matching.needs.model import NeedMatchingProblem

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

VALUE_SCALE = 10**9
"""Integer units per unit of priority × affinity: rounding moves each pair's value by at most
5e-10, so a matching's total is within about 1e-9 relative of its real value."""


@dataclass(frozen=True, slots=True)
class Encoded:
    """A matching problem over candidate pairs; counts already net of the fixed pairs."""

    pairs: CandidatePairs
    value: FloatArray
    """priority × affinity of each candidate pair."""
    need_min: IntArray
    """Organizations each need still requires beyond its fixed pairs."""
    need_max: IntArray
    """Organizations each need may still take beyond its fixed pairs."""
    org_capacity: IntArray
    """Needs each organization may still take beyond its fixed pairs."""
    org_min_load: IntArray
    """Needs each organization must still take beyond its fixed pairs."""

    @property
    def n_needs(self) -> int:
        return len(self.need_min)

    @property
    def n_orgs(self) -> int:
        return len(self.org_capacity)

    @property
    def free(self) -> npt.NDArray[np.bool_]:
        """Pairs the solver decides (every candidate pair that is not fixed)."""
        return ~self.pairs.fixed


def encode(problem: NeedMatchingProblem, pairs: CandidatePairs) -> Encoded:
    """Counts net of fixed pairs (validation guarantees none goes negative) and pair values."""
    needs, orgs = problem.needs, problem.organizations
    fixed_per_need = np.bincount(pairs.need[pairs.fixed], minlength=len(needs)).astype(np.int64)
    fixed_per_org = np.bincount(pairs.organization[pairs.fixed], minlength=len(orgs)).astype(
        np.int64
    )
    need_min = np.array([n.min_organizations for n in needs], dtype=np.int64)
    need_max = np.array([n.max_organizations for n in needs], dtype=np.int64)
    capacity = np.array([o.capacity for o in orgs], dtype=np.int64)
    min_load = np.array([o.min_load for o in orgs], dtype=np.int64)
    priority = np.array([n.priority for n in needs], dtype=np.float64)
    return Encoded(
        pairs=pairs,
        value=priority[pairs.need] * pairs.affinity,
        need_min=np.maximum(need_min - fixed_per_need, 0),
        need_max=need_max - fixed_per_need,
        org_capacity=capacity - fixed_per_org,
        org_min_load=np.maximum(min_load - fixed_per_org, 0),
    )


def scaled(value: FloatArray, scale: int) -> IntArray:
    """Values as solver integers (round half to even, the same on every platform)."""
    return np.rint(value * scale).astype(np.int64)
