"""A first legal allocation from the LP: its whole candidates, then what still fits."""

from __future__ import annotations

import numpy as np

from matching.allocation.formulation import Formulation, Sense
from matching.allocation.relax import WHOLE_TOLERANCE, Penalties, Relaxation
from matching.allocation.solution import Solution, evaluate

FILL_ATTEMPTS = 500
"""Candidates tried when filling the rounded LP solution with what still fits."""


def rounded_incumbent(
    form: Formulation, relaxation: Relaxation, penalties: Penalties | None
) -> Solution | None:
    """The LP's whole candidates at their lower amounts, then the others that still fit (most
    LP-attractive first); None when that breaks a hard minimum."""
    n = form.pairs
    chosen = np.zeros(n, dtype=np.bool_)
    money = np.zeros(n, dtype=np.int64)
    at_most = np.array([r.sense is Sense.AT_MOST for r in form.rows], dtype=np.bool_)
    room = np.array([r.rhs for r in form.rows], dtype=np.int64)[at_most]
    membership = form.membership[at_most].tocsc()
    is_money = np.array([r.money for r in form.rows], dtype=np.bool_)[at_most]

    def take(j: int) -> bool:
        rows = membership.indices[membership.indptr[j] : membership.indptr[j + 1]]
        need = np.where(is_money[rows], form.lo[j], 1)
        if np.any(room[rows] < need):
            return False
        room[rows] -= need
        chosen[j] = True
        money[j] = form.lo[j]
        return True

    whole = relaxation.funded > 1 - WHOLE_TOLERANCE
    # Each whole candidate's pair with the largest y: sort pairs by (candidate, -y), keep firsts.
    by_candidate = np.lexsort((-relaxation.y, form.pair_candidate))
    firsts = by_candidate[np.r_[True, np.diff(form.pair_candidate[by_candidate]) != 0]]
    picks = firsts[whole[form.pair_candidate[firsts]]]
    # Single-pool candidates use exactly what the LP gives them, so they go in at once; a
    # candidate the LP splits between pools goes, one by one, to the first pool with room.
    sizes = np.diff(np.r_[[p[0] for p in form.candidate_pairs], n])
    alone = sizes[form.pair_candidate[picks]] == 1
    for group in (picks[alone], picks[~alone]):
        picked = np.zeros(n, dtype=np.bool_)
        picked[group] = True
        use = np.where(
            is_money,
            membership @ np.where(picked, form.lo, 0).astype(np.float64),
            membership @ picked.astype(np.float64),
        ).astype(np.int64)
        if np.all(use <= room):
            room -= use
            chosen[group] = True
            money[group] = form.lo[group]
            continue
        for j in group.tolist():
            pairs = form.candidate_pairs[form.pair_candidate[j]]
            for option in [j, *(int(k) for k in pairs if k != j)]:
                if take(option):
                    break
    others = np.flatnonzero(~whole)
    order = others[
        np.argsort(relaxation.cost_in[others] - relaxation.funded[others], kind="stable")
    ]
    for c in order[:FILL_ATTEMPTS]:
        for j in form.candidate_pairs[c]:
            if take(int(j)):
                break
    solution = Solution(chosen, money)
    if evaluate(form, solution, penalties) is None:
        return None
    return solution
