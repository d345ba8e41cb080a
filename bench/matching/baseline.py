"""What a baseline run reports, and the input every baseline shares: candidate pairs as arrays.

Values are real (priority × affinity, float64 per candidate pair). A solver that needs
integers gets round(value × SCALE); the objective reported is always Σ value over the chosen
pairs, recomputed in float64 from `value`, never from the scaled integers.

SCALE = 10^8. Rounding moves each value by at most 0.5 / SCALE, so the scaled optimum's true
value is within K / SCALE of the real optimum (K = pairs assigned): a relative error of at most
1 / (SCALE × mean value of an assigned pair), 1e-7 even if that mean were 0.1. (×100, a common
choice, loses up to 0.3% here.) Integer objectives stay below 2^53: 3 × 10^4 pairs × 2 × 10^8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from matching.status import SolveStatus

SCALE = 10**8
"""Integer value of a pair = round(value × SCALE)."""


@dataclass(frozen=True, slots=True)
class Candidates:
    """Candidate pairs (one entry per pair) and the per-need and per-organization limits."""

    need: NDArray[np.int64]
    organization: NDArray[np.int64]
    value: NDArray[np.float64]
    """priority × affinity."""
    min_demand: NDArray[np.int64]
    """Per need."""
    max_demand: NDArray[np.int64]
    capacity: NDArray[np.int64]
    """Per organization."""

    def __post_init__(self) -> None:
        if not len(self.need) == len(self.organization) == len(self.value):
            raise ValueError("need, organization and value must have one entry per pair")
        if len(self.min_demand) != len(self.max_demand):
            raise ValueError("min_demand and max_demand must have one entry per need")

    @property
    def n_needs(self) -> int:
        return len(self.min_demand)

    @property
    def n_orgs(self) -> int:
        return len(self.capacity)

    def scaled(self) -> NDArray[np.int64]:
        """round(value × SCALE) per pair."""
        return np.rint(self.value * SCALE).astype(np.int64)

    def objective(self, chosen: NDArray[np.int64]) -> float:
        """Σ value over the chosen pairs, exactly rounded."""
        return math.fsum(self.value[chosen].tolist())

    def per_need(self) -> list[NDArray[np.int64]]:
        """Pair indices of each need."""
        return _groups(self.need, self.n_needs)

    def per_organization(self) -> list[NDArray[np.int64]]:
        """Pair indices of each organization."""
        return _groups(self.organization, self.n_orgs)


@dataclass(frozen=True, slots=True)
class BaselineRun:
    """One solve of one baseline on a Candidates input."""

    name: str
    status: SolveStatus
    objective: float | None
    """Σ value over the chosen pairs (None when no assignment was found)."""
    seconds: float
    """Wall time from the arrays to the chosen pairs: model building, solving, reading back."""
    build_seconds: float
    solve_seconds: float
    chosen: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """Indices of the chosen candidate pairs."""
    note: str = ""
    """Why the run stopped early (time limit), if it did."""

    @property
    def proven(self) -> bool:
        return self.status is SolveStatus.OPTIMAL


def _groups(keys: NDArray[np.int64], n: int) -> list[NDArray[np.int64]]:
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(n)]
