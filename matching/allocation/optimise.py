"""Exact optimisation of TOTAL_SCORE and SCORE_WEIGHTED_AMOUNT: LP bound, reduced-cost fixing,
and a small core solved exactly by HiGHS (through SciPy).

Why it is exact. Let z be the LP optimum and G >= 0. Every allocation worth at least z - G
keeps each candidate the LP leaves out whose cost to bring in exceeds G out, and each candidate
the LP funds whose cost to leave out exceeds G in (relax.py: the costs are LP duality bounds).
So the best allocation of the core (those fixings applied) is optimal overall as soon as it is
worth at least z - G. Otherwise nothing is worth more than max(best found, z - G), and the next
round widens G; once G reaches the best allocation found, that allocation is in the core and
the round ends. G starts narrow (half a score point, or a ten-millionth of z) unless the
rounded LP solution is close enough to give a small core at once.

Rounds of at most WHOLE_PROBLEM_CANDIDATES candidates skip all this: one exact solve, whose
objective for TOTAL_SCORE is score x BIG + money, i.e. the lexicographic order itself.

TOTAL_SCORE then funds the chosen proposals as fully as the rules allow (_secondary).
HiGHS runs serially and deterministically, so the same round gives the same answer.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse

from matching.allocation.formulation import Formulation, Sense
from matching.allocation.fullest import fund_most_fully
from matching.allocation.highs import Run, is_whole, one_pool_each, read_run, solve_milp
from matching.allocation.incumbent import rounded_incumbent
from matching.allocation.model import Objective
from matching.allocation.pools import whole_pools
from matching.allocation.relax import (
    WHOLE_TOLERANCE,
    Penalties,
    Program,
    Relaxation,
    build_program,
    relax,
)
from matching.allocation.solution import Solution, evaluate
from matching.status import SolveStatus
from scoring.cancel import checkpoint

TOLERANCE = 1e-6
LP_TOLERANCE = 1e-9
"""Relative accuracy trusted of HiGHS' LP optimum and reduced costs (its own tolerances are
1e-7 absolute on each dual; this is far wider than their sum would move a bound)."""
FIRST_GAP_FLOOR = 0.5
"""Score points: the first gap tried is at least half a point."""
FIRST_GAP_SHARE = 1e-7
"""...or this share of the LP bound, when larger."""
WIDEN = 4.0
"""Each further round multiplies the gap by this."""
SMALL_CORE = 150
"""Candidates: when the rounded LP solution leaves a core this small, one round does."""
WHOLE_PROBLEM_CANDIDATES = 40
"""Rounds this small are solved whole, in one exact solve (no fixing, no second stage)."""
EXACT_FLOAT = 2**50
"""Largest objective magnitude the one-solve lexicographic objective may reach (floating point
stays exact on whole numbers below 2**53; the margin covers HiGHS' own arithmetic)."""


@dataclass(frozen=True, slots=True)
class Optimum:
    status: SolveStatus
    solution: Solution | None
    value: int
    """Integer objective of the solution, penalties included."""
    bound: float
    """Proven upper bound on the integer objective (penalties included)."""
    relaxation: Relaxation
    core_size: int
    rounds: int


def penalties_for(form: Formulation) -> Penalties | None:
    """Soft mode: quota_penalty in integer objective units; 0 means dominating."""
    if not form.soft:
        return None
    given = form.problem.rules.quota_penalty
    if given == 0:
        dominating = form.most_value() + 1
        return Penalties(dominating, dominating)
    # A penalty at or above the dominating one ranks allocations exactly as the dominating one
    # does (fewest violations first), so larger ones are cut to it: beyond it they only lose
    # the objective's precision (1e13 gave a wrong answer) or overflow its integers.
    dominating = form.most_value() + 1
    penalty = min(max(1, round(given * form.objective_scale())), dominating)
    return Penalties(penalty, penalty)


def optimise(form: Formulation, deadline: float) -> Optimum:
    """The best allocation, proven, or the best found by the deadline with its bound."""
    penalties = penalties_for(form)
    # TOTAL_SCORE counts proposals, not money: with no minimum on money anywhere, every
    # allocation stays legal with its grants at their lowest amounts, so the search keeps them
    # there (fewer columns, a less degenerate LP); _secondary raises the amounts afterwards.
    lowest_amounts_suffice = not form.weighted and not any(
        r.money and r.sense is Sense.AT_LEAST for r in form.rows
    )
    if form.pairs == 0:
        return nothing_to_fund(form, penalties)
    small = len(form.candidate_pairs) <= WHOLE_PROBLEM_CANDIDATES
    # A small round is solved whole, amounts included, so its one program has them.
    program = build_program(form, penalties, amounts=small or not lowest_amounts_suffice)
    relaxation = relax(form, program)
    if not relaxation.feasible:
        return Optimum(SolveStatus.INFEASIBLE, None, 0, -math.inf, relaxation, 0, 0)
    if small:
        whole = _solve_whole(form, program, penalties, relaxation, deadline)
        if whole is not None:
            return whole
    margin = LP_TOLERANCE * max(1e3, abs(relaxation.value))
    top = math.floor(relaxation.value + margin)
    best = rounded_incumbent(form, relaxation, penalties)
    best_value = evaluate(form, best, penalties) if best is not None else None
    # One round suffices when the incumbent's gap leaves a small core (its allocation is then
    # in the core). Otherwise start narrow and widen: the LP bound is usually within a
    # ten-millionth of the optimum on large rounds while the incumbent is a proposal away.
    narrow = max(FIRST_GAP_FLOOR * 10.0**form.decimals, FIRST_GAP_SHARE * abs(top))
    gap = narrow
    if best_value is not None:
        incumbent_gap = float(top - best_value)
        if (
            incumbent_gap <= narrow
            or _core_size(form, relaxation, incumbent_gap + margin) <= SMALL_CORE
        ):
            gap = incumbent_gap
    gap = max(gap, 1.0)
    rounds = 0
    while True:
        checkpoint()
        rounds += 1
        slack = gap + margin
        fixed_in, fixed_out = _fixings(form, relaxation, slack)
        lower, upper = _fixed_bounds(form, program, fixed_in, fixed_out)
        core_size = int((~fixed_in & ~fixed_out).sum())
        run = solve_core(form, program, lower, upper, fixed_in, deadline, penalties)
        if run.solution is not None and (best_value is None or run.value > best_value):
            best, best_value = run.solution, run.value
        floor = top - gap
        everything_free = not fixed_in.any() and not fixed_out.any()
        if run.proven and best_value is not None and best_value >= floor - TOLERANCE:
            final = fund_most_fully(form, penalties, best, best_value, deadline)
            return Optimum(
                SolveStatus.OPTIMAL, final, best_value, best_value, relaxation, core_size, rounds
            )
        if run.proven and everything_free:
            status = SolveStatus.INFEASIBLE if best_value is None else SolveStatus.OPTIMAL
            value = best_value or 0
            bound = value if best_value is not None else -math.inf
            return Optimum(status, best, value, bound, relaxation, core_size, rounds)
        if not run.proven or time.monotonic() >= deadline:
            bound = min(float(top), max(floor, run.bound))
            if best is None or best_value is None:
                return Optimum(
                    SolveStatus.NO_SOLUTION_FOUND, None, 0, bound, relaxation, core_size, rounds
                )
            return Optimum(
                SolveStatus.FEASIBLE, best, best_value, bound, relaxation, core_size, rounds
            )
        # Proven for the core but below the floor: widen. Once the gap reaches the best
        # allocation found, that allocation is in the core, so the next round ends.
        gap = gap * WIDEN
        if best_value is not None:
            gap = min(gap, float(top - best_value))


def _solve_whole(
    form: Formulation,
    program: Program,
    penalties: Penalties | None,
    relaxation: Relaxation,
    deadline: float,
) -> Optimum | None:
    """A small round in one exact solve: for TOTAL_SCORE the objective is score x BIG + money
    (BIG above any money total), which is the lexicographic order itself. None when the
    numbers are too large for that to be exact in floating point (the staged search is used)."""
    cost = program.cost.copy()
    if form.problem.rules.objective is Objective.TOTAL_SCORE:
        big = form.prepared.available_fen // form.money_gcd + 1
        if (form.most_value() + 1) * big * 4 > EXACT_FLOAT:
            return None
        money = np.zeros(len(cost))
        money[: form.pairs] = form.lo / form.money_gcd
        money[program.z_col[program.z_col >= 0]] = form.unit / form.money_gcd
        cost = cost * big - money
    x, status, bound = solve_milp(program, cost, program.lower, program.upper, None, [], deadline)
    run = read_run(form, program, x, status, bound, penalties)
    if run.solution is None:
        if status == 2:
            return Optimum(SolveStatus.INFEASIBLE, None, 0, -math.inf, relaxation, 0, 1)
        return None  # out of time or numerically unsure: let the staged search say
    if not run.proven:
        return None
    size = len(form.candidate_pairs)
    return Optimum(SolveStatus.OPTIMAL, run.solution, run.value, run.value, relaxation, size, 1)


def nothing_to_fund(form: Formulation, penalties: Penalties | None) -> Optimum:
    """No candidate at all: the empty allocation, if the rules allow it."""
    empty = Solution(np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int64))
    value = evaluate(form, empty, penalties)
    nothing = np.zeros(0)
    relaxation = Relaxation(
        value is not None, float(value or 0), nothing, nothing, nothing, nothing
    )
    if value is None:
        return Optimum(SolveStatus.INFEASIBLE, None, 0, -math.inf, relaxation, 0, 0)
    return Optimum(SolveStatus.OPTIMAL, empty, value, value, relaxation, 0, 0)


def _fixings(
    form: Formulation, relaxation: Relaxation, slack: float
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates fixed in and out for allocations within `slack` of the LP bound."""
    out = (relaxation.funded < WHOLE_TOLERANCE) & (relaxation.cost_in > slack)
    fixed_in = (relaxation.funded > 1 - WHOLE_TOLERANCE) & (relaxation.cost_out > slack)
    return fixed_in, out & ~form.approved


def _core_size(form: Formulation, relaxation: Relaxation, slack: float) -> int:
    fixed_in, fixed_out = _fixings(form, relaxation, slack)
    return int((~fixed_in & ~fixed_out).sum())


def solve_program(
    form: Formulation,
    program: Program,
    lower: np.ndarray,
    upper: np.ndarray,
    deadline: float,
    penalties: Penalties | None,
    cost: np.ndarray | None = None,
    extra: scipy.optimize.LinearConstraint | None = None,
) -> Run:
    """HiGHS branch-and-cut on the program within `lower`/`upper` (the fixings)."""
    full_cost = program.cost if cost is None else cost
    blocks = [] if extra is None else [extra]
    x, status, bound = solve_milp(program, full_cost, lower, upper, None, blocks, deadline)
    return read_run(form, program, x, status, bound, penalties)


def solve_core(
    form: Formulation,
    program: Program,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed_in: np.ndarray,
    deadline: float,
    penalties: Penalties | None,
) -> Run:
    """The core, with the pool of each candidate fixed in left continuous first.

    Candidates fixed in that several pools admit make the core large and symmetric (which pool
    pays is a binary choice per candidate that changes nothing else). Relaxing that choice to
    a split gives an upper bound; when a whole-pool assignment of the relaxed optimum exists
    (found by a small search over those choices alone) with the same value, it is optimal.
    Otherwise the exact core is solved."""
    split = [
        int(c)
        for c in np.flatnonzero(fixed_in)
        if len(form.candidate_pairs[c]) > 1 and (program.z_col[form.candidate_pairs[c]] < 0).all()
    ]
    if not split:
        return solve_program(form, program, lower, upper, deadline, penalties)
    split_pairs = np.concatenate([form.candidate_pairs[c] for c in split])
    one_each = one_pool_each(form, program, split)
    integrality = np.ones(len(program.cost))
    integrality[split_pairs] = 0.0
    x, status, bound = solve_milp(
        program, program.cost, lower, upper, integrality, [one_each], deadline
    )
    if x is None:
        return read_run(form, program, x, status, bound, penalties)
    if is_whole(x[split_pairs]):
        return read_run(form, program, x, status, bound, penalties)
    relaxed_value = -float(program.cost @ x)
    x2 = whole_pools(form, program, x, lower, upper, split, program.cost, [one_each], deadline)
    if x2 is not None:
        repaired = read_run(form, program, x2, 0, bound, penalties)
        if repaired.solution is not None and repaired.value >= relaxed_value - TOLERANCE:
            return Run(repaired.solution, repaired.value, status == 0, bound)
    return solve_program(form, program, lower, upper, deadline, penalties)


def _fixed_bounds(
    form: Formulation, program: Program, fixed_in: np.ndarray, fixed_out: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Column bounds with the fixings applied (a candidate fixed in with several pools keeps
    its pool choice, so only single-pool candidates get y = 1)."""
    lower = program.lower.copy()
    upper = program.upper.copy()
    for c in np.flatnonzero(fixed_out):
        pairs = form.candidate_pairs[c]
        upper[pairs] = 0.0
        z = program.z_col[pairs]
        upper[z[z >= 0]] = 0.0
    for c in np.flatnonzero(fixed_in):
        pairs = form.candidate_pairs[c]
        if len(pairs) == 1:
            lower[pairs[0]] = 1.0
    return lower, upper
