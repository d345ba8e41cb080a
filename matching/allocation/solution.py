"""An allocation in the solvers' terms: per (candidate, pool) pair, chosen or not, and the
grant in fen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching.allocation.formulation import BoolArray, Formulation, IntArray


@dataclass(frozen=True, slots=True)
class Solution:
    chosen: BoolArray
    money: IntArray

    def value(self, form: Formulation) -> int:
        """The integer objective without penalties."""
        per_pair, per_unit = form.pair_value()
        units = np.where(self.chosen, (self.money - form.lo) // form.unit, 0)
        return int((per_pair * self.chosen).sum() + (per_unit * units).sum())
