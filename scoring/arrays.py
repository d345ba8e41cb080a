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


def round_scores(values: FloatArray, decimals: int) -> FloatArray:
    """rint(x * 10^d) / 10^d: half-to-even, identical for scalars and arrays."""
    scale = 10.0**decimals
    return np.rint(values * scale) / scale


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
