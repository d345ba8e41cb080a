"""Array type aliases and the few numeric helpers every stage of the engine shares.

Rounding lives here so that the ranking, the pass line and the bootstrap round the same way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

KEY_DECIMALS = 9
"""Float keys (tie-breaks, sort keys, thresholds) are compared at this many decimals, so
floating-point noise in the last bits never decides an order."""


def half_up(scaled: FloatArray, decimals: int) -> FloatArray:
    """Round x·10^d (already scaled) to a whole number the way published scores are rounded,
    四舍五入: halves away from zero.

    A mean such as 59.995 may arrive as 59.99499999999999; anything within the KEY_DECIMALS
    tolerance below a half counts as the half, so float noise never rounds a score down.
    """
    tolerance = min(10.0 ** (decimals - KEY_DECIMALS), 1e-3)
    rounded: FloatArray = np.copysign(np.floor(np.abs(scaled) + (0.5 + tolerance)), scaled)
    return rounded


def round_scores(values: FloatArray, decimals: int) -> FloatArray:
    """Scores rounded to `decimals` half away from zero (see half_up); scalars and arrays alike."""
    scale = 10.0**decimals
    rounded: FloatArray = half_up(values * scale, decimals) / scale
    return rounded


def round_score(value: float, decimals: int) -> float:
    """round_scores for one number."""
    return float(round_scores(np.array([value]), decimals)[0])


def group_sums(groups: IntArray, values: FloatArray, count: int) -> FloatArray:
    """Sum of `values` (rows) per group index; rows of shape (n,) or (n, k)."""
    if values.ndim == 1:
        sums: FloatArray = np.bincount(groups, weights=values, minlength=count).astype(np.float64)
        return sums
    out = np.empty((count, values.shape[1]))
    for k in range(values.shape[1]):
        out[:, k] = np.bincount(groups, weights=values[:, k], minlength=count)
    return out
