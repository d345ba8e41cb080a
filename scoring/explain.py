"""The decoder: arrays back to ScoredProposal objects with every breakdown the committee sees.

Proposals without a valid sheet (NOT_SCORED) get an empty criteria breakdown, zero scores and
zero contributions; their component values are still shown.

The arrays hold a few dozen numbers, so numpy's per-call overhead, not arithmetic, is the cost:
each array is turned into a list once (`tolist`) and the result objects are built column by
column from those lists (see `_frozen`), rather than by indexing arrays element by element.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from itertools import repeat
from typing import Any, TypeVar

import numpy as np

from scoring.aggregate import PanelScores
from scoring.arrays import FloatArray
from scoring.components import FinalScores
from scoring.model import (
    PANEL_COMPONENT_ID,
    ComponentBreakdown,
    CriterionBreakdown,
    Outcome,
    OutcomeReason,
    PanelDispersion,
    RankInterval,
    ScoredProposal,
)
from scoring.ranking import Ranking
from scoring.sheets import SheetTable

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Scores:
    """Everything computed per proposal, in request order, ready to be explained."""

    method: PanelScores
    raw: PanelScores
    calibrated: PanelScores
    finals: FinalScores
    reasons: list[tuple[OutcomeReason, ...]]
    outcomes: list[Outcome]
    intervals: dict[int, RankInterval]


def scored_proposals(
    table: SheetTable, scores: Scores, ranking: Ranking
) -> tuple[ScoredProposal, ...]:
    """One ScoredProposal per proposal, in rank order."""
    order = ranking.order
    return tuple(
        _frozen(
            ScoredProposal,
            len(order),
            _in_order(table.proposal_ids, order),
            range(1, len(order) + 1),
            _in_order(scores.outcomes, order),
            _in_order(scores.reasons, order),
            _in_order(scores.finals.final.tolist(), order),
            _in_order(scores.method.panel.tolist(), order),
            _in_order(scores.raw.panel.tolist(), order),
            _in_order(scores.calibrated.panel.tolist(), order),
            _in_order(_criteria(table, scores), order),
            _in_order(_components(table, scores), order),
            _in_order(_dispersions(table, scores.method), order),
            map(scores.intervals.get, order),
            _in_order(ranking.group_of, order),
        )
    )


def _in_order(items: list[_T] | tuple[_T, ...], order: tuple[int, ...]) -> map[_T]:
    """The items picked in `order` (a C-level loop, unlike a generator indexing each)."""
    return map(items.__getitem__, order)


def _criteria(table: SheetTable, scores: Scores) -> list[tuple[CriterionBreakdown, ...]]:
    """Per proposal, one CriterionBreakdown per criterion (none when it is not scored)."""
    rubric = table.rubric
    width = len(rubric.criterion_ids)
    scored = table.scored
    every = bool(scored.all())
    rows = len(scored) if every else int(np.count_nonzero(scored))

    def cells(values: FloatArray) -> list[float]:
        """The scored proposals' rows, one after the other."""
        return (values if every else values[scored]).ravel().tolist()

    flat = _frozen(
        CriterionBreakdown,
        rows * width,
        rubric.criterion_ids * rows,
        cells(scores.method.criterion),
        cells(scores.raw.criterion),
        rubric.share.tolist() * rows,
        cells(scores.method.points),
    )
    if every:
        bounds = list(range(0, (rows + 1) * width, width))
    else:
        bounds = np.concatenate(([0], np.cumsum(scored) * width)).tolist()
    return _cut(flat, bounds)


def _components(table: SheetTable, scores: Scores) -> list[tuple[ComponentBreakdown, ...]]:
    """Per proposal, the panel's ComponentBreakdown and then each component's, in policy order."""
    finals = scores.finals
    count = len(table.proposal_ids)
    panel = _frozen(
        ComponentBreakdown,
        count,
        repeat(PANEL_COMPONENT_ID, count),
        scores.method.panel.tolist(),
        (100.0 * scores.method.panel / table.rubric.full_scale).tolist(),
        repeat(finals.panel_share, count),
        finals.panel_contribution.tolist(),
        repeat(0, count),
    )
    columns = [
        _frozen(
            ComponentBreakdown,
            count,
            repeat(c.component.component_id, count),
            c.values.tolist(),
            c.normalized.tolist(),
            repeat(c.share, count),
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
    low, high = _extremes(table)
    # Judge ids per sheet by one numpy gather into an object array (a list comprehension
    # costs three times as much at a county's 160 sheets).
    judges = np.array(table.judge_ids, dtype=object)[table.judge]
    counted = method.counted
    if counted.all():
        kept = _cut(judges.tolist(), table.starts.tolist())
        gone: list[tuple[str, ...]] | repeat[tuple[str, ...]] = repeat((), proposals)
    else:
        # Judges counted before each proposal's first sheet: picking the counted (dropped)
        # judges of all sheets at once and slicing per proposal beats filtering each proposal.
        counted_before = np.concatenate(([0], np.cumsum(counted)))[table.starts]
        kept = _cut(judges[counted].tolist(), counted_before.tolist())
        gone = _cut(judges[~counted].tolist(), (table.starts - counted_before).tolist())
    return _frozen(
        PanelDispersion,
        proposals,
        table.counts.tolist(),
        map(len, kept),
        std.tolist(),
        low,
        high,
        kept,
        gone,
    )


def _extremes(table: SheetTable) -> tuple[list[float], list[float]]:
    """Lowest and highest valid sheet total per proposal (0 for proposals without sheets)."""
    totals, starts = table.totals, table.starts
    if len(totals) and table.counts.all():
        # Every proposal has sheets (the usual round): no need to pick the scored ones out.
        first = starts[:-1]
        return np.minimum.reduceat(totals, first).tolist(), np.maximum.reduceat(
            totals, first
        ).tolist()
    proposals = len(table.proposal_ids)
    low, high = np.zeros(proposals), np.zeros(proposals)
    scored = np.flatnonzero(table.counts > 0)
    if len(scored):
        low[scored] = np.minimum.reduceat(totals, starts[scored])
        high[scored] = np.maximum.reduceat(totals, starts[scored])
    return low.tolist(), high.tolist()


def _cut(items: list[_T], bounds: list[int]) -> list[tuple[_T, ...]]:
    """items[bounds[k]:bounds[k + 1]] as a tuple, for each k."""
    return list(map(tuple, map(items.__getitem__, map(slice, bounds, bounds[1:]))))


def _frozen(cls: type[_T], count: int, *columns: Iterable[Any]) -> list[_T]:
    """`count` instances of one of the BUILT result classes, from one column per field (in
    declaration order, each of `count` values): equal to `list(map(cls, *columns))`.

    Why not call the class: a frozen dataclass's generated __init__ sets each field through
    object.__setattr__ in Python bytecode, and the ~250 small objects of a county-size result
    then cost more than everything else in this stage. Writing each slot through its descriptor
    in a C-level `map` loop takes well under half the time. This skips __init__, so it is only
    for plain classes without __post_init__ (a test checks BUILT); a field without a column
    fails loudly here rather than silently taking its default.
    """
    objects = list(map(object.__new__, repeat(cls, count)))
    for set_slot, column in zip(_SLOT_SETTERS[cls], columns, strict=True):
        deque(map(set_slot, objects, column), maxlen=0)
    return objects


BUILT = (CriterionBreakdown, ComponentBreakdown, PanelDispersion, ScoredProposal)
"""The result classes _frozen builds."""

_SLOT_SETTERS: dict[type, tuple[Callable[[Any, Any], None], ...]] = {
    cls: tuple(getattr(cls, field.name).__set__ for field in fields(cls)) for cls in BUILT
}
"""Per class, its fields' slot setters in declaration order: class facts, looked up once."""
