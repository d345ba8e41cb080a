"""Small builders of scoring problems shared by the scoring tests.

`make` takes the sheets as {proposal: {judge: scores in criterion order}} and everything else as
keyword arguments; the bootstrap is off unless `samples` is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scoring.engine import score_proposals
from scoring.model import (
    Criterion,
    CriterionScore,
    Judge,
    Proposal,
    RankStability,
    ScoredProposal,
    ScoreSheet,
    ScoringPolicy,
    ScoringProblem,
    ScoringResult,
)

Table = Mapping[str, Mapping[str, Sequence[float]]]
"""{proposal_id: {judge_id: one score per criterion, in criterion order}}"""

ONE = (Criterion("c", 1.0, 0.0, 10.0),)
"""A single criterion on 0..10 (relative): the sheet total is 10 × the score."""


def sheets_of(table: Table, criteria: Sequence[Criterion]) -> tuple[ScoreSheet, ...]:
    ids = [c.criterion_id for c in criteria]
    return tuple(
        ScoreSheet(
            judge, proposal, tuple(CriterionScore(c, v) for c, v in zip(ids, values, strict=True))
        )
        for proposal, row in table.items()
        for judge, values in row.items()
    )


def make(
    table: Table,
    criteria: Sequence[Criterion] = ONE,
    *,
    judges: Sequence[Judge] | None = None,
    proposals: Sequence[Proposal] | None = None,
    samples: int = 0,
    seed: int = 7,
    **policy: Any,
) -> ScoringProblem:
    """A problem whose judges and proposals default to those named in `table`, in order."""
    if judges is None:
        names = dict.fromkeys(j for row in table.values() for j in row)
        judges = [Judge(j) for j in names]
    if proposals is None:
        proposals = [Proposal(p) for p in table]
    stability = policy.pop("rank_stability", RankStability(samples=samples))
    return ScoringProblem(
        criteria=tuple(criteria),
        judges=tuple(judges),
        proposals=tuple(proposals),
        sheets=sheets_of(table, criteria),
        policy=ScoringPolicy(rank_stability=stability, **policy),
        seed=seed,
    )


def score(table: Table, criteria: Sequence[Criterion] = ONE, **kwargs: Any) -> ScoringResult:
    return score_proposals(make(table, criteria, **kwargs))


def by_id(result: ScoringResult) -> dict[str, ScoredProposal]:
    return {p.proposal_id: p for p in result.proposals}


def ranked_ids(result: ScoringResult) -> list[str]:
    return [p.proposal_id for p in result.proposals]
