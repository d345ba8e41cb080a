"""An allocation in the solvers' terms: per (candidate, pool) pair, chosen or not, and the
grant in fen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching.allocation.formulation import (
    MILLION,
    BoolArray,
    Formulation,
    IntArray,
    Sense,
    row_value,
)
from matching.allocation.relax import Penalties


@dataclass(frozen=True, slots=True)
class Solution:
    chosen: BoolArray
    money: IntArray

    def value(self, form: Formulation) -> int:
        """The integer objective without penalties."""
        per_pair, per_unit = form.pair_value()
        units = np.where(self.chosen, (self.money - form.lo) // form.unit, 0)
        return int((per_pair * self.chosen).sum() + (per_unit * units).sum())

    def funded_candidates(self, form: Formulation) -> BoolArray:
        """Per candidate: whether one of its pairs is chosen."""
        funded = np.zeros(len(form.candidate_pairs), dtype=np.bool_)
        funded[form.pair_candidate[self.chosen]] = True
        return funded


def evaluate(form: Formulation, solution: Solution, penalties: Penalties | None) -> int | None:
    """Integer objective (penalties subtracted); None when a hard rule is broken."""
    penalty = 0
    for row in form.rows:
        lhs = row_value(form, row, solution.chosen, solution.money)
        miss = row.rhs - lhs if row.sense is Sense.AT_LEAST else lhs - row.rhs
        if miss <= 0:
            continue
        if penalties is None or not row.soft:
            return None
        if row.money:
            penalty += penalties.money * -(-miss // MILLION)
        else:
            penalty += penalties.count * miss
    picked = np.bincount(form.pair_candidate[solution.chosen], minlength=len(form.candidate_pairs))
    if np.any(picked > 1) or np.any(form.approved & (picked == 0)):
        return None
    return solution.value(form) - penalty
