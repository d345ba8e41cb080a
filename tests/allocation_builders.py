"""Tiny allocation rounds for hand-checked tests: money in 万 (1万 yuan = 1,000,000 fen), grants
in whole 100 yuan, a 10万 budget and a pass line of 60 unless a test says otherwise."""

from __future__ import annotations

import dataclasses

from matching.allocation.model import AllocationProblem, AllocationProposal, AllocationRules

WAN = 1_000_000
"""1万 yuan in fen."""
UNIT = 10_000
"""100 yuan: the grant unit."""


def proposal(pid: str, score: float | None, wan: float, **fields: object) -> AllocationProposal:
    """An elderly-care proposal in region "east" from its own organization, asking `wan` 万."""
    base = AllocationProposal(
        pid,
        score,
        organization_id=f"org-{pid}",
        domain="elderly",
        region="east",
        requested_fen=round(wan * WAN),
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def problem(proposals: list[AllocationProposal], **rules: object) -> AllocationProblem:
    base = AllocationRules(total_budget_fen=10 * WAN, grant_unit_fen=UNIT, pass_line=60.0)
    return AllocationProblem(tuple(proposals), dataclasses.replace(base, **rules))  # type: ignore[arg-type]
