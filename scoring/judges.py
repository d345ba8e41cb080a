"""Judge analytics: leniency, deviation from and agreement with the other judges, outliers.

leniency: the judge's calibrated offset in panel points. mean_deviation: mean of (total − mean
of the other judges' totals) over the judge's proposals that someone else also scored.
agreement: Pearson r of those totals and leave-one-out means (None with < 3 pairs or no spread).
Outliers: residual total − (q_p + b_j) of the calibrated fit over robust σ = 1.4826·MAD of the
residuals on proposals with ≥ 2 sheets (falling back to their standard deviation), largest |z|
first (compared at KEY_DECIMALS), then by proposal id.
"""

from __future__ import annotations

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
    totals, means = table.totals[rows], loo[rows]
    full_scale = table.rubric.full_scale
    sheets = table.sheets_per_judge.tolist()
    missing = table.missing_per_judge.tolist()
    recused = table.recused_per_judge.tolist()
    leniency = fit.leniency.tolist()
    reports: list[JudgeReport] = []
    for j, judge_id in enumerate(table.judge_ids):
        x, y = totals[bounds[j] : bounds[j + 1]], means[bounds[j] : bounds[j + 1]]
        reports.append(
            JudgeReport(
                judge_id=judge_id,
                sheets=sheets[j],
                missing=missing[j],
                recused=recused[j],
                leniency=leniency[j],
                mean_deviation=_mean(x - y) if len(x) else 0.0,
                agreement=_pearson(x, y, full_scale),
                outliers=outliers.get(j, ()),
            )
        )
    return tuple(reports)


def _mean(x: FloatArray) -> float:
    """x.mean(): the same pairwise sum over the same count, without mean()'s Python overhead."""
    return float(x.sum()) / len(x)


def _pearson(x: FloatArray, y: FloatArray, full_scale: float) -> float | None:
    if len(x) < MIN_AGREEMENT_PAIRS:
        return None
    dx, dy = x - _mean(x), y - _mean(y)
    sx, sy = math.sqrt(_mean(dx * dx)), math.sqrt(_mean(dy * dy))
    if sx <= FLAT * full_scale or sy <= FLAT * full_scale:
        return None
    return min(max(_mean(dx * dy) / (sx * sy), -1.0), 1.0)


def _outliers(
    table: SheetTable, fit: CalibratedTotals, shared: BoolArray, threshold: float
) -> dict[int, tuple[OutlierScore, ...]]:
    """Sheets whose residual exceeds `threshold` robust σ, per judge, largest |z| first."""
    expected = fit.quality[table.proposal] + fit.leniency[table.judge]
    residual = table.totals - expected
    pooled = residual[shared]
    if len(pooled) == 0:
        return {}
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(pooled - np.median(pooled))))
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
