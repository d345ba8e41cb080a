"""The allocation as one linear model over (candidate, pool) pairs, built once from arrays.

Every exact method reads this: the LP and MILP programs (relax.py, optimise.py), the rank-order
search (rank.py) and the conflict finder's CP-SAT model (conflicts.py). A pair j pays candidate
`pair_candidate[j]` from pool `pair_pool[j]`; at most one pair of a candidate is chosen (exactly
one for a locked approval). Chosen, its grant is lo[j] plus a whole number of grant units up to
hi[j]; not chosen, 0.

Rules become `Row`s: a count of chosen pairs or a sum of their money, at least or at most a
right-hand side, named by the field path of the rule behind it (for reasons and conflicts).
Quotas and region coverage are `soft` rows: penalised targets in QUOTA_MODE_SOFT.

Scores are integers in the solvers: score × 10^decimals, with the fewest decimals (at most
MAX_DECIMALS) that represent every score exactly. Published scores carry two decimals, so the
integer objective is the exact one; finer scores are rounded (reported, with the bound widened
by the largest possible rounding error).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt
import scipy.sparse

from matching.allocation.bounds import Prepared, yuan
from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    Dimension,
    Objective,
    QuotaMode,
)

MAX_DECIMALS = 6
MILLION = 1_000_000
"""Fen in 1万 yuan: SCORE_WEIGHTED_AMOUNT counts money in 万元, soft amount quotas per 1万."""

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Sense(Enum):
    AT_LEAST = ">="
    AT_MOST = "<="


@dataclass(frozen=True, slots=True)
class Row:
    """sum over `pairs` of (1 if counting else the grant in fen) `sense` `rhs`."""

    pairs: IntArray
    money: bool
    sense: Sense
    rhs: int
    rule: str
    soft: bool
    text: str
    """The rule in words, for conflicts: 'at least 3 grants in domain 助老'."""


@dataclass(frozen=True, slots=True)
class Formulation:
    problem: AllocationProblem
    prepared: Prepared
    pair_candidate: IntArray
    """Index into prepared.candidates."""
    pair_pool: IntArray
    lo: IntArray
    hi: IntArray
    unit: int
    money_gcd: int
    """gcd of the unit and every pair's lo: CP-SAT counts money in these."""
    score: IntArray
    """Integer scores (score × 10^decimals) per pair."""
    decimals: int
    scores_exact: bool
    candidate_pairs: tuple[IntArray, ...]
    approved: BoolArray
    """Per candidate."""
    rows: tuple[Row, ...]
    membership: scipy.sparse.csr_array
    """rows x pairs, 1 where the pair counts in the row: every solver's matrices start here."""

    @property
    def pairs(self) -> int:
        return len(self.lo)

    @property
    def weighted(self) -> bool:
        return self.problem.rules.objective is Objective.SCORE_WEIGHTED_AMOUNT

    @property
    def soft(self) -> bool:
        return self.problem.rules.quota_mode is QuotaMode.SOFT

    def steps(self) -> IntArray:
        """Grant units each pair may add above lo."""
        return (self.hi - self.lo) // self.unit

    def objective_scale(self) -> float:
        """Integer objective units per API objective unit."""
        scale = 10.0**self.decimals
        return scale * MILLION / self.money_gcd if self.weighted else scale

    def pair_value(self) -> tuple[IntArray, IntArray]:
        """Integer objective of a pair: (per chosen pair, per grant unit above lo)."""
        if not self.weighted:
            return self.score, np.zeros_like(self.score)
        return self.score * (self.lo // self.money_gcd), self.score * (self.unit // self.money_gcd)

    def most_value(self) -> int:
        """An upper bound on the integer objective: every positive pair at its largest grant."""
        per_pair, per_unit = self.pair_value()
        best = np.maximum(per_pair + per_unit * self.steps(), 0)
        per_candidate = np.zeros(len(self.candidate_pairs), dtype=best.dtype)
        np.maximum.at(per_candidate, self.pair_candidate, best)
        return sum(per_candidate.tolist())  # Python integers: the total cannot overflow


def formulate(problem: AllocationProblem, prepared: Prepared) -> Formulation:
    """Pairs and rows of a validated, prepared problem."""
    unit = problem.rules.grant_unit_fen
    candidate_of: list[int] = []
    pool_of: list[int] = []
    lo: list[int] = []
    hi: list[int] = []
    raw_scores: list[float] = []
    candidate_pairs: list[IntArray] = []
    for c_index, c in enumerate(prepared.candidates):
        start = len(lo)
        for p in c.pools:
            candidate_of.append(c_index)
            pool_of.append(p)
            lo.append(c.lower_fen)
            hi.append(c.upper_fen)
            raw_scores.append(problem.proposals[c.index].score or 0.0)
        candidate_pairs.append(np.arange(start, len(lo), dtype=np.int64))
    lo_a = np.array(lo, dtype=np.int64)
    gcd = math.gcd(unit, *(int(v) for v in np.unique(lo_a))) if len(lo_a) else unit
    decimals, exact = _decimals(raw_scores)
    form = Formulation(
        problem=problem,
        prepared=prepared,
        pair_candidate=np.array(candidate_of, dtype=np.int64),
        pair_pool=np.array(pool_of, dtype=np.int64),
        lo=lo_a,
        hi=np.array(hi, dtype=np.int64),
        unit=unit,
        money_gcd=gcd,
        score=np.round(np.array(raw_scores, dtype=np.float64) * 10.0**decimals).astype(np.int64),
        decimals=decimals,
        scores_exact=exact,
        candidate_pairs=tuple(candidate_pairs),
        approved=np.array([c.approved for c in prepared.candidates], dtype=np.bool_),
        rows=(),
        membership=scipy.sparse.csr_array((0, len(lo))),
    )
    return _with_rows(form)


def _decimals(scores: list[float]) -> tuple[int, bool]:
    """The fewest decimals that make every score an integer (within float noise)."""
    values = np.array(scores, dtype=np.float64)
    for d in range(MAX_DECIMALS + 1):
        scaled = values * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return d, True
    return MAX_DECIMALS, False


def _with_rows(form: Formulation) -> Formulation:
    problem, prepared = form.problem, form.prepared
    rules = problem.rules
    proposals = [problem.proposals[prepared.candidates[c].index] for c in form.pair_candidate]
    all_pairs = np.arange(form.pairs, dtype=np.int64)
    rows: list[Row] = [
        Row(
            all_pairs,
            True,
            Sense.AT_MOST,
            prepared.available_fen,
            "rules.total_budget_fen",
            False,
            f"the budget after the reserve: at most {yuan(prepared.available_fen)}",
        )
    ]
    for p, pool in enumerate(prepared.pools):
        if pool.amount_fen < prepared.available_fen or len(prepared.pools) > 1:
            members = np.flatnonzero(form.pair_pool == p)
            name = f'pool "{pool.pool_id}"' if pool.pool_id else "the budget"
            rows.append(
                Row(
                    members,
                    True,
                    Sense.AT_MOST,
                    pool.amount_fen,
                    pool.rule,
                    False,
                    f"{name} holds {yuan(pool.amount_fen)}",
                )
            )
    rows += _organization_rows(form, proposals)
    attribute = {
        Dimension.DOMAIN: np.array([p.domain for p in proposals], dtype=object),
        Dimension.REGION: np.array([p.region for p in proposals], dtype=object),
        Dimension.TIER: np.array([p.tier for p in proposals], dtype=object),
        Dimension.POOL: np.array([prepared.pools[p].pool_id for p in form.pair_pool], dtype=object),
    }
    for k, quota in enumerate(rules.quotas):
        members = np.flatnonzero(attribute[quota.dimension] == quota.key)
        rule = f"rules.quotas[{k}]"
        where = f"{quota.dimension.value} {quota.key}"
        limits = (
            (False, Sense.AT_LEAST, quota.min_count, f"at least {quota.min_count} grant(s)"),
            (False, Sense.AT_MOST, quota.max_count, f"at most {quota.max_count} grant(s)"),
            (True, Sense.AT_LEAST, quota.min_amount_fen, f"at least {yuan(quota.min_amount_fen)}"),
            (
                True,
                Sense.AT_MOST,
                quota.max_amount_fen,
                f"at most {yuan(quota.max_amount_fen or 0)}",
            ),
        )
        for money, sense, rhs, text in limits:
            if rhs is None or (sense is Sense.AT_LEAST and rhs == 0):
                continue
            rows.append(Row(members, money, sense, rhs, rule, True, f"{text} in {where}"))
    if rules.require_region_coverage:
        regions = attribute[Dimension.REGION]
        for region in sorted(set(regions.tolist()) - {""}):
            rows.append(
                Row(
                    np.flatnonzero(regions == region),
                    False,
                    Sense.AT_LEAST,
                    1,
                    f"rules.require_region_coverage[{region}]",
                    True,
                    f"at least one grant in region {region}",
                )
            )
    membership = scipy.sparse.csr_array(
        (
            np.ones(sum(len(r.pairs) for r in rows)),
            (
                np.concatenate(
                    [np.full(len(r.pairs), k, dtype=np.int64) for k, r in enumerate(rows)]
                ),
                np.concatenate([r.pairs for r in rows]),
            ),
        ),
        shape=(len(rows), form.pairs),
    )
    return dataclasses.replace(form, rows=tuple(rows), membership=membership)


def _organization_rows(form: Formulation, proposals: list[AllocationProposal]) -> list[Row]:
    """One row per organization with more candidates than max_grants_per_organization, in
    organization order."""
    limit = form.problem.rules.max_grants_per_organization
    orgs = np.array([p.organization_id for p in proposals], dtype=object)
    if not len(orgs):
        return []
    names, codes = np.unique(orgs, return_inverse=True)
    first_pairs = np.array([p[0] for p in form.candidate_pairs], dtype=np.int64)
    per_org = np.bincount(codes[first_pairs], minlength=len(names))
    by_org = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_org], np.arange(len(names) + 1))
    rows: list[Row] = []
    for k, org in enumerate(names.tolist()):
        if not org or per_org[k] <= limit:
            continue
        rows.append(
            Row(
                by_org[bounds[k] : bounds[k + 1]].astype(np.int64),
                False,
                Sense.AT_MOST,
                limit,
                "rules.max_grants_per_organization",
                False,
                f'at most {limit} grant(s) to organization "{org}"',
            )
        )
    return rows


def row_value(form: Formulation, row: Row, chosen: BoolArray, money: IntArray) -> int:
    """The row's left-hand side for a solution (per pair: chosen, and grant in fen)."""
    if row.money:
        return int(money[row.pairs].sum())
    return int(chosen[row.pairs].sum())
