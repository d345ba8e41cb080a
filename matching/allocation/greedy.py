"""Greedy by score, the way committees allocate in Excel today, and the assembly of a full
AllocationResult from chosen grants (shared by greedy, the benchmark baselines and references).

Greedy goes down the ranking (locked approvals first): each proposal gets its full amount if it
still fits (the budget, an eligible pool with room, tried in order, the organization limit, the
maximum quotas), else the largest legal amount that fits, else nothing. It never looks ahead to
minimum quotas or region coverage. Status: FEASIBLE when the result obeys every hard rule;
NO_SOLUTION_FOUND when it breaks one (a minimum quota or coverage missed in hard mode, or a locked
approval that no longer fits) — the awards are still returned, as what greedy would fund, with
the misses in quota_violations and a notice. In soft mode missed quotas are reported, not fatal.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matching.allocation.bounds import Candidate, Prepared, prepare, yuan
from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    AllocationResult,
    Award,
    Dimension,
    Objective,
    QuotaMode,
    QuotaViolation,
    Unfunded,
    UnfundedReason,
)
from matching.allocation.verify import MILLION, objective_of, spend_of
from matching.status import SolveStatus
from scoring.model import Notice, StageTime

GREEDY_MISSED_RULES = "GREEDY_MISSED_RULES"
MAXIMUM_REASON = {
    Dimension.DOMAIN: UnfundedReason.DOMAIN_MAXIMUM,
    Dimension.REGION: UnfundedReason.REGION_MAXIMUM,
    Dimension.TIER: UnfundedReason.TIER_MAXIMUM,
    Dimension.POOL: UnfundedReason.POOL_EXHAUSTED,
}


@dataclass(frozen=True, slots=True)
class Grant:
    """A chosen grant: the amount and the pool (an index into Prepared.pools)."""

    amount_fen: int
    pool: int


def greedy_by_score(problem: AllocationProblem) -> AllocationResult:
    """Fund down the ranking while money and rules allow; deterministic."""
    started = time.perf_counter()
    prepared = prepare(problem)
    if prepared.conflicts:
        return assemble(problem, prepared, {}, {}, SolveStatus.INFEASIBLE, 0.0)
    ledger = _Ledger(problem, prepared)
    grants: dict[int, Grant] = {}
    reasons: dict[int, Unfunded] = {}
    for candidate in _order(prepared):
        outcome = ledger.fund(candidate)
        if isinstance(outcome, Grant):
            grants[candidate.index] = outcome
        else:
            reasons[candidate.index] = outcome
    misses = ledger.misses()
    lost = [c for c in prepared.candidates if c.approved and c.index not in grants]
    hard = problem.rules.quota_mode is QuotaMode.HARD
    broken = [v.rule for v in misses] if hard else []
    broken += [c.lock_rule for c in lost]
    notices = (_missed_notice(broken),) if broken else ()
    status = SolveStatus.NO_SOLUTION_FOUND if broken else SolveStatus.FEASIBLE
    return assemble(
        problem,
        prepared,
        grants,
        reasons,
        status,
        trivial_bound(problem, prepared),
        quota_violations=tuple(misses),
        notices=prepared.notices + notices,
        timings=(StageTime("greedy", time.perf_counter() - started),),
    )


def _order(prepared: Prepared) -> list[Candidate]:
    """Locked approvals first (the committee already agreed them), then by rank."""
    by_index = {c.index: c for c in prepared.candidates}
    ranked = [by_index[i] for i in prepared.rank_order if i in by_index]
    return [c for c in ranked if c.approved] + [c for c in ranked if not c.approved]


def _missed_notice(rules: Sequence[str]) -> Notice:
    return Notice(
        GREEDY_MISSED_RULES,
        "greedy by score does not look ahead to minimum quotas, coverage or locked approvals; "
        f"its allocation breaks {', '.join(rules)}",
    )


def _key(proposal: AllocationProposal, dimension: Dimension) -> str:
    if dimension is Dimension.DOMAIN:
        return proposal.domain
    if dimension is Dimension.REGION:
        return proposal.region
    return proposal.tier


class _Ledger:
    """What is left of the budget, the pools, the organizations' grants and the quotas."""

    def __init__(self, problem: AllocationProblem, prepared: Prepared) -> None:
        self.problem = problem
        self.prepared = prepared
        self.left = prepared.available_fen
        self.pool_left = [p.amount_fen for p in prepared.pools]
        self.orgs: Counter[str] = Counter()
        quotas = problem.rules.quotas
        self.count = [0] * len(quotas)
        self.amount = [0] * len(quotas)
        self.pool_quotas = [
            [k for k, q in enumerate(quotas) if q.dimension is Dimension.POOL and q.key == pool]
            for pool in (p.pool_id for p in prepared.pools)
        ]
        self.funded_regions: set[str] = set()
        self.by_key: dict[tuple[Dimension, str], list[int]] = {}
        for k, q in enumerate(quotas):
            if q.dimension is not Dimension.POOL:
                self.by_key.setdefault((q.dimension, q.key), []).append(k)

    def _attribute_quotas(self, proposal: AllocationProposal) -> list[int]:
        """Indices of the domain, region and tier quotas that count this proposal."""
        found: list[int] = []
        for dimension in (Dimension.DOMAIN, Dimension.REGION, Dimension.TIER):
            found += self.by_key.get((dimension, _key(proposal, dimension)), ())
        return sorted(found)

    def fund(self, candidate: Candidate) -> Grant | Unfunded:
        """Book the largest grant that fits, or say what stopped it."""
        proposal = self.problem.proposals[candidate.index]
        quotas = self.problem.rules.quotas
        limit = self.problem.rules.max_grants_per_organization
        org = proposal.organization_id
        if org and self.orgs[org] >= limit:
            return _unfunded(
                proposal,
                UnfundedReason.ORGANIZATION_LIMIT,
                "rules.max_grants_per_organization",
                f'organization "{org}" already has {limit} grant(s)',
            )
        attribute = self._attribute_quotas(proposal)
        for k in attribute:
            top = quotas[k].max_count
            if top is not None and self.count[k] >= top:
                return _quota_full(proposal, k, quotas[k].dimension, f"{top} grant(s)")
        room = self.left
        for k in attribute:
            top_amount = quotas[k].max_amount_fen
            if top_amount is not None:
                room = min(room, top_amount - self.amount[k])
        best: Grant | None = None
        for pool in candidate.pools:
            amount = _largest(candidate, min(room, self._pool_room(pool)), self._unit())
            if amount is not None and (best is None or amount > best.amount_fen):
                best = Grant(amount, pool)
            if amount == candidate.upper_fen:
                break
        if best is None:
            return self._why_not(candidate, proposal, attribute)
        self._book(proposal, attribute, best)
        return best

    def _unit(self) -> int:
        return self.problem.rules.grant_unit_fen

    def _pool_room(self, pool: int) -> int:
        room = self.pool_left[pool]
        for k in self.pool_quotas[pool]:
            quota = self.problem.rules.quotas[k]
            if quota.max_count is not None and self.count[k] >= quota.max_count:
                return 0
            if quota.max_amount_fen is not None:
                room = min(room, quota.max_amount_fen - self.amount[k])
        return room

    def _book(self, proposal: AllocationProposal, attribute: list[int], grant: Grant) -> None:
        self.left -= grant.amount_fen
        self.pool_left[grant.pool] -= grant.amount_fen
        if proposal.organization_id:
            self.orgs[proposal.organization_id] += 1
        for k in attribute + self.pool_quotas[grant.pool]:
            self.count[k] += 1
            self.amount[k] += grant.amount_fen
        self.funded_regions.add(proposal.region)

    def _why_not(
        self, candidate: Candidate, proposal: AllocationProposal, attribute: list[int]
    ) -> Unfunded:
        need = candidate.lower_fen
        if self.left < need:
            return _unfunded(
                proposal,
                UnfundedReason.BUDGET_EXHAUSTED,
                "rules.total_budget_fen",
                f"only {yuan(self.left)} of the budget was left; it needs at least {yuan(need)}",
            )
        for k in attribute:
            quota = self.problem.rules.quotas[k]
            if quota.max_amount_fen is not None and quota.max_amount_fen - self.amount[k] < need:
                return _quota_full(proposal, k, quota.dimension, yuan(quota.max_amount_fen))
        first = self.prepared.pools[candidate.pools[0]]
        rule = next(
            (f"rules.quotas[{k}]" for p in candidate.pools for k in self.pool_quotas[p]),
            first.rule,
        )
        rooms = ", ".join(yuan(self.pool_left[p]) for p in candidate.pools)
        return _unfunded(
            proposal,
            UnfundedReason.POOL_EXHAUSTED,
            rule,
            f"its eligible pools have {rooms} left; it needs at least {yuan(need)}",
        )

    def misses(self) -> list[QuotaViolation]:
        """Minimum quotas and region coverage the allocation falls short of."""
        found: list[QuotaViolation] = []
        for k, quota in enumerate(self.problem.rules.quotas):
            count = max(quota.min_count - self.count[k], 0)
            amount = max(quota.min_amount_fen - self.amount[k], 0)
            if count or amount:
                found.append(QuotaViolation(f"rules.quotas[{k}]", count, amount))
        if self.problem.rules.require_region_coverage:
            regions = {self.problem.proposals[c.index].region for c in self.prepared.candidates}
            for region in sorted(regions - self.funded_regions - {""}):
                found.append(QuotaViolation(f"rules.require_region_coverage[{region}]", 1, 0))
        return found


def _largest(candidate: Candidate, room: int, unit: int) -> int | None:
    """The largest legal grant within `room`: the full amount, else a whole number of units."""
    if room >= candidate.upper_fen:
        return candidate.upper_fen
    if candidate.lower_fen == candidate.upper_fen:
        return None
    amount = room // unit * unit
    return amount if amount >= candidate.lower_fen else None


def _unfunded(
    proposal: AllocationProposal, reason: UnfundedReason, rule: str, message: str
) -> Unfunded:
    return Unfunded(proposal.proposal_id, reason, rule, message)


def _quota_full(proposal: AllocationProposal, k: int, dimension: Dimension, top: str) -> Unfunded:
    return _unfunded(
        proposal,
        MAXIMUM_REASON[dimension],
        f"rules.quotas[{k}]",
        f"the {dimension.value} maximum of {top} was reached",
    )


def trivial_bound(problem: AllocationProblem, prepared: Prepared) -> float:
    """An upper bound that proves nothing: every candidate funded in full (negative terms 0)."""
    weighted = problem.rules.objective is Objective.SCORE_WEIGHTED_AMOUNT
    total = 0.0
    for c in prepared.candidates:
        score = problem.proposals[c.index].score or 0.0
        total += max(0.0, score * c.upper_fen / MILLION if weighted else score)
    return total


def assemble(
    problem: AllocationProblem,
    prepared: Prepared,
    grants: Mapping[int, Grant],
    reasons: Mapping[int, Unfunded],
    status: SolveStatus,
    best_bound: float,
    *,
    quota_violations: tuple[QuotaViolation, ...] = (),
    notices: tuple[Notice, ...] = (),
    timings: tuple[StageTime, ...] = (),
) -> AllocationResult:
    """A full AllocationResult from grants (by proposal index). Awards come in rank order,
    unfunded proposals in request order: prepare's exclusions, then `reasons`, and a plain
    "not in the allocation" for any other candidate. With no solution there are no awards and
    only the exclusions are listed, as the API says."""
    solved = status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE) or bool(grants)
    approved = {c.index for c in prepared.candidates if c.approved}
    awards = tuple(
        _award(problem, prepared, i, grants[i], i in approved)
        for i in prepared.rank_order
        if i in grants
    )
    excluded = {e.index: e for e in prepared.exclusions}
    unfunded: list[Unfunded] = []
    candidates = {c.index for c in prepared.candidates}
    for i, proposal in enumerate(problem.proposals):
        if i in excluded:
            e = excluded[i]
            unfunded.append(Unfunded(proposal.proposal_id, e.reason, e.rule, e.message))
        elif solved and i in candidates and i not in grants:
            unfunded.append(reasons.get(i) or _not_chosen(proposal))
    awarded = sum(a.amount_fen for a in awards)
    return AllocationResult(
        status=status,
        awards=awards,
        unfunded=tuple(unfunded),
        spend=spend_of(problem, awards),
        available_fen=prepared.available_fen,
        awarded_fen=awarded,
        remaining_fen=prepared.available_fen - awarded,
        objective=objective_of(problem, awards),
        best_bound=best_bound,
        conflicts=prepared.conflicts,
        quota_violations=quota_violations,
        notices=notices or prepared.notices,
        timings=timings,
    )


def _award(
    problem: AllocationProblem, prepared: Prepared, i: int, grant: Grant, approved: bool
) -> Award:
    proposal = problem.proposals[i]
    return Award(
        proposal.proposal_id,
        grant.amount_fen,
        prepared.pools[grant.pool].pool_id,
        proposal.requested_fen,
        proposal.score if proposal.score is not None else 0.0,
        locked=approved,
    )


def _not_chosen(proposal: AllocationProposal) -> Unfunded:
    return _unfunded(
        proposal,
        UnfundedReason.BUDGET_EXHAUSTED,
        "rules.total_budget_fen",
        "not in this allocation (the solver that produced it gives no reasons)",
    )
