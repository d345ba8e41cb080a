"""Mean, trimmed mean and median of a proposal's sheets, as a weight on every sheet.

Each sheet gets a weight (0 when trimmed away); a proposal's criterion scores are the weighted
sums of its sheets' scores, so the criterion contributions add up to the panel score exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.arrays import KEY_DECIMALS, BoolArray, FloatArray, IntArray, group_sums
from scoring.model import AggregationMethod
from scoring.rubric import Rubric
from scoring.sheets import SheetTable

_SORTED_METHODS = (AggregationMethod.TRIMMED_MEAN, AggregationMethod.MEDIAN)


@dataclass(frozen=True, slots=True)
class PanelScores:
    """Per proposal: criterion scores on their own scales, their points, and the panel score.

    Rows of proposals without valid sheets are all zero. `counted` marks the sheets used.
    """

    criterion: FloatArray
    points: FloatArray
    panel: FloatArray
    counted: BoolArray


def window(counts: IntArray, method: AggregationMethod, trim: int) -> tuple[IntArray, IntArray]:
    """Positions [start, stop) of the counted sheets among n sheets sorted by (total, judge_id).

    TRIMMED_MEAN drops `trim` at each end; MEDIAN keeps the middle one (odd n) or two (even n);
    every other method keeps all n.
    """
    if method is AggregationMethod.TRIMMED_MEAN:
        return np.full_like(counts, trim), counts - trim
    if method is AggregationMethod.MEDIAN:
        return (counts - 1) // 2, counts // 2 + 1
    return np.zeros_like(counts), counts.copy()


def sheet_weights(table: SheetTable, method: AggregationMethod, trim: int) -> FloatArray:
    """Each valid sheet's weight in its proposal's aggregate (weights of a proposal sum to 1)."""
    if method not in _SORTED_METHODS:
        weights: FloatArray = 1.0 / table.counts[table.proposal]
        return weights
    start, stop = window(table.counts, method, trim)
    # Per proposal first, then one gather per sheet: the same 1/size floats in fewer
    # array calls (these arrays are tiny, so each call's overhead is what costs).
    weight = 1.0 / np.maximum(stop - start, 1)
    position = sorted_positions(table)
    proposal = table.proposal
    kept = (position >= start[proposal]) & (position < stop[proposal])
    return np.where(kept, weight[proposal], 0.0)


def sorted_positions(table: SheetTable) -> IntArray:
    """Each sheet's position among its proposal's sheets sorted by (total, judge_id).

    Totals are compared at KEY_DECIMALS so that equal totals reached by different sums tie.
    """
    judge_ids = table.judge_ids
    # A stable sort of a handful of ids is cheaper in Python than as a numpy object array.
    judge_rank = np.empty(len(judge_ids), dtype=np.intp)
    judge_rank[sorted(range(len(judge_ids)), key=judge_ids.__getitem__)] = range(len(judge_ids))
    proposal = table.proposal
    order = np.lexsort((judge_rank[table.judge], table.totals.round(KEY_DECIMALS), proposal))
    # The table is sorted by proposal, so the sorted sheets' proposals are `proposal` itself.
    position = np.empty(len(order), dtype=np.intp)
    position[order] = np.arange(len(order)) - table.starts[proposal]
    return position


def weighted_scores(
    table: SheetTable, weights: FloatArray, scores: FloatArray | None = None
) -> PanelScores:
    """Panel scores from sheet weights, on the table's raw scores or on adjusted ones."""
    values = table.scores if scores is None else scores
    criterion = group_sums(table.proposal, values * weights[:, None], len(table.proposal_ids))
    return panel_from_criteria(table.rubric, criterion, table.scored, weights > 0)


def panel_from_criteria(
    rubric: Rubric, criterion: FloatArray, scored: BoolArray, counted: BoolArray
) -> PanelScores:
    """Points and panel score from criterion scores; unscored proposals get zero rows."""
    rows = scored[:, None]
    criterion = np.where(rows, criterion, 0.0)
    points = np.where(rows, rubric.points(criterion), 0.0)
    # np.add.reduce is what ndarray.sum calls, without its Python-level wrapper.
    return PanelScores(criterion, points, np.add.reduce(points, axis=1), counted)
