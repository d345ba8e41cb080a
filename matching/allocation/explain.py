"""Why each passing proposal was left out, and how far each decision is from flipping.

Reasons, checked in this order against the final allocation (the first that applies is given):
1. ORGANIZATION_LIMIT: its organization already has max_grants_per_organization grants.
2. DOMAIN_MAXIMUM / REGION_MAXIMUM / TIER_MAXIMUM: a maximum quota (count or money) on its
   domain, region or tier has no room for it; a full maximum on every pool that admits it is
   POOL_EXHAUSTED naming that quota.
3. DISPLACED_BY_QUOTA: a lower-ranked proposal outside one of its quotas was funded because a
   minimum quota (or region coverage) needs it, naming that rule.
4. POOL_EXHAUSTED: no pool that admits it has its lowest amount left.
5. BUDGET_EXHAUSTED: otherwise: the money it needs is gone, or buys more of the objective
   elsewhere (the message says which).

Margins (objective TOTAL_SCORE and SCORE_WEIGHTED_AMOUNT) come from the LP's fixing costs: with
opt the optimum and z the LP bound, forcing a decision to flip loses at least cost - (z - opt)
of the objective, so the score must move at least that much (per grant, or per 万元 granted) to
flip it. They are proven lower bounds (exact = False), except locked decisions (infinite, exact).
A score that moves across a band edge also changes the grant; margins hold the grant fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from matching.allocation.bounds import yuan
from matching.allocation.formulation import Formulation, Row, Sense
from matching.allocation.model import DecisionMargin, Dimension, Unfunded, UnfundedReason
from matching.allocation.optimise import Optimum
from matching.allocation.relax import WHOLE_TOLERANCE
from matching.allocation.solution import Solution

MAXIMUM_REASON = {
    Dimension.DOMAIN: UnfundedReason.DOMAIN_MAXIMUM,
    Dimension.REGION: UnfundedReason.REGION_MAXIMUM,
    Dimension.TIER: UnfundedReason.TIER_MAXIMUM,
    Dimension.POOL: UnfundedReason.POOL_EXHAUSTED,
}


def reasons(form: Formulation, solution: Solution) -> dict[int, Unfunded]:
    """Reasons of every candidate the allocation leaves out, by proposal index."""
    is_money = np.array([r.money for r in form.rows], dtype=np.bool_)
    by_money = form.membership @ solution.money.astype(np.float64)
    by_count = form.membership @ solution.chosen.astype(np.float64)
    lhs = np.rint(np.where(is_money, by_money, by_count)).astype(np.int64).tolist()
    rows_of = _RowsOf(form)
    funded = solution.funded_candidates(form)
    position = {i: r for r, i in enumerate(form.prepared.rank_order)}
    rank = np.array([position[c.index] for c in form.prepared.candidates])
    displacing = _displacing(form, solution, lhs, rank)
    found: dict[int, Unfunded] = {}
    for c in np.flatnonzero(~funded).tolist():
        candidate = form.prepared.candidates[c]
        proposal = form.problem.proposals[candidate.index]
        pairs = form.candidate_pairs[c].tolist()
        reason = (
            _organization(form, c, pairs, lhs, rows_of)
            or _maximum(form, pairs, lhs, rows_of)
            or _displaced(form, solution, c, pairs, rank, displacing)
            or _pools(form, c, pairs, lhs, rows_of)
            or _budget(form, c, solution)
        )
        found[candidate.index] = Unfunded(proposal.proposal_id, *reason)
    return found


Reason = tuple[UnfundedReason, str, str]


class _RowsOf:
    """The rows each pair counts in, ascending, from the formulation's membership matrix."""

    def __init__(self, form: Formulation) -> None:
        self.matrix = form.membership.tocsc()
        self.matrix.sort_indices()

    def of(self, j: int) -> list[int]:
        start, stop = self.matrix.indptr[j], self.matrix.indptr[j + 1]
        return list(self.matrix.indices[start:stop].tolist())


def _blocks(row: Row, used: int, need: int) -> bool:
    """An AT_MOST row has no room for one more grant of `need` fen."""
    return used + (need if row.money else 1) > row.rhs


def _organization(
    form: Formulation, c: int, pairs: list[int], lhs: list[int], rows_of: _RowsOf
) -> Reason | None:
    for k in rows_of.of(pairs[0]):
        row = form.rows[k]
        if row.rule == "rules.max_grants_per_organization" and lhs[k] >= row.rhs:
            org = form.problem.proposals[form.prepared.candidates[c].index].organization_id
            return (
                UnfundedReason.ORGANIZATION_LIMIT,
                row.rule,
                f'organization "{org}" already has {row.rhs} grant(s), the most allowed',
            )
    return None


def _maximum(
    form: Formulation, pairs: list[int], lhs: list[int], rows_of: _RowsOf
) -> Reason | None:
    """A maximum quota that blocks every pair of the candidate."""
    quotas = form.problem.rules.quotas
    per_pair: list[list[int]] = []
    for j in pairs:
        per_pair.append(
            [
                k
                for k in rows_of.of(j)
                if form.rows[k].rule.startswith("rules.quotas[")
                and form.rows[k].sense is Sense.AT_MOST
                and _blocks(form.rows[k], lhs[k], int(form.lo[j]))
            ]
        )
    if not all(per_pair):
        return None
    k = per_pair[0][0]
    row = form.rows[k]
    quota = quotas[int(row.rule[len("rules.quotas[") : -1])]
    return (
        MAXIMUM_REASON[quota.dimension],
        row.rule,
        f"the maximum of {row.text} is reached (it has {_amount(row, lhs[k])})",
    )


def _amount(row: Row, value: int) -> str:
    return yuan(value) if row.money else f"{value} grant(s)"


@dataclass(frozen=True, slots=True)
class _Needed:
    """A funded pair that a minimum quota (or coverage) needs: dropping it breaks `row`."""

    rank: int
    pair: int
    row: int


def _displacing(
    form: Formulation,
    solution: Solution,
    lhs: list[int],
    rank: np.ndarray,
) -> list[_Needed]:
    """Funded pairs a minimum quota or coverage needs, lowest ranked first."""
    found: list[_Needed] = []
    for k, row in enumerate(form.rows):
        if row.sense is not Sense.AT_LEAST or not row.soft:
            continue
        members = row.pairs[solution.chosen[row.pairs]]
        drop = solution.money[members] if row.money else np.ones(len(members), dtype=np.int64)
        for j in members[lhs[k] - drop < row.rhs].tolist():
            found.append(_Needed(int(rank[form.pair_candidate[j]]), j, k))
    return sorted(found, key=lambda n: (-n.rank, n.row))


def _displaced(
    form: Formulation,
    solution: Solution,
    c: int,
    pairs: list[int],
    rank: np.ndarray,
    needed: list[_Needed],
) -> Reason | None:
    """Displaced: a lower-ranked proposal outside one of c's quotas is funded because a minimum
    needs it, and its grant (with what is left) would pay for c's lowest amount."""
    left = form.prepared.available_fen - int(solution.money.sum())
    members = set(pairs)
    need = int(form.lo[pairs[0]])
    for n in needed:
        row = form.rows[n.row]
        if n.rank <= rank[c] or members & set(row.pairs.tolist()):
            continue
        if left + int(solution.money[n.pair]) < need:
            continue
        other = form.problem.proposals[form.prepared.candidates[form.pair_candidate[n.pair]].index]
        return (
            UnfundedReason.DISPLACED_BY_QUOTA,
            row.rule,
            f'lower-ranked "{other.proposal_id}" (score {other.score:g}) is funded instead to meet '
            f"{row.text}; its grant would have paid for this one",
        )
    return None


def _pools(
    form: Formulation, c: int, pairs: list[int], lhs: list[int], rows_of: _RowsOf
) -> Reason | None:
    blocked: list[tuple[int, int]] = []
    for j in pairs:
        pool_rows = [k for k in rows_of.of(j) if form.rows[k].rule.startswith("rules.pools[")]
        hit = [k for k in pool_rows if _blocks(form.rows[k], lhs[k], int(form.lo[j]))]
        if not hit or not form.problem.rules.pools:
            return None
        blocked.append((j, hit[0]))
    j, k = blocked[0]
    row = form.rows[k]
    left = ", ".join(yuan(form.rows[h].rhs - lhs[h]) for _, h in blocked)
    return (
        UnfundedReason.POOL_EXHAUSTED,
        row.rule,
        f"its eligible pool(s) have {left} left; it needs at least {yuan(int(form.lo[j]))}",
    )


def _budget(form: Formulation, c: int, solution: Solution) -> Reason:
    left = form.prepared.available_fen - int(solution.money.sum())
    need = int(form.lo[form.candidate_pairs[c][0]])
    if left < need:
        message = f"only {yuan(left)} of the budget is left; it needs at least {yuan(need)}"
    else:
        message = (
            f"the {yuan(need)} it needs buys more of the objective elsewhere: no legal allocation "
            "that funds it is worth as much as this one"
        )
    return (UnfundedReason.BUDGET_EXHAUSTED, "rules.total_budget_fen", message)


def margins(form: Formulation, optimum: Optimum) -> tuple[DecisionMargin, ...]:
    """Margins of every candidate, in request order (see the module docstring)."""
    solution = optimum.solution
    relaxation = optimum.relaxation
    if solution is None or not relaxation.feasible or not form.pairs:
        return ()
    starts = np.array([p[0] for p in form.candidate_pairs], dtype=np.int64)
    funded = solution.funded_candidates(form)
    full = relaxation.funded > 1 - WHOLE_TOLERANCE
    out = relaxation.funded < WHOLE_TOLERANCE
    cost = np.where(funded, np.where(full, relaxation.cost_out, 0.0), 0.0)
    cost = np.where(~funded & out, relaxation.cost_in, cost)
    loss = np.maximum(float(optimum.value) - relaxation.value + cost, 0.0)
    per_point = 10.0**form.decimals
    if form.weighted:
        granted = np.where(
            funded,
            np.add.reduceat(solution.money, starts),
            np.maximum.reduceat(form.hi, starts),
        ).astype(np.float64)
        with np.errstate(divide="ignore"):
            points = np.where(granted > 0, loss * form.money_gcd / (per_point * granted), math.inf)
    else:
        points = loss / per_point
    scores = np.array(
        [form.problem.proposals[c.index].score or 0.0 for c in form.prepared.candidates]
    )
    floor = _score_floor(form)
    if floor is not None:
        points = np.where(funded, np.minimum(points, np.maximum(scores - floor, 0.0)), points)
    points = np.floor(points * 1e6) / 1e6
    found: list[DecisionMargin] = []
    for c, candidate in enumerate(form.prepared.candidates):
        proposal_id = form.problem.proposals[candidate.index].proposal_id
        if candidate.approved:
            found.append(DecisionMargin(proposal_id, True, math.inf, True))
        else:
            found.append(DecisionMargin(proposal_id, bool(funded[c]), float(points[c]), False))
    return tuple(found)


def _score_floor(form: Formulation) -> float | None:
    """The lowest score that can still be funded: the pass line or the lowest band."""
    rules = form.problem.rules
    lowest_band = min((b.min_score for b in rules.score_bands), default=None)
    floors = [v for v in (rules.pass_line, lowest_band) if v is not None]
    return max(floors) if floors else None
