"""Grants raised above their lowest amounts, in rank order, within every maximum.

Shared by RANK_ORDER (its amounts) and TOTAL_SCORE (funding the chosen proposals as fully as the
rules allow, when this greedy reaches the LP's bound on money, which proves it the most).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from matching.allocation.formulation import Formulation, Sense
from matching.allocation.solution import Solution, evaluate


class Caps:
    """The maximum rows (budget, pools, organizations, maximum quotas) as one sparse matrix, so
    a trial allocation's usage is a product and each drop a column update."""

    def __init__(self, form: Formulation) -> None:
        caps = [r for r in form.rows if r.sense is Sense.AT_MOST]  # the budget row at least
        self.rhs = np.array([r.rhs for r in caps], dtype=np.float64)
        self.money = np.array([r.money for r in caps], dtype=np.bool_)
        self.matrix = scipy.sparse.csc_array(
            (
                np.ones(sum(len(r.pairs) for r in caps)),
                (
                    np.concatenate([np.full(len(r.pairs), k) for k, r in enumerate(caps)]),
                    np.concatenate([r.pairs for r in caps]),
                ),
            ),
            shape=(len(caps), form.pairs),
        )

    def usage(self, chosen: np.ndarray, money: np.ndarray) -> np.ndarray:
        by_money = np.asarray(self.matrix @ money.astype(np.float64), dtype=np.float64)
        by_count = np.asarray(self.matrix @ chosen.astype(np.float64), dtype=np.float64)
        return np.where(self.money, by_money, by_count)

    def column(self, j: int, amount: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows of pair j and what it adds to each."""
        start, stop = self.matrix.indptr[j], self.matrix.indptr[j + 1]
        rows = self.matrix.indices[start:stop]
        return rows, np.where(self.money[rows], float(amount), 1.0)


def candidate_ranks(form: Formulation) -> np.ndarray:
    position = {i: r for r, i in enumerate(form.prepared.rank_order)}
    return np.array([position[c.index] for c in form.prepared.candidates], dtype=np.int64)


def raise_in_rank_order(
    form: Formulation, caps: Caps, witness: Solution, rank: np.ndarray
) -> Solution:
    """Grants at their lowest amounts, then each, in rank order, raised as far as every maximum
    allows, moving to another eligible pool when that pays it more. Where a minimum on money
    exists, the witness's amounts are the start instead (so the minimum keeps holding) and
    raises come on top. A move that would break a minimum (a pool quota) is not kept.

    The loop is sequential by nature (each raise uses room the next cannot), so it runs on plain
    Python numbers: per pair a handful of rows, where array calls would cost more than the work."""
    chosen = witness.chosen.copy()
    money_minimums = any(r.money and r.sense is Sense.AT_LEAST for r in form.rows)
    money = witness.money.copy() if money_minimums else np.where(chosen, form.lo, 0)
    used = np.rint(caps.usage(chosen, money)).astype(np.int64).tolist()
    room = _Room(form, caps, used)
    # Only grants below their largest can grow (a move could not pay a full grant more).
    growable = np.flatnonzero(chosen & (money < form.hi))
    pairs_by_rank = growable[np.argsort(rank[form.pair_candidate[growable]], kind="stable")]
    for j in pairs_by_rank.tolist():
        current = int(money[j])
        room.take_out(j, current)
        best_pair, best_amount = j, current
        for option in form.candidate_pairs[form.pair_candidate[j]].tolist():
            amount = room.largest_fit(option, current)
            if amount is not None and amount > best_amount:
                best_pair, best_amount = option, amount
        if best_pair != j:
            moved_chosen, moved_money = chosen.copy(), money.copy()
            moved_chosen[j], moved_money[j] = False, 0
            moved_chosen[best_pair], moved_money[best_pair] = True, best_amount
            if evaluate(form, Solution(moved_chosen, moved_money), None) is None:
                best_pair = j
                best_amount = room.largest_fit(j, current) or current
        if best_pair != j:
            chosen[j], money[j] = False, 0
            chosen[best_pair] = True
        money[best_pair] = best_amount
        room.put_in(best_pair, best_amount)
    return Solution(chosen, money.astype(np.int64))


class _Room:
    """What each maximum row has used, in plain integers, and the rows of each pair."""

    def __init__(self, form: Formulation, caps: Caps, used: list[int]) -> None:
        self.form = form
        self.caps = caps
        self.used = used
        self.rhs = [int(v) for v in caps.rhs.tolist()]
        self.money = caps.money.tolist()
        self._rows: dict[int, list[int]] = {}

    def rows(self, pair: int) -> list[int]:
        found = self._rows.get(pair)
        if found is None:
            start, stop = self.caps.matrix.indptr[pair], self.caps.matrix.indptr[pair + 1]
            found = self._rows[pair] = self.caps.matrix.indices[start:stop].tolist()
        return found

    def take_out(self, pair: int, amount: int) -> None:
        for k in self.rows(pair):
            self.used[k] -= amount if self.money[k] else 1

    def put_in(self, pair: int, amount: int) -> None:
        for k in self.rows(pair):
            self.used[k] += amount if self.money[k] else 1

    def largest_fit(self, pair: int, at_least: int) -> int | None:
        """The largest grant `pair` can pay, in whole units from lo, within every maximum it
        counts in; None when even `at_least` does not fit."""
        room = 2**62
        for k in self.rows(pair):
            if self.money[k]:
                room = min(room, self.rhs[k] - self.used[k])
            elif self.used[k] + 1 > self.rhs[k]:
                return None
        lo, hi = int(self.form.lo[pair]), int(self.form.hi[pair])
        if room < max(lo, at_least):
            return None
        if room >= hi:
            return hi
        return lo + (room - lo) // self.form.unit * self.form.unit
