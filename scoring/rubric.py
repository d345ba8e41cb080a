"""The rubric as arrays: each criterion's scale and weight share, and the panel's full scale F.

A sheet's total is F·Σ_c share_c·(s_c − lo_c)/(hi_c − lo_c), with share_c = w_c/Σw and F = 100
in RELATIVE mode or F = Σw in POINTS mode; so with points weights and scales 0..w_c the total is
the plain sum of the points given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.arrays import FloatArray
from scoring.model import Criterion, WeightMode

RELATIVE_FULL_SCALE = 100.0


@dataclass(frozen=True, slots=True)
class Rubric:
    """Criteria in request order: scales, weight shares, and points per unit of score."""

    criterion_ids: tuple[str, ...]
    lo: FloatArray
    hi: FloatArray
    share: FloatArray
    full_scale: float

    @property
    def points_per_unit(self) -> FloatArray:
        """Panel points one unit of score on each criterion is worth: F·share_c/(hi_c − lo_c)."""
        return self.full_scale * self.share / (self.hi - self.lo)

    def points(self, scores: FloatArray) -> FloatArray:
        """Each criterion's contribution, F·share_c·x_c, for scores on the criteria's scales."""
        return (scores - self.lo) * self.points_per_unit

    def offset_points(self, offsets: FloatArray) -> FloatArray:
        """A shift of scores (no scale minimum subtracted) in panel points, summed over criteria."""
        total: FloatArray = (offsets * self.points_per_unit).sum(axis=-1)
        return total


def make_rubric(criteria: tuple[Criterion, ...], mode: WeightMode) -> Rubric:
    """The rubric of a (validated) criteria list read in the given weight mode."""
    weights = np.array([c.weight for c in criteria], dtype=np.float64)
    total_weight = float(weights.sum())
    full_scale = total_weight if mode is WeightMode.POINTS else RELATIVE_FULL_SCALE
    return Rubric(
        criterion_ids=tuple(c.criterion_id for c in criteria),
        lo=np.array([c.scale_min for c in criteria], dtype=np.float64),
        hi=np.array([c.scale_max for c in criteria], dtype=np.float64),
        share=weights / total_weight,
        full_scale=full_scale,
    )
