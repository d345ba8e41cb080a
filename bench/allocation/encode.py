"""The baselines' shared encoder: (candidate, eligible pool) pairs, the rule groups over them,
integer scores, and the decoding of chosen pairs into a full AllocationResult.

Every baseline reads the problem through bounds.prepare, so it models exactly the rules the
engine and the shared validator (verify.py) apply. Scores become integers at SCORE_SCALE = 100
(hundredths of a point: published scores carry two decimals); the reported objective is always
recomputed exactly from the awards.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from matching.allocation.bounds import Candidate, Prepared, prepare
from matching.allocation.greedy import Grant, assemble
from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    AllocationResult,
    Dimension,
    Objective,
)
from matching.status import SolveStatus

SCORE_SCALE = 100
"""Integer score = round(score × 100)."""
MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class Pair:
    """Candidate `candidate` paid from pool `pool` (an index into Prepared.pools)."""

    candidate: Candidate
    pool: int
    proposal: AllocationProposal
    score: int
    """round(score × SCORE_SCALE)."""
    fixed: bool
    """The grant is the single agreed amount lower_fen (not a whole number of units)."""


@dataclass(frozen=True, slots=True)
class Encoded:
    """The rules as groups of pair indices; every solver-specific model reads only this."""

    problem: AllocationProblem
    prepared: Prepared
    unit: int
    pairs: tuple[Pair, ...]
    per_candidate: tuple[tuple[int, ...], ...]
    """Pairs of each candidate (in Prepared.candidates order): at most one is chosen."""
    per_pool: tuple[tuple[int, ...], ...]
    per_quota: tuple[tuple[int, ...], ...]
    per_region: tuple[tuple[int, ...], ...]
    """Coverage groups (empty unless rules.require_region_coverage)."""
    per_organization: tuple[tuple[int, ...], ...]
    """Organizations with more candidates than max_grants_per_organization."""
    money_gcd: int = field(default=1)
    """gcd of the unit and every agreed amount: money in the objective is counted in it."""


def encode(problem: AllocationProblem) -> Encoded:
    """Pairs and rule groups of a validated problem."""
    prepared = prepare(problem)
    unit = problem.rules.grant_unit_fen
    pairs: list[Pair] = []
    per_candidate: list[tuple[int, ...]] = []
    gcd = unit
    for c in prepared.candidates:
        proposal = problem.proposals[c.index]
        fixed = c.lower_fen % unit != 0 or c.upper_fen % unit != 0
        if fixed:
            gcd = math.gcd(gcd, c.lower_fen)
        score = round((proposal.score or 0.0) * SCORE_SCALE)
        start = len(pairs)
        pairs += [Pair(c, p, proposal, score, fixed) for p in c.pools]
        per_candidate.append(tuple(range(start, len(pairs))))
    return Encoded(
        problem,
        prepared,
        unit,
        tuple(pairs),
        tuple(per_candidate),
        tuple(
            tuple(k for k, t in enumerate(pairs) if t.pool == p) for p in range(len(prepared.pools))
        ),
        _quota_groups(problem, prepared, pairs),
        _region_groups(problem, pairs),
        _organization_groups(problem, pairs),
        gcd,
    )


def _attribute(pair: Pair, prepared: Prepared, dimension: Dimension) -> str:
    if dimension is Dimension.DOMAIN:
        return pair.proposal.domain
    if dimension is Dimension.REGION:
        return pair.proposal.region
    if dimension is Dimension.TIER:
        return pair.proposal.tier
    return prepared.pools[pair.pool].pool_id


def _quota_groups(
    problem: AllocationProblem, prepared: Prepared, pairs: list[Pair]
) -> tuple[tuple[int, ...], ...]:
    return tuple(
        tuple(k for k, t in enumerate(pairs) if _attribute(t, prepared, q.dimension) == q.key)
        for q in problem.rules.quotas
    )


def _region_groups(problem: AllocationProblem, pairs: list[Pair]) -> tuple[tuple[int, ...], ...]:
    if not problem.rules.require_region_coverage:
        return ()
    groups: dict[str, list[int]] = defaultdict(list)
    for k, t in enumerate(pairs):
        if t.proposal.region:
            groups[t.proposal.region].append(k)
    return tuple(tuple(groups[r]) for r in sorted(groups))


def _organization_groups(
    problem: AllocationProblem, pairs: list[Pair]
) -> tuple[tuple[int, ...], ...]:
    limit = problem.rules.max_grants_per_organization
    groups: dict[str, list[int]] = defaultdict(list)
    candidates: dict[str, set[int]] = defaultdict(set)
    for k, t in enumerate(pairs):
        org = t.proposal.organization_id
        if org:
            groups[org].append(k)
            candidates[org].add(t.candidate.index)
    return tuple(tuple(groups[o]) for o in sorted(groups) if len(candidates[o]) > limit)


def money_weight(enc: Encoded, pair: Pair) -> tuple[int, int]:
    """(per-unit coefficient, constant) of a pair's grant in units of enc.money_gcd: the grant is
    coefficient × x (x in grant units) or, for an agreed amount, constant × y."""
    if pair.fixed:
        return 0, pair.candidate.lower_fen // enc.money_gcd
    return enc.unit // enc.money_gcd, 0


def weighted(enc: Encoded) -> bool:
    objective = enc.problem.rules.objective
    if objective is Objective.RANK_ORDER:
        raise ValueError("the baselines model TOTAL_SCORE and SCORE_WEIGHTED_AMOUNT only")
    return objective is Objective.SCORE_WEIGHTED_AMOUNT


def decode(
    enc: Encoded, chosen: dict[int, int], status: SolveStatus, bound: float
) -> AllocationResult:
    """A full result from chosen pairs (pair index -> grant in fen)."""
    grants = {
        enc.pairs[k].candidate.index: Grant(amount, enc.pairs[k].pool)
        for k, amount in chosen.items()
    }
    return assemble(enc.problem, enc.prepared, grants, {}, status, bound)
