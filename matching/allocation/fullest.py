"""TOTAL_SCORE's second stage: the chosen proposals funded as fully as the rules allow."""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize

from matching.allocation.amounts import Caps, candidate_ranks, raise_in_rank_order
from matching.allocation.formulation import Formulation
from matching.allocation.highs import is_whole, one_pool_each, read_run, solve_milp
from matching.allocation.model import Objective
from matching.allocation.pools import whole_pools
from matching.allocation.relax import Penalties, Program, build_program
from matching.allocation.solution import Solution, evaluate


def fund_most_fully(
    form: Formulation,
    penalties: Penalties | None,
    primary: Solution | None,
    value: int,
    deadline: float,
) -> Solution | None:
    """TOTAL_SCORE: the chosen proposals funded as fully as the rules allow. The set (and so
    the score) stays; amounts and pools move.

    First the grants are raised in rank order (amounts.raise_in_rank_order); that is the most
    money when it comes within a unit of the budget or of every grant in full, or reaches the
    LP's bound for this set. Otherwise the exact program decides, with the pool of a proposal
    that several pools admit relaxed to a split first and then assigned whole (as in
    solve_core)."""
    if form.problem.rules.objective is not Objective.TOTAL_SCORE or primary is None:
        return primary
    if not _money_can_grow(form, primary):
        return primary
    greedy = raise_in_rank_order(form, Caps(form), primary, candidate_ranks(form))
    greedy_ok = evaluate(form, greedy, penalties) == value
    if greedy_ok and _within_a_unit_of_everything(form, greedy):
        return greedy
    program = build_program(form, penalties)
    n = form.pairs
    funded = primary.funded_candidates(form)
    lower = program.lower.copy()
    upper = program.upper.copy()
    in_funded = funded[form.pair_candidate]
    upper[:n][~in_funded] = 0.0
    z_out = program.z_col[~in_funded]
    upper[z_out[z_out >= 0]] = 0.0
    multi = [int(c) for c in np.flatnonzero(funded) if len(form.candidate_pairs[c]) > 1]
    several = set(multi)
    single = [int(form.candidate_pairs[c][0]) for c in np.flatnonzero(funded) if c not in several]
    lower[single] = 1.0
    at_least_optimal = scipy.optimize.LinearConstraint(
        program.cost.reshape(1, -1), -np.inf, -value + 0.5
    )
    money = np.zeros(len(program.cost))
    money[:n] = -form.lo / form.unit
    money[program.z_col[program.z_col >= 0]] = -1.0
    extra = [at_least_optimal]
    if greedy_ok and _reaches_lp_bound(form, program, money, lower, upper, extra, greedy, deadline):
        return greedy
    integrality = np.ones(len(program.cost))
    if multi:
        extra.append(one_pool_each(form, program, multi))
        integrality[np.concatenate([form.candidate_pairs[c] for c in multi])] = 0.0
    x, status, bound = solve_milp(program, money, lower, upper, integrality, extra, deadline)
    if x is not None and multi and not is_whole(x[integrality == 0]):
        x = whole_pools(form, program, x, lower, upper, multi, money, extra, deadline)
        if x is None:  # no whole-pool assignment pays those amounts: the exact program
            x, status, bound = solve_milp(program, money, lower, upper, None, extra, deadline)
    run = read_run(form, program, x, status, bound, penalties)
    if run.solution is None or run.value != value:
        return primary
    if run.solution.money.sum() < primary.money.sum():
        return primary
    return run.solution


def _within_a_unit_of_everything(form: Formulation, greedy: Solution) -> bool:
    """Totals of one set differ by whole units: one unit more than the budget, or than every
    grant in full, cannot be paid, so a total that close is the most."""
    largest = np.zeros(len(form.candidate_pairs), dtype=np.int64)
    np.maximum.at(largest, form.pair_candidate, form.hi)
    in_full = int(largest[np.unique(form.pair_candidate[greedy.chosen])].sum())
    return int(greedy.money.sum()) + form.unit > min(form.prepared.available_fen, in_full)


def _reaches_lp_bound(
    form: Formulation,
    program: Program,
    money: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    extra: list[scipy.optimize.LinearConstraint],
    greedy: Solution,
    deadline: float,
) -> bool:
    """Whether the greedy total reaches the LP's bound on money for this set (pools split)."""
    x, _, _ = solve_milp(program, money, lower, upper, np.zeros(len(money)), extra, deadline)
    if x is None:
        return False
    base = int(form.lo[greedy.chosen].sum())
    units = math.floor((-float(money @ x) * form.unit - base) / form.unit + 1e-6)
    return int(greedy.money.sum()) >= base + form.unit * units


def _money_can_grow(form: Formulation, solution: Solution) -> bool:
    """False when every chosen grant is already at its largest amount."""
    return bool((solution.money[solution.chosen] < form.hi[solution.chosen]).any())
