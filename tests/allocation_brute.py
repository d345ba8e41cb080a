"""Brute-force reference for allocation: every funded subset, pool and amount of a tiny problem
(n <= 7, few amount units), and a Hypothesis strategy for such problems.

`brute_force(problem)` enumerates every allocation of the prepared candidates (hard mode), keeps
the legal ones and returns the best by the problem's objective, compared exactly (scores as
fractions):
- TOTAL_SCORE: the largest sum of scores, then the largest sum of grants (`secondary`);
- SCORE_WEIGHTED_AMOUNT: the largest sum of score x grant / 1e6;
- RANK_ORDER: lexicographic down the rank order, first which proposals are funded, then their
  amounts; `objective` is the sum of the funded scores, as the API reports it.
Remaining ties go to the allocation that is lexicographically best in rank order (funded set,
then amounts), so `funded` is deterministic; `secondary` is always the optimum's sum of grants.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

from hypothesis import assume
from hypothesis import strategies as st

from matching.allocation.bounds import Candidate, Prepared, prepare
from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    AllocationRules,
    Dimension,
    FundingPool,
    LockedDecision,
    LockKind,
    Objective,
    Quota,
    QuotaMode,
    ScoreBand,
    TierRule,
)
from matching.allocation.validate import validate_problem
from scoring.errors import InvalidProblem

MAX_ALLOCATIONS = 3_000_000
"""Refuse problems whose allocations (before pruning) exceed this: brute force is for tiny ones."""
MILLION = 1_000_000

Choice = tuple[int, int] | None
"""Per candidate: None (not funded) or (amount in fen, pool index)."""


@dataclass(frozen=True, slots=True)
class BruteResult:
    """The optimum: whether any legal allocation exists, its objective (API units), its sum of
    grants in fen, the funded proposal ids, and the grants (id, fen, pool id) in rank order."""

    feasible: bool
    objective: float
    secondary: int
    funded: frozenset[str]
    grants: tuple[tuple[str, int, str], ...] = ()


INFEASIBLE = BruteResult(False, 0.0, 0, frozenset())


def brute_force(problem: AllocationProblem) -> BruteResult:
    """The optimal allocation of a tiny hard-mode problem by exhaustive enumeration."""
    if problem.rules.quota_mode is not QuotaMode.HARD:
        raise ValueError("brute_force covers hard quotas only")
    prepared = prepare(problem)
    if prepared.conflicts:
        return INFEASIBLE
    by_index = {c.index: c for c in prepared.candidates}
    ranked = [by_index[i] for i in prepared.rank_order if i in by_index]
    options = [_options(problem, c) for c in ranked]
    if math.prod(len(o) for o in options) > MAX_ALLOCATIONS:
        raise ValueError("too many allocations for brute force; shrink the problem")
    checker = _Checker(problem, prepared, ranked)
    key = _objective_key(problem, ranked)
    best: tuple[tuple[object, ...], list[Choice]] | None = None
    for choices in _enumerate(options, checker):
        if checker.meets_minimums(choices):
            k = key(choices)
            if best is None or k > best[0]:
                best = (k, list(choices))
    if best is None:
        return INFEASIBLE
    return _result(problem, prepared, ranked, best[1])


def _options(problem: AllocationProblem, c: Candidate) -> list[Choice]:
    unit = problem.rules.grant_unit_fen
    amounts = (
        [c.lower_fen] if c.lower_fen == c.upper_fen else range(c.lower_fen, c.upper_fen + 1, unit)
    )
    funded: list[Choice] = [(a, p) for p in c.pools for a in amounts]
    return funded if c.approved else [None, *funded]


def _enumerate(options: list[list[Choice]], checker: _Checker) -> Iterator[list[Choice]]:
    """Every combination whose running totals stay within the maximum rules (those only grow)."""
    chosen: list[Choice] = []

    def walk(depth: int) -> Iterator[list[Choice]]:
        if depth == len(options):
            yield chosen
            return
        for choice in options[depth]:
            chosen.append(choice)
            if choice is None or checker.within_maximums(chosen):
                yield from walk(depth + 1)
            chosen.pop()

    return walk(0)


class _Checker:
    """Legality of a (partial) allocation, recomputed from scratch: slow and obvious."""

    def __init__(
        self, problem: AllocationProblem, prepared: Prepared, ranked: list[Candidate]
    ) -> None:
        self.problem = problem
        self.prepared = prepared
        self.proposals = [problem.proposals[c.index] for c in ranked]
        self.regions = {p.region for p in self.proposals} - {""}

    def _tallies(self, chosen: list[Choice]) -> tuple[list[int], list[int]]:
        quotas = self.problem.rules.quotas
        count, amount = [0] * len(quotas), [0] * len(quotas)
        for proposal, choice in zip(self.proposals, chosen, strict=False):
            if choice is None:
                continue
            pool_id = self.prepared.pools[choice[1]].pool_id
            for k, q in enumerate(quotas):
                if _attribute(proposal, pool_id, q.dimension) == q.key:
                    count[k] += 1
                    amount[k] += choice[0]
        return count, amount

    def within_maximums(self, chosen: list[Choice]) -> bool:
        rules = self.problem.rules
        grants = [c for c in chosen if c is not None]
        if sum(a for a, _ in grants) > self.prepared.available_fen:
            return False
        for p, pool in enumerate(self.prepared.pools):
            if sum(a for a, q in grants if q == p) > pool.amount_fen:
                return False
        orgs = Counter(
            proposal.organization_id
            for proposal, choice in zip(self.proposals, chosen, strict=False)
            if choice is not None and proposal.organization_id
        )
        if any(n > rules.max_grants_per_organization for n in orgs.values()):
            return False
        count, amount = self._tallies(chosen)
        return all(
            (q.max_count is None or count[k] <= q.max_count)
            and (q.max_amount_fen is None or amount[k] <= q.max_amount_fen)
            for k, q in enumerate(rules.quotas)
        )

    def meets_minimums(self, chosen: list[Choice]) -> bool:
        count, amount = self._tallies(chosen)
        if any(
            count[k] < q.min_count or amount[k] < q.min_amount_fen
            for k, q in enumerate(self.problem.rules.quotas)
        ):
            return False
        if not self.problem.rules.require_region_coverage:
            return True
        funded = {p.region for p, c in zip(self.proposals, chosen, strict=True) if c is not None}
        return self.regions <= funded


def _attribute(proposal: AllocationProposal, pool_id: str, dimension: Dimension) -> str:
    if dimension is Dimension.DOMAIN:
        return proposal.domain
    if dimension is Dimension.REGION:
        return proposal.region
    if dimension is Dimension.TIER:
        return proposal.tier
    return pool_id


def _objective_key(
    problem: AllocationProblem, ranked: list[Candidate]
) -> Callable[[list[Choice]], tuple[object, ...]]:
    scores = [Fraction(problem.proposals[c.index].score or 0.0) for c in ranked]
    objective = problem.rules.objective

    def key(chosen: list[Choice]) -> tuple[object, ...]:
        funded = tuple(c is not None for c in chosen)
        amounts = tuple(0 if c is None else c[0] for c in chosen)
        if objective is Objective.RANK_ORDER:
            return (funded, amounts)
        if objective is Objective.SCORE_WEIGHTED_AMOUNT:
            value = sum((s * a for s, a in zip(scores, amounts, strict=True)), Fraction(0))
        else:
            value = sum((s for s, f in zip(scores, funded, strict=True) if f), Fraction(0))
        return (value, sum(amounts), funded, amounts)

    return key


def _result(
    problem: AllocationProblem, prepared: Prepared, ranked: list[Candidate], chosen: list[Choice]
) -> BruteResult:
    grants = tuple(
        (problem.proposals[c.index].proposal_id, choice[0], prepared.pools[choice[1]].pool_id)
        for c, choice in zip(ranked, chosen, strict=True)
        if choice is not None
    )
    scores = {p.proposal_id: Fraction(p.score or 0.0) for p in problem.proposals}
    if problem.rules.objective is Objective.SCORE_WEIGHTED_AMOUNT:
        objective = float(sum((scores[g[0]] * g[1] for g in grants), Fraction(0)) / MILLION)
    else:
        objective = float(sum((scores[g[0]] for g in grants), Fraction(0)))
    return BruteResult(
        True, objective, sum(g[1] for g in grants), frozenset(g[0] for g in grants), grants
    )


# ---------------------------------------------------------------------------------------------
# Tiny problems for property tests
# ---------------------------------------------------------------------------------------------

UNIT = 100
DOMAINS = ("elderly", "youth")
REGIONS = ("east", "west", "north", "")
TIERS = ("startup", "mature")
ORGS = ("o1", "o2", "o3", "")


@st.composite
def tiny_problems(
    draw: st.DrawFn, objectives: tuple[Objective, ...] = tuple(Objective), max_n: int = 6
) -> AllocationProblem:
    """A valid hard-mode problem small enough for brute_force: up to `max_n` proposals, grants
    of 1-4 units of 100 fen, up to two pools, quotas of every dimension, coverage, locks."""
    n = draw(st.integers(1, max_n))
    proposals = tuple(draw(_proposal(i)) for i in range(n))
    pools = draw(
        st.sampled_from(
            [
                (),
                (FundingPool("community", draw(st.integers(2, 14)) * UNIT),),
                (
                    FundingPool("lottery", draw(st.integers(0, 8)) * UNIT, ("elderly",)),
                    FundingPool("community", draw(st.integers(1, 10)) * UNIT),
                ),
            ]
        )
    )
    banded = draw(st.booleans())
    try:
        rules = AllocationRules(
            total_budget_fen=draw(st.integers(0 if pools else 2, 16)) * UNIT,
            reserve_bp=draw(st.sampled_from((0, 1000))),
            pools=pools,
            tiers=draw(st.sampled_from([(), (TierRule("startup", max_grant_fen=2 * UNIT),)])),
            score_bands=(ScoreBand(85, 10_000), ScoreBand(70, 8_000), ScoreBand(60, 5_000))
            if banded
            else (),
            pass_line=60.0 if banded else draw(st.sampled_from([None, 60.0])),
            min_grant_fen=draw(st.sampled_from((0, 0, 2 * UNIT))),
            grant_unit_fen=UNIT,
            max_grants_per_organization=draw(st.integers(1, 2)),
            quotas=tuple(draw(st.lists(_quota(pools), max_size=2))),
            require_region_coverage=draw(st.booleans()),
            locked_decisions=tuple(draw(st.lists(_lock(proposals, pools), max_size=1))),
            objective=draw(st.sampled_from(objectives)),
        )
        problem = AllocationProblem(proposals, rules)
        validate_problem(problem)
    except InvalidProblem:
        assume(False)
        raise  # unreachable: assume(False) raises
    return problem


def _proposal(i: int) -> st.SearchStrategy[AllocationProposal]:
    @st.composite
    def build(draw: st.DrawFn) -> AllocationProposal:
        requested = draw(st.integers(1, 4)) * UNIT
        return AllocationProposal(
            f"P{i}",
            None if draw(st.integers(0, 9)) == 0 else draw(st.integers(110, 200)) / 2,
            organization_id=draw(st.sampled_from(ORGS)),
            domain=draw(st.sampled_from(DOMAINS)),
            region=draw(st.sampled_from(REGIONS)),
            tier=draw(st.sampled_from(TIERS)),
            requested_fen=requested,
            minimum_fen=draw(st.integers(0, requested // UNIT)) * UNIT,
        )

    return build()


def _quota(pools: tuple[FundingPool, ...]) -> st.SearchStrategy[Quota]:
    @st.composite
    def build(draw: st.DrawFn) -> Quota:
        dimension = draw(st.sampled_from(list(Dimension) if pools else list(Dimension)[:3]))
        keys = {
            Dimension.DOMAIN: DOMAINS,
            Dimension.REGION: REGIONS[:3],
            Dimension.TIER: TIERS,
            Dimension.POOL: tuple(p.pool_id for p in pools),
        }[dimension]
        min_count = draw(st.sampled_from((0, 0, 1, 2)))
        max_count = draw(st.one_of(st.none(), st.integers(min_count, 3)))
        min_amount = draw(st.sampled_from((0, 0, 1, 3))) * UNIT
        max_amount = draw(st.one_of(st.none(), st.integers(min_amount // UNIT, 8).map(_fen)))
        try:
            key = draw(st.sampled_from(keys))
            return Quota(dimension, key, min_count, max_count, min_amount, max_amount)
        except InvalidProblem:
            assume(False)
            raise

    return build()


def _fen(units: int) -> int:
    return units * UNIT


def _lock(
    proposals: tuple[AllocationProposal, ...], pools: tuple[FundingPool, ...]
) -> st.SearchStrategy[LockedDecision]:
    @st.composite
    def build(draw: st.DrawFn) -> LockedDecision:
        proposal = draw(st.sampled_from(proposals))
        if draw(st.booleans()) or proposal.score is None:
            # An approved unscored proposal gets an Award whose score (a float) cannot copy
            # the proposal's None; verify.py and model.Award disagree there, so it is left out.
            return LockedDecision(proposal.proposal_id, LockKind.REJECTED)
        # An agreed amount may be off the grant unit (agreed before the unit was set).
        amount = draw(st.sampled_from((0, proposal.requested_fen, proposal.requested_fen // 2)))
        pool = draw(st.sampled_from(("", *(p.pool_id for p in pools))))
        return LockedDecision(proposal.proposal_id, LockKind.APPROVED, amount, pool)

    return build()
