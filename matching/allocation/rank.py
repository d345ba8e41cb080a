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

from matching.allocation.amounts import Caps, candidate_ranks, raise_in_rank_order
from matching.allocation.formulation import Formulation, Row, Sense
from matching.allocation.highs import ANY_GAP, read_run, solve_milp
from matching.allocation.incumbent import rounded_incumbent
from matching.allocation.model import Quota
from matching.allocation.optimise import Optimum, nothing_to_fund
from matching.allocation.relax import Program, build_program, relax
from matching.allocation.solution import Solution, evaluate
from matching.status import SolveStatus
from scoring.cancel import checkpoint

CHECK_SHARE_OF_TIME_LEFT = 0.5


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
    rank = candidate_ranks(form)
    order = np.argsort(rank, kind="stable")
    # First witness: any legal allocation, preferring higher ranks.
    weights = np.zeros(len(program.cost))
    weights[: form.pairs] = -(len(order) - rank[form.pair_candidate]).astype(np.float64)
    decided_in = form.approved.copy()
    decided_out = np.zeros(len(form.candidate_pairs), dtype=np.bool_)
    # The LP's rounded allocation usually is one (cheap); otherwise HiGHS finds one.
    witness = rounded_incumbent(form, relaxation, None)
    if witness is None:
        witness = _feasible(form, program, weights, decided_in, decided_out, deadline)
    if witness is None:
        status = (
            SolveStatus.INFEASIBLE if time.monotonic() < deadline else SolveStatus.NO_SOLUTION_FOUND
        )
        return Optimum(status, None, 0, -math.inf, relaxation, 0, 0)
    necessary = _Necessary(form)
    caps = Caps(form)
    checks = 0
    longest_check_s = 0.0
    complete = True
    funded = witness.funded_candidates(form)
    for c in order:
        if decided_in[c]:
            continue
        checkpoint()
        if time.monotonic() >= deadline:
            complete = False
            break
        if funded[c]:
            decided_in[c] = True
            continue
        swapped = _swap_in(form, caps, witness, int(c), rank, decided_in)
        if swapped is not None:
            witness = swapped
            funded = witness.funded_candidates(form)
            decided_in[c] = True
            continue
        if necessary.excludes(int(c), decided_in, decided_out):
            decided_out[c] = True
            continue
        # A check that cannot finish in the time left decides nothing (HiGHS also overruns
        # its limit by a fraction of a second on a large round), so stop before it instead.
        started = time.monotonic()
        if deadline - started < longest_check_s:
            complete = False
            break
        checks += 1
        trial_in = decided_in.copy()
        trial_in[c] = True
        found = _feasible(form, program, weights, trial_in, decided_out, deadline)
        longest_check_s = max(longest_check_s, time.monotonic() - started)
        if found is not None:
            witness = found
            funded = witness.funded_candidates(form)
            decided_in[c] = True
        else:
            decided_out[c] = True
    complete = complete and time.monotonic() < deadline
    final = raise_in_rank_order(form, caps, witness, rank)
    value = evaluate(form, final, None)
    assert value is not None, "rank order produced an allocation that breaks a rule"
    status = SolveStatus.OPTIMAL if complete else SolveStatus.FEASIBLE
    return Optimum(
        status, final, value, value if complete else relaxation.value, relaxation, checks, 1
    )


class _Necessary:
    """Cheap proofs that a candidate cannot join those decided in: its organization or a
    maximum is full, or the money of those decided in, plus the cheapest grants the unmet
    minimums still need, exceeds the budget. Rows that depend on the pool chosen are skipped."""

    def __init__(self, form: Formulation) -> None:
        self.available = form.prepared.available_fen
        self.lo = np.array([int(form.lo[p].min()) for p in form.candidate_pairs], dtype=np.int64)
        quotas = form.problem.rules.quotas
        self.rows: list[tuple[Row, np.ndarray, str, str]] = []
        for row in form.rows:
            family, key = _family(row, quotas)
            if family == "pool":
                continue
            members = np.unique(form.pair_candidate[row.pairs])
            self.rows.append((row, members, family, key))

    def excludes(self, c: int, decided_in: np.ndarray, decided_out: np.ndarray) -> bool:
        inside = decided_in.copy()
        inside[c] = True
        used = int(self.lo[inside].sum())
        if used > self.available:
            return True
        reserve: dict[str, dict[str, int]] = {}
        for row, members, family, key in self.rows:
            count = int(inside[members].sum())
            if row.sense is Sense.AT_MOST:
                amount = int(self.lo[members][inside[members]].sum()) if row.money else count
                if amount > row.rhs:
                    return True
                continue
            if row.money:
                continue
            deficit = row.rhs - count
            if deficit <= 0:
                continue
            spare = members[~inside[members] & ~decided_out[members]]
            if len(spare) < deficit:
                return True
            cost = int(np.sort(self.lo[spare])[:deficit].sum())
            by_key = reserve.setdefault(family, {})
            by_key[key] = max(by_key.get(key, 0), cost)
        needed = max((sum(v.values()) for v in reserve.values()), default=0)
        return used + needed > self.available


def _family(row: Row, quotas: tuple[Quota, ...]) -> tuple[str, str]:
    """Rows of one family with different keys count disjoint sets of candidates."""
    if row.rule.startswith("rules.pools["):
        return "pool", row.rule
    if row.rule.startswith("rules.quotas["):
        quota = quotas[int(row.rule[len("rules.quotas[") : -1])]
        return quota.dimension.value, quota.key
    if row.rule.startswith("rules.require_region_coverage["):
        return "coverage", row.rule
    return row.rule, row.text


def _feasible(
    form: Formulation,
    program: Program,
    weights: np.ndarray,
    decided_in: np.ndarray,
    decided_out: np.ndarray,
    deadline: float,
) -> Solution | None:
    """A legal allocation funding every candidate decided in and none decided out (MILP)."""
    # HiGHS checks its time limit only now and then: on a large round one check has overrun a
    # limit of 3 s by 2 s. Each check gets half the time left, so an overrun still ends before
    # the deadline (a check that runs out of time decides nothing either way).
    now = time.monotonic()
    deadline = min(deadline, now + (deadline - now) * CHECK_SHARE_OF_TIME_LEFT)
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
    # The LP first: when it has no solution neither has the MILP, and that is most rejections.
    continuous = np.zeros(len(program.cost))
    x, status, bound = solve_milp(program, weights, lower, upper, continuous, extra, deadline)
    if x is None:
        return None
    if np.all(np.abs(x - np.round(x)) <= 1e-9):
        found = read_run(form, program, x, status, bound, None).solution
        if found is not None:
            return found
    x, status, bound = solve_milp(
        program, weights, lower, upper, None, extra, deadline, gap=ANY_GAP
    )
    run = read_run(form, program, x, status, bound, None)
    return run.solution


def _swap_in(
    form: Formulation,
    caps: Caps,
    witness: Solution,
    c: int,
    rank: np.ndarray,
    decided_in: np.ndarray,
) -> Solution | None:
    """The witness with candidate c added at its lowest amount, dropping the witness's own
    undecided grants from the lowest rank up until c fits; None if no such swap is legal."""
    funded = witness.funded_candidates(form)
    droppable = np.flatnonzero(funded & ~decided_in & (rank > rank[c]))
    droppable = droppable[np.argsort(-rank[droppable], kind="stable")]
    base = caps.usage(witness.chosen, witness.money)
    for pair in form.candidate_pairs[c].tolist():
        chosen = witness.chosen.copy()
        money = witness.money.copy()
        chosen[pair] = True
        money[pair] = form.lo[pair]
        used = base.copy()
        rows, add = caps.column(pair, int(form.lo[pair]))
        used[rows] += add
        for k in [None, *droppable.tolist()]:
            if k is not None:
                for j in form.candidate_pairs[k].tolist():
                    if chosen[j]:
                        rows, add = caps.column(j, int(money[j]))
                        used[rows] -= add
                        chosen[j] = False
                        money[j] = 0
            if np.all(used <= caps.rhs):
                trial = Solution(chosen, money)
                if evaluate(form, trial, None) is not None:
                    return trial
                break
    return None
