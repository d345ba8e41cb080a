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
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse

from matching.allocation.amounts import Caps, candidate_ranks, raise_in_rank_order
from matching.allocation.formulation import Formulation, Sense
from matching.allocation.model import Objective, SolveStatus
from matching.allocation.native_output import stdout_to_stderr
from matching.allocation.relax import (
    FloatArray,
    Penalties,
    Program,
    Relaxation,
    build_program,
    relax,
)
from matching.allocation.solution import Solution, evaluate

TOLERANCE = 1e-6
FEASIBILITY = 1e-6
"""Largest distance from a whole number still read as that number in HiGHS' solutions."""
ANY_GAP = 1e9
"""mip_rel_gap that stops HiGHS at its first feasible solution (feasibility checks)."""
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
FILL_ATTEMPTS = 500
"""Candidates tried when filling the rounded LP solution with what still fits."""


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
    scale = form.objective_scale()
    return Penalties(max(1, round(given * scale)), max(1, round(given * scale)))


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
        if incumbent_gap <= narrow or _core_size(relaxation, incumbent_gap + margin) <= SMALL_CORE:
            gap = incumbent_gap
    gap = max(gap, 1.0)
    rounds = 0
    while True:
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
            final = _secondary(form, penalties, best, best_value, deadline)
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
    x, status, bound = _milp(program, cost, program.lower, program.upper, None, [], deadline)
    run = _run(form, program, x, status, bound, penalties)
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
    fixed_out = (relaxation.funded < TOLERANCE) & (relaxation.cost_in > slack) & ~form.approved
    fixed_in = (relaxation.funded > 1 - TOLERANCE) & (relaxation.cost_out > slack)
    return fixed_in, fixed_out


def _core_size(relaxation: Relaxation, slack: float) -> int:
    out = (relaxation.funded < TOLERANCE) & (relaxation.cost_in > slack)
    full = (relaxation.funded > 1 - TOLERANCE) & (relaxation.cost_out > slack)
    return int((~out & ~full).sum())


@dataclass(frozen=True, slots=True)
class _Run:
    solution: Solution | None
    value: int
    proven: bool
    """Optimal or infeasible within the given bounds."""
    bound: float


def solve_program(
    form: Formulation,
    program: Program,
    lower: np.ndarray,
    upper: np.ndarray,
    deadline: float,
    penalties: Penalties | None,
    cost: np.ndarray | None = None,
    extra: scipy.optimize.LinearConstraint | None = None,
) -> _Run:
    """HiGHS branch-and-cut on the program within `lower`/`upper` (the fixings)."""
    full_cost = program.cost if cost is None else cost
    blocks = [] if extra is None else [extra]
    x, status, bound = _milp(program, full_cost, lower, upper, None, blocks, deadline)
    return _run(form, program, x, status, bound, penalties)


def solve_core(
    form: Formulation,
    program: Program,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed_in: np.ndarray,
    deadline: float,
    penalties: Penalties | None,
) -> _Run:
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
    one_each = _one_pool_each(form, program, split)
    integrality = np.ones(len(program.cost))
    integrality[split_pairs] = 0.0
    x, status, bound = _milp(program, program.cost, lower, upper, integrality, [one_each], deadline)
    if x is None:
        return _run(form, program, x, status, bound, penalties)
    if _whole(x[split_pairs]):
        return _run(form, program, x, status, bound, penalties)
    relaxed_value = -float(program.cost @ x)
    x2 = _whole_pools(form, program, x, lower, upper, split, program.cost, [one_each], deadline)
    if x2 is not None:
        repaired = _run(form, program, x2, 0, bound, penalties)
        if repaired.solution is not None and repaired.value >= relaxed_value - TOLERANCE:
            return _Run(repaired.solution, repaired.value, status == 0, bound)
    return solve_program(form, program, lower, upper, deadline, penalties)


def _one_pool_each(
    form: Formulation, program: Program, candidates: list[int]
) -> scipy.optimize.LinearConstraint:
    rows = np.concatenate(
        [np.full(len(form.candidate_pairs[c]), k) for k, c in enumerate(candidates)]
    )
    cols = np.concatenate([form.candidate_pairs[c] for c in candidates])
    matrix = scipy.sparse.csr_array(
        (np.ones(len(cols)), (rows, cols)), shape=(len(candidates), len(program.cost))
    )
    return scipy.optimize.LinearConstraint(matrix, 1.0, 1.0)


def _milp(
    program: Program,
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    integrality: np.ndarray | None,
    extra: list[scipy.optimize.LinearConstraint],
    deadline: float,
    gap: float = 0.0,
) -> tuple[np.ndarray | None, int, float]:
    """HiGHS on the free columns: fixed columns move to the right-hand sides first, so the
    solver sees only the core. Returns (x or None, SciPy status, bound on the maximum)."""
    free = lower < upper
    fixed_values = np.where(free, 0.0, lower)
    constant = float(cost @ fixed_values)
    blocks: list[tuple[scipy.sparse.csr_array, FloatArray, FloatArray]] = [
        (program.a_ub, np.full(len(program.b_ub), -np.inf), program.b_ub)
    ]
    if program.a_eq is not None and program.b_eq is not None:
        blocks.append((program.a_eq, program.b_eq, program.b_eq))
    for constraint in extra:
        a = scipy.sparse.csr_array(constraint.A)
        lb = np.broadcast_to(np.asarray(constraint.lb, dtype=np.float64), (a.shape[0],))
        ub = np.broadcast_to(np.asarray(constraint.ub, dtype=np.float64), (a.shape[0],))
        blocks.append((a, lb, ub))
    constraints = []
    for matrix, lo_side, hi_side in blocks:
        shift = matrix @ fixed_values
        part = matrix[:, free]
        live = np.diff(part.tocsr().indptr) > 0
        lo_rows = np.broadcast_to(lo_side, shift.shape) - shift
        hi_rows = np.broadcast_to(hi_side, shift.shape) - shift
        dead_ok = (lo_rows[~live] <= FEASIBILITY) & (hi_rows[~live] >= -FEASIBILITY)
        if not dead_ok.all():
            return None, 2, -math.inf
        if live.any():
            constraints.append(
                scipy.optimize.LinearConstraint(part[live], lo_rows[live], hi_rows[live])
            )
    x = fixed_values.copy()
    if not free.any():
        return x, 0, -constant
    kinds = np.ones(int(free.sum())) if integrality is None else integrality[free]
    options: dict[str, float] = {
        "time_limit": max(deadline - time.monotonic(), 0.001),
        "mip_rel_gap": gap,
    }
    if np.all(cost[free] == np.round(cost[free])) and constant == round(constant):
        # Every allocation's objective is a whole number, so a gap below 1 already proves
        # optimality: HiGHS may stop there instead of closing the last fraction.
        options["mip_abs_gap"] = 1.0 - 1e-6
    with stdout_to_stderr(), warnings.catch_warnings():
        # SciPy warns that it passes mip_abs_gap to HiGHS verbatim, which is what we want.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = scipy.optimize.milp(
            cost[free],
            integrality=kinds,
            bounds=scipy.optimize.Bounds(lower[free], upper[free]),
            constraints=constraints,
            options=options,
        )
    dual = result.get("mip_dual_bound")
    bound = -(float(dual) + constant) if dual is not None else math.inf
    if result.x is None:
        return None, int(result.status), bound if result.status != 2 else -math.inf
    x[free] = result.x
    return x, int(result.status), bound


def _run(
    form: Formulation,
    program: Program,
    x: np.ndarray | None,
    status: int,
    bound: float,
    penalties: Penalties | None,
) -> _Run:
    proven = status in (0, 2)
    if x is None:
        return _Run(None, 0, proven, -math.inf if status == 2 else bound)
    solution = _decode(form, program, x)
    value = evaluate(form, solution, penalties)
    if value is None:
        return _Run(None, 0, False, bound)
    return _Run(solution, value, status == 0, bound)


def _decode(form: Formulation, program: Program, x: np.ndarray) -> Solution:
    n = form.pairs
    chosen = np.round(x[:n]) > 0.5
    steps = np.zeros(n, dtype=np.int64)
    ranged = program.z_col >= 0
    steps[ranged] = np.round(x[program.z_col[ranged]]).astype(np.int64)
    money = np.where(chosen, form.lo + steps * form.unit, 0).astype(np.int64)
    return Solution(chosen, money)


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


def _secondary(
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
    funded = np.zeros(len(form.candidate_pairs), dtype=np.bool_)
    funded[form.pair_candidate[primary.chosen]] = True
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
        extra.append(_one_pool_each(form, program, multi))
        integrality[np.concatenate([form.candidate_pairs[c] for c in multi])] = 0.0
    x, status, bound = _milp(program, money, lower, upper, integrality, extra, deadline)
    if x is not None and multi and not _whole(x[integrality == 0]):
        x = _whole_pools(form, program, x, lower, upper, multi, money, extra, deadline)
        if x is None:  # no whole-pool assignment pays those amounts: the exact program
            x, status, bound = _milp(program, money, lower, upper, None, extra, deadline)
    run = _run(form, program, x, status, bound, penalties)
    if run.solution is None or run.value != value:
        return primary
    if run.solution.money.sum() < primary.money.sum():
        return primary
    return run.solution


def _within_a_unit_of_everything(form: Formulation, greedy: Solution) -> bool:
    """Totals of one set differ by whole units: one unit more than the budget, or than every
    grant in full, cannot be paid, so a total that close is the most."""
    chosen = np.unique(form.pair_candidate[greedy.chosen])
    in_full = int(sum(form.hi[form.candidate_pairs[c]].max() for c in chosen))
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
    x, _, _ = _milp(program, money, lower, upper, np.zeros(len(money)), extra, deadline)
    if x is None:
        return False
    base = int(form.lo[greedy.chosen].sum())
    units = math.floor((-float(money @ x) * form.unit - base) / form.unit + 1e-6)
    return int(greedy.money.sum()) >= base + form.unit * units


def _whole(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) <= FEASIBILITY))


def _whole_pools(
    form: Formulation,
    program: Program,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    candidates: list[int],
    cost: np.ndarray,
    extra: list[scipy.optimize.LinearConstraint],
    deadline: float,
) -> np.ndarray | None:
    """A whole-pool assignment of the candidates the relaxed solution `x` splits between pools,
    paying each the same total amount, everything else as in `x`. Only the candidates actually
    split are reassigned first; if that fails, all of `candidates`. None: no such assignment."""
    split = [c for c in candidates if not _whole(x[form.candidate_pairs[c]])]
    for movable in (split, candidates):
        found = _reassign(form, program, x, lower, upper, movable, cost, extra, deadline)
        if found is not None or movable is candidates:
            return found
    return None


def _reassign(
    form: Formulation,
    program: Program,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    movable: list[int],
    cost: np.ndarray,
    extra: list[scipy.optimize.LinearConstraint],
    deadline: float,
) -> np.ndarray | None:
    fixed = np.round(x)
    lower2, upper2 = fixed.copy(), fixed.copy()
    rows: list[int] = []
    cols: list[int] = []
    totals: list[float] = []
    for c in movable:
        pairs = form.candidate_pairs[c]
        lower2[pairs], upper2[pairs] = lower[pairs], upper[pairs]
        z = program.z_col[pairs]
        z = z[z >= 0]
        if len(z):
            lower2[z], upper2[z] = lower[z], upper[z]
            rows += [len(totals)] * len(z)
            cols += z.tolist()
            totals.append(float(np.round(x[z].sum())))
    slack_start = program.pairs + int((program.z_col >= 0).sum())
    lower2[slack_start:], upper2[slack_start:] = lower[slack_start:], upper[slack_start:]
    constraints = [*extra]
    if totals:
        matrix = scipy.sparse.csr_array(
            (np.ones(len(cols)), (rows, cols)), shape=(len(totals), len(program.cost))
        )
        constraints.append(scipy.optimize.LinearConstraint(matrix, totals, totals))
    found, _, _ = _milp(program, cost, lower2, upper2, None, constraints, deadline)
    return found


def _money_can_grow(form: Formulation, solution: Solution) -> bool:
    """False when every chosen grant is already at its largest amount."""
    return bool((solution.money[solution.chosen] < form.hi[solution.chosen]).any())


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

    whole = relaxation.funded > 1 - TOLERANCE
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
