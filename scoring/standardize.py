"""STANDARDIZED aggregation: each judge's scores as z-scores, mapped back to a pooled scale.

Per judge j and criterion c, z = (s − μ_jc)/σ_jc over the judge's valid scores (ddof 0; z = 0
when the judge gave one value throughout), and s' = μ_c + σ_c·z where μ_c is the mean of all
valid scores on c and σ_c the pooled within-judge spread sqrt(mean((s − μ_jc)²)). Pooling the
spread within judges (not across them) keeps σ_c, and so each criterion's weight in the total,
unchanged when one judge is uniformly harsher or more lenient: a constant added to one judge's
scores only moves every s' by the same amount and never reorders proposals. s' is not clipped,
so it may leave the criterion's scale slightly.
"""

from __future__ import annotations

import numpy as np

from scoring.arrays import FloatArray, group_sums
from scoring.sheets import SheetTable

FLAT_SPREAD = 1e-9
"""A judge whose spread on a criterion is below this fraction of the scale gave one value:
their z-scores are 0 (the mean of equal floats can differ from them in the last bit)."""


def standardize(table: SheetTable) -> FloatArray:
    """The standardized score s' of every valid sheet and criterion, shaped like table.scores."""
    scores = table.scores
    if len(scores) == 0:
        return scores.copy()
    judges = len(table.judge_ids)
    count = np.maximum(np.bincount(table.judge, minlength=judges), 1)[:, None]
    mean = group_sums(table.judge, scores, judges) / count
    deviation = scores - mean[table.judge]
    spread = np.sqrt(group_sums(table.judge, deviation**2, judges) / count)
    flat = spread <= FLAT_SPREAD * (table.rubric.hi - table.rubric.lo)
    z = np.where(flat[table.judge], 0.0, deviation / np.where(flat, 1.0, spread)[table.judge])
    within_spread = np.sqrt((deviation**2).mean(axis=0))
    standardized: FloatArray = scores.mean(axis=0) + within_spread * z
    return standardized
