"""The decoder: arrays back to ScoredProposal objects with every breakdown the committee sees.

Proposals without a valid sheet (NOT_SCORED) get an empty criteria breakdown, zero scores and
zero contributions; their component values are still shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress

import numpy as np

from scoring.aggregate import PanelScores
from scoring.components import FinalScores
from scoring.model import (
    PANEL_COMPONENT_ID,
    ComponentBreakdown,
    CriterionBreakdown,
    OutcomeReason,
    PanelDispersion,
    RankInterval,
    ScoredProposal,
)
from scoring.outcomes import outcome_of
from scoring.ranking import Ranking
from scoring.sheets import SheetTable


@dataclass(frozen=True, slots=True)
class Scores:
    """Everything computed per proposal, in request order, ready to be explained."""

    method: PanelScores
    raw: PanelScores
    calibrated: PanelScores
    finals: FinalScores
    reasons: list[tuple[OutcomeReason, ...]]
    intervals: dict[int, RankInterval]


def scored_proposals(
    table: SheetTable, scores: Scores, ranking: Ranking
) -> tuple[ScoredProposal, ...]:
    """One ScoredProposal per proposal, in rank order."""
    criteria = _criteria(table, scores)
    components = _components(table, scores)
    dispersion = _dispersions(table, scores.method)
    panel = scores.method.panel.tolist()
    raw = scores.raw.panel.tolist()
    calibrated = scores.calibrated.panel.tolist()
    final = scores.finals.final.tolist()
    return tuple(
        ScoredProposal(
            proposal_id=table.proposal_ids[p],
            rank=rank,
            outcome=outcome_of(scores.reasons[p]),
            reasons=scores.reasons[p],
            final_score=final[p],
            panel_score=panel[p],
            raw_score=raw[p],
            calibrated_score=calibrated[p],
            criteria=criteria[p],
            components=components[p],
            dispersion=dispersion[p],
            rank_interval=scores.intervals.get(p),
            tied_group=ranking.group_of[p],
        )
        for rank, p in enumerate(ranking.order, start=1)
    )


def _criteria(table: SheetTable, scores: Scores) -> list[tuple[CriterionBreakdown, ...]]:
    ids = table.rubric.criterion_ids
    shares = table.rubric.share.tolist()
    rows = zip(
        scores.method.criterion.tolist(),
        scores.raw.criterion.tolist(),
        scores.method.points.tolist(),
        table.scored.tolist(),
        strict=True,
    )
    return [
        tuple(map(CriterionBreakdown, ids, method, raw, shares, points)) if scored else ()
        for method, raw, points, scored in rows
    ]


def _components(table: SheetTable, scores: Scores) -> list[tuple[ComponentBreakdown, ...]]:
    finals = scores.finals
    count = len(table.proposal_ids)
    panel = map(
        ComponentBreakdown,
        [PANEL_COMPONENT_ID] * count,
        scores.method.panel.tolist(),
        (100.0 * scores.method.panel / table.rubric.full_scale).tolist(),
        [finals.panel_share] * count,
        finals.panel_contribution.tolist(),
    )
    columns = [
        map(
            ComponentBreakdown,
            [c.component.component_id] * count,
            c.values.tolist(),
            c.normalized.tolist(),
            [c.share] * count,
            c.contribution.tolist(),
            c.amount_fen,
        )
        for c in finals.columns
    ]
    return list(zip(panel, *columns, strict=True))


def _dispersions(table: SheetTable, method: PanelScores) -> list[PanelDispersion]:
    """Spread of the valid raw totals (standard deviation with ddof 0) and who was counted."""
    proposals = len(table.proposal_ids)
    counts = np.maximum(table.counts, 1)
    mean = np.bincount(table.proposal, weights=table.totals, minlength=proposals) / counts
    squares = (table.totals - mean[table.proposal]) ** 2
    std = np.sqrt(np.bincount(table.proposal, weights=squares, minlength=proposals) / counts)
    low, high = np.zeros(proposals), np.zeros(proposals)
    scored = np.flatnonzero(table.counts > 0)
    if len(scored):
        low[scored] = np.minimum.reduceat(table.totals, table.starts[scored])
        high[scored] = np.maximum.reduceat(table.totals, table.starts[scored])
    judges = [table.judge_ids[j] for j in table.judge.tolist()]
    counted = method.counted.tolist()
    dropped = [not c for c in counted]
    all_counted = bool(method.counted.all())
    starts = table.starts.tolist()
    result: list[PanelDispersion] = []
    for p, (spread, n, lo, hi) in enumerate(
        zip(std.tolist(), table.counts.tolist(), low.tolist(), high.tolist(), strict=True)
    ):
        first, last = starts[p], starts[p + 1]
        if all_counted:
            kept, gone = tuple(judges[first:last]), ()
        else:
            kept = tuple(compress(judges[first:last], counted[first:last]))
            gone = tuple(compress(judges[first:last], dropped[first:last]))
        result.append(PanelDispersion(n, len(kept), spread, lo, hi, kept, gone))
    return result
