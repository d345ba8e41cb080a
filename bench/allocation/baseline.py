"""What a baseline run reports: status, objective, bound and time, plus its full result."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.allocation.encode import Encoded, decode
from matching.allocation.model import AllocationResult
from matching.status import SolveStatus


@dataclass(frozen=True, slots=True)
class BaselineRun:
    """One solve of one baseline. `objective` is recomputed from the awards (API units);
    `bound` is the solver's proven bound on the primary objective, in the same units."""

    name: str
    status: SolveStatus
    objective: float | None
    bound: float | None
    seconds: float
    """Wall time from the problem to the decoded result: encoding, model building, solving."""
    solve_seconds: float
    """The solver's own wall time."""
    result: AllocationResult | None

    @property
    def proven(self) -> bool:
        return self.status is SolveStatus.OPTIMAL


def finish(
    name: str,
    started: float,
    status: SolveStatus,
    bound: float | None,
    solve_seconds: float,
    enc: Encoded,
    grants: dict[int, int],
) -> BaselineRun:
    """Decode chosen pairs (pair index -> grant in fen) and stop the clock."""
    result = decode(enc, grants, status, bound if bound is not None else 0.0)
    found = status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    return BaselineRun(
        name,
        status,
        result.objective if found else None,
        bound,
        time.perf_counter() - started,
        solve_seconds,
        result,
    )
