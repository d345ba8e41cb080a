"""How a solve ended: shared by allocation, needs matching and mentor matching."""

from __future__ import annotations

import enum


class SolveStatus(enum.Enum):
    """How the solve ended (SolveSummary.status in the API)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION_FOUND = "no_solution_found"
