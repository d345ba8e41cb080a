"""Judge analytics: leniency, deviation from and agreement with the other judges, outliers.

leniency: the judge's calibrated offset in panel points. mean_deviation: mean of (total − mean
of the other judges' totals) over the judge's proposals that someone else also scored.
agreement: Pearson r of those totals and leave-one-out means (None with < 3 pairs or no spread).
Outliers: residual total − (q_p + b_j) of the calibrated fit over robust σ = 1.4826·MAD of the
residuals on proposals with ≥ 2 sheets (falling back to their standard deviation), largest |z|
first (compared at KEY_DECIMALS), then by proposal id.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from scoring.arrays import KEY_DECIMALS, BoolArray, FloatArray
from scoring.model import JudgeReport, OutlierScore
from scoring.sheets import SheetTable

MAD_TO_SIGMA = 1.4826
MIN_AGREEMENT_PAIRS = 3
FLAT = 1e-9
"""Spreads of totals below this fraction of the full scale count as zero (floating-point noise)."""
RESIDUAL_FLOOR = 1e-6
"""A residual spread below this fraction of the full scale is fit noise: no outliers then."""


@dataclass(frozen=True, slots=True)
class CalibratedTotals:
    """The calibrated fit on sheet totals: quality per proposal and leniency per judge (points)."""

    quality: FloatArray
    leniency: FloatArray


def judge_reports(
    table: SheetTable, fit: CalibratedTotals, outlier_threshold: float
) -> tuple[JudgeReport, ...]:
    """One report per judge, in request order."""
    proposals = len(table.proposal_ids)
    sums = np.bincount(table.proposal, weights=table.totals, minlength=proposals)
    others = table.counts[table.proposal] - 1
    shared = others > 0
    loo = np.where(shared, (sums[table.proposal] - table.totals) / np.maximum(others, 1), 0.0)
    outliers = _outliers(table, fit, shared, outlier_threshold)
    # The shared sheets judge by judge, each judge's in table order (a stable sort).
    rows = np.flatnonzero(shared)
    rows = rows[np.argsort(table.judge[rows], kind="stable")]
    bounds = np.searchsorted(table.judge[rows], np.arange(len(table.judge_ids) + 1)).tolist()
    lengths = [stop - start for start, stop in itertools.pairwise(bounds)]
    # Every judge at once: the elementwise steps run over all shared sheets together (the same
    # numbers as judge by judge), and only the sums go judge by judge (see _segment_sums).
    # Rows: x (total), y (leave-one-out mean), x − y.
    pairs = np.empty((3, len(rows)))
    np.take(table.totals, rows, out=pairs[0])
    np.take(loo, rows, out=pairs[1])
    np.subtract(pairs[0], pairs[1], out=pairs[2])
    first = _segment_sums(pairs, bounds)
    means = first[:, :2] / np.maximum(lengths, 1)[:, None]  # x̄, ȳ per judge
    deviations = pairs[:2] - np.repeat(means.T, lengths, axis=1)  # dx, dy
    products = np.empty((3, len(rows)))  # dx², dy², dx·dy
    np.multiply(deviations, deviations, out=products[:2])
    np.multiply(deviations[0], deviations[1], out=products[2])
    second = _segment_sums(products, bounds)
    full_scale = table.rubric.full_scale
    sheets = table.sheets_per_judge.tolist()
    missing = table.missing_per_judge.tolist()
    recused = table.recused_per_judge.tolist()
    leniency = fit.leniency.tolist()
    per_judge = zip(table.judge_ids, lengths, first[:, 2].tolist(), second.tolist(), strict=True)
    reports: list[JudgeReport] = []
    for j, (judge_id, n, deviation_sum, squares) in enumerate(per_judge):
        reports.append(
            JudgeReport(
                judge_id=judge_id,
                sheets=sheets[j],
                missing=missing[j],
                recused=recused[j],
                leniency=leniency[j],
                mean_deviation=deviation_sum / n if n else 0.0,
                agreement=_pearson(n, squares, full_scale),
                outliers=outliers.get(j, ()),
            )
        )
    return tuple(reports)


def _segment_sums(values: FloatArray, bounds: list[int]) -> FloatArray:
    """Sums (segments × k) of each row of `values` (k × sheets) over the segments
    [bounds[j], bounds[j + 1]): numbers equal to each piece's own ndarray.sum().

    numpy sums pairwise, in blocks that depend on the length, so the pieces cannot share one
    reduceat or a padded sum; one call per segment sums all k rows, each contiguous."""
    sums = np.empty((len(bounds) - 1, len(values)))
    for j in range(len(bounds) - 1):
        values[:, bounds[j] : bounds[j + 1]].sum(axis=1, out=sums[j])
    return sums


def _pearson(n: int, squares: list[float], full_scale: float) -> float | None:
    """r from n pairs' sums of dx², dy² and dx·dy (deviations from their means)."""
    if n < MIN_AGREEMENT_PAIRS:
        return None
    xx, yy, xy = squares
    sx, sy = math.sqrt(xx / n), math.sqrt(yy / n)
    if sx <= FLAT * full_scale or sy <= FLAT * full_scale:
        return None
    return min(max((xy / n) / (sx * sy), -1.0), 1.0)


def _median(values: FloatArray) -> float:
    """np.median(values) of a non-empty 1-D array without np.median's general-axis machinery
    (most of its cost on small arrays): the same partition, around the middle value or the
    two middle ones and the last (NaN goes last), and the same mean (0 + a [+ b]) / count."""
    half = len(values) // 2
    if len(values) % 2:
        part = np.partition(values, (half, -1))
        middle = 0.0 + float(part[half])
    else:
        part = np.partition(values, (half - 1, half, -1))
        middle = (0.0 + float(part[half - 1]) + float(part[half])) / 2
    return math.nan if math.isnan(part[-1]) else middle


def _outliers(
    table: SheetTable, fit: CalibratedTotals, shared: BoolArray, threshold: float
) -> dict[int, tuple[OutlierScore, ...]]:
    """Sheets whose residual exceeds `threshold` robust σ, per judge, largest |z| first."""
    expected = fit.quality[table.proposal] + fit.leniency[table.judge]
    residual = table.totals - expected
    pooled = residual[shared]
    if len(pooled) == 0:
        return {}
    sigma = MAD_TO_SIGMA * _median(np.abs(pooled - _median(pooled)))
    floor = RESIDUAL_FLOOR * table.rubric.full_scale
    if sigma <= floor:
        sigma = float(pooled.std())
    if sigma <= floor:
        return {}
    z = residual / sigma
    flagged = np.flatnonzero(shared & (np.abs(z) > threshold)).tolist()
    found: dict[int, list[OutlierScore]] = {}
    for s in flagged:
        found.setdefault(int(table.judge[s]), []).append(
            OutlierScore(
                proposal_id=table.proposal_ids[table.proposal[s]],
                total=float(table.totals[s]),
                expected=float(expected[s]),
                z=float(z[s]),
            )
        )
    # |z| compared at KEY_DECIMALS: residuals that are equal in exact arithmetic (common with
    # discrete scores) are ordered by proposal id, not by the solver's last bits.
    return {
        j: tuple(sorted(items, key=lambda o: (-round(abs(o.z), KEY_DECIMALS), o.proposal_id)))
        for j, items in found.items()
    }
