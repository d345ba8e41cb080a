"""RANK_ORDER: never skip a higher-ranked fundable proposal for a lower-ranked one unless a rule
forces it. Exact and lexicographic: going down the ranking, each proposal is funded if and only
if some legal allocation funds it together with every proposal already decided in and none of
those decided out.

A witness (a legal allocation agreeing with every decision so far) answers most questions
without a solver: a proposal it funds is decided in at once; otherwise the witness's own
lower-ranked, undecided grants are dropped, lowest first, until the proposal fits, and if every
minimum still holds that is the new witness. Only when that fails does a MILP (HiGHS) decide,
with its answer as the next witness. Then the funded proposals get their full amounts in rank
order while the money lasts (each keeps the pool its witness gave it).
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.optimize
import scipy.sparse

from matching.allocation.formulation import Formulation, Sense, row_value
from matching.allocation.model import SolveStatus
from matching.allocation.optimise import Optimum, _milp, _run, evaluate, nothing_to_fund
from matching.allocation.relax import Program, build_program, relax
from matching.allocation.solution import Solution


def rank_order(form: Formulation, deadline: float) -> Optimum:
    """The lexicographically best funded set in rank order, then amounts in rank order."""
    if form.pairs == 0:
        return nothing_to_fund(form, None)
    money_minimums = any(r.money and r.sense is Sense.AT_LEAST for r in form.rows)
    program = build_program(form, None, amounts=money_minimums)
    relaxation = relax(form, program)
    empty = Optimum(SolveStatus.INFEASIBLE, None, 0, -math.inf, relaxation, 0, 0)
    if not relaxation.feasible:
        return empty
    rank = _candidate_ranks(form)
    order = np.argsort(rank, kind="stable")
    # First witness: any legal allocation, preferring higher ranks.
    weights = np.zeros(len(program.cost))
    weights[: form.pairs] = -(len(order) - rank[form.pair_candidate]).astype(np.float64)
    decided_in = form.approved.copy()
    decided_out = np.zeros(len(form.candidate_pairs), dtype=np.bool_)
    witness = _feasible(form, program, weights, decided_in, decided_out, deadline)
    if witness is None:
        status = (
            SolveStatus.INFEASIBLE if time.monotonic() < deadline else SolveStatus.NO_SOLUTION_FOUND
        )
        return Optimum(status, None, 0, -math.inf, relaxation, 0, 0)
    checks = 0
    for c in order:
        if decided_in[c]:
            continue
        if time.monotonic() >= deadline:
            break
        funded = _funded_candidates(form, witness)
        if funded[c]:
            decided_in[c] = True
            continue
        swapped = _swap_in(form, witness, int(c), rank, decided_in)
        if swapped is not None:
            witness = swapped
            decided_in[c] = True
            continue
        checks += 1
        trial_in = decided_in.copy()
        trial_in[c] = True
        found = _feasible(form, program, weights, trial_in, decided_out, deadline)
        if found is not None:
            witness = found
            decided_in[c] = True
        else:
            decided_out[c] = True
    complete = time.monotonic() < deadline
    final = _amounts_in_rank_order(form, witness, rank)
    value = evaluate(form, final, None)
    assert value is not None, "rank order produced an allocation that breaks a rule"
    status = SolveStatus.OPTIMAL if complete else SolveStatus.FEASIBLE
    return Optimum(status, final, value, value if complete else math.inf, relaxation, checks, 1)


def _candidate_ranks(form: Formulation) -> np.ndarray:
    position = {i: r for r, i in enumerate(form.prepared.rank_order)}
    return np.array([position[c.index] for c in form.prepared.candidates], dtype=np.int64)


def _funded_candidates(form: Formulation, solution: Solution) -> np.ndarray:
    funded = np.zeros(len(form.candidate_pairs), dtype=np.bool_)
    funded[form.pair_candidate[solution.chosen]] = True
    return funded


def _feasible(
    form: Formulation,
    program: Program,
    weights: np.ndarray,
    decided_in: np.ndarray,
    decided_out: np.ndarray,
    deadline: float,
) -> Solution | None:
    """A legal allocation funding every candidate decided in and none decided out (MILP)."""
    lower = program.lower.copy()
    upper = program.upper.copy()
    for c in np.flatnonzero(decided_out):
        upper[form.candidate_pairs[c]] = 0.0
    multi = []
    for c in np.flatnonzero(decided_in):
        pairs = form.candidate_pairs[c]
        if len(pairs) == 1:
            lower[pairs[0]] = 1.0
        elif not form.approved[c]:
            multi.append(int(c))
    extra = []
    if multi:
        rows = np.concatenate(
            [np.full(len(form.candidate_pairs[c]), k) for k, c in enumerate(multi)]
        )
        cols = np.concatenate([form.candidate_pairs[c] for c in multi])
        matrix = scipy.sparse.csr_array(
            (np.ones(len(cols)), (rows, cols)), shape=(len(multi), len(program.cost))
        )
        extra.append(scipy.optimize.LinearConstraint(matrix, 1.0, 1.0))
    x, status, bound = _milp(program, weights, lower, upper, None, extra, deadline)
    run = _run(form, program, x, status, bound, None)
    return run.solution


def _swap_in(
    form: Formulation, witness: Solution, c: int, rank: np.ndarray, decided_in: np.ndarray
) -> Solution | None:
    """The witness with candidate c added at its lowest amount, dropping the witness's own
    undecided grants from the lowest rank up until c fits; None if no such swap is legal."""
    chosen = witness.chosen.copy()
    money = witness.money.copy()
    funded = _funded_candidates(form, witness)
    droppable = [
        int(k)
        for k in np.argsort(-rank, kind="stable")
        if funded[k] and not decided_in[k] and rank[k] > rank[c]
    ]
    for pair in form.candidate_pairs[c]:
        trial_chosen = chosen.copy()
        trial_money = money.copy()
        trial_chosen[pair] = True
        trial_money[pair] = form.lo[pair]
        for k in [None, *droppable]:
            if k is not None:
                pairs = form.candidate_pairs[k]
                trial_chosen[pairs] = False
                trial_money[pairs] = 0
            if _caps_hold(form, trial_chosen, trial_money):
                trial = Solution(trial_chosen, trial_money)
                if evaluate(form, trial, None) is not None:
                    return trial
                break
    return None


def _caps_hold(form: Formulation, chosen: np.ndarray, money: np.ndarray) -> bool:
    return all(
        row_value(form, row, chosen, money) <= row.rhs
        for row in form.rows
        if row.sense is Sense.AT_MOST
    )


def _amounts_in_rank_order(form: Formulation, witness: Solution, rank: np.ndarray) -> Solution:
    """Grants at their lowest amounts, then each raised in rank order as far as every maximum
    allows. Where a minimum on money exists, the witness's amounts are the start instead (so
    the minimum keeps holding) and raises come on top."""
    chosen = witness.chosen.copy()
    money_minimums = any(r.money and r.sense is Sense.AT_LEAST for r in form.rows)
    money = witness.money.copy() if money_minimums else np.where(chosen, form.lo, 0)
    caps = [r for r in form.rows if r.money and r.sense is Sense.AT_MOST]
    room = np.array([r.rhs - int(money[r.pairs].sum()) for r in caps], dtype=np.int64)
    member = [set(r.pairs.tolist()) for r in caps]
    pairs_by_rank = sorted(
        np.flatnonzero(chosen).tolist(), key=lambda j: rank[form.pair_candidate[j]]
    )
    for j in pairs_by_rank:
        want = int(form.hi[j] - money[j])
        if want <= 0:
            continue
        rows = [k for k in range(len(caps)) if j in member[k]]
        space = min([want, *(int(room[k]) for k in rows)])
        add = space // form.unit * form.unit
        if add <= 0:
            continue
        money[j] += add
        for k in rows:
            room[k] -= add
    return Solution(chosen, money.astype(np.int64))
