"""The shared validator: does an AllocationResult obey every rule of its problem, and is it
self-consistent? Every solver's output (the engine, the baselines, greedy) is checked by this one
function in tests and benchmarks, so "legal" means the same thing everywhere.

`violations(problem, result)` returns a list of plain-language problems; empty means legal.
It re-derives everything from the problem through bounds.prepare and never trusts the result's
own bookkeeping (totals, spend, objective are recomputed and compared).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from matching.allocation.bounds import Candidate, Prepared, prepare
from matching.allocation.model import (
    AllocationProblem,
    AllocationProposal,
    AllocationResult,
    Award,
    Dimension,
    LockKind,
    Objective,
    QuotaMode,
    Spend,
)
from matching.status import SolveStatus

MILLION = 1_000_000
OBJECTIVE_TOLERANCE = 1e-6


def violations(problem: AllocationProblem, result: AllocationResult) -> list[str]:
    """Every way `result` breaks a rule of `problem` or contradicts itself; empty when legal."""
    prepared = prepare(problem)
    found: list[str] = []
    found += _unfunded_listing(problem, prepared, result)
    if result.status in (SolveStatus.INFEASIBLE, SolveStatus.NO_SOLUTION_FOUND):
        if result.awards:
            found.append(f"status {result.status.value} but {len(result.awards)} awards")
        return found
    if prepared.conflicts:
        found.append("the locked decisions conflict with the rules, yet a solution was returned")
    by_index = {c.index: c for c in prepared.candidates}
    index_of = {p.proposal_id: i for i, p in enumerate(problem.proposals)}
    awards = _awards(problem, prepared, by_index, index_of, result.awards, found)
    found += _money(prepared, awards, result)
    found += _organizations(problem, awards)
    found += _quotas(problem, prepared, by_index, awards, result)
    found += _locks(problem, prepared, awards)
    found += _bookkeeping(problem, prepared, awards, result)
    return found


def _awards(
    problem: AllocationProblem,
    prepared: Prepared,
    by_index: dict[int, Candidate],
    index_of: dict[str, int],
    awards: Iterable[Award],
    found: list[str],
) -> dict[int, Award]:
    """Awards by proposal index; each checked against its candidate's bounds and pools."""
    unit = problem.rules.grant_unit_fen
    pool_index = {p.pool_id: k for k, p in enumerate(prepared.pools)}
    checked: dict[int, Award] = {}
    for award in awards:
        i = index_of.get(award.proposal_id)
        if i is None:
            found.append(f'award for unknown proposal "{award.proposal_id}"')
            continue
        if i in checked:
            found.append(f'"{award.proposal_id}" has more than one award')
            continue
        checked[i] = award
        candidate = by_index.get(i)
        if candidate is None:
            found.append(f'"{award.proposal_id}" is funded but its own rules exclude it')
            continue
        proposal = problem.proposals[i]
        if not candidate.lower_fen <= award.amount_fen <= candidate.upper_fen:
            found.append(
                f'"{award.proposal_id}" gets {award.amount_fen} fen, outside its legal range '
                f"[{candidate.lower_fen}, {candidate.upper_fen}]"
            )
        agreed = candidate.approved and candidate.lower_fen == candidate.upper_fen
        if not agreed and award.amount_fen % unit:
            found.append(
                f'"{award.proposal_id}" gets {award.amount_fen} fen, not a multiple of {unit}'
            )
        if pool_index.get(award.pool_id) not in candidate.pools:
            found.append(f'"{award.proposal_id}" is paid from pool "{award.pool_id}", not eligible')
        if award.requested_fen != proposal.requested_fen or award.score != proposal.score:
            found.append(f'"{award.proposal_id}" award copies the wrong request or score')
        if award.locked != candidate.approved:
            found.append(f'"{award.proposal_id}" award has locked={award.locked}')
    return checked


def _money(prepared: Prepared, awards: dict[int, Award], result: AllocationResult) -> list[str]:
    found: list[str] = []
    total = sum(a.amount_fen for a in awards.values())
    if total > prepared.available_fen:
        found.append(f"awards total {total} fen, more than the {prepared.available_fen} available")
    per_pool: Counter[str] = Counter()
    for award in awards.values():
        per_pool[award.pool_id] += award.amount_fen
    for pool in prepared.pools:
        if per_pool[pool.pool_id] > pool.amount_fen:
            found.append(
                f'pool "{pool.pool_id}" pays {per_pool[pool.pool_id]} fen but holds '
                f"{pool.amount_fen}"
            )
    return found


def _organizations(problem: AllocationProblem, awards: dict[int, Award]) -> list[str]:
    limit = problem.rules.max_grants_per_organization
    counts = Counter(
        problem.proposals[i].organization_id for i in awards if problem.proposals[i].organization_id
    )
    return [
        f'organization "{org}" gets {n} grants, more than {limit}'
        for org, n in sorted(counts.items())
        if n > limit
    ]


def _key(proposal: AllocationProposal, award: Award, dimension: Dimension) -> str:
    if dimension is Dimension.DOMAIN:
        return proposal.domain
    if dimension is Dimension.REGION:
        return proposal.region
    if dimension is Dimension.TIER:
        return proposal.tier
    return award.pool_id


def _quotas(
    problem: AllocationProblem,
    prepared: Prepared,
    by_index: dict[int, Candidate],
    awards: dict[int, Award],
    result: AllocationResult,
) -> list[str]:
    """Hard mode: every quota and coverage holds. Soft mode: every miss is reported exactly."""
    rules = problem.rules
    misses: dict[str, tuple[int, int]] = {}
    for k, quota in enumerate(rules.quotas):
        count = amount = 0
        for i, award in awards.items():
            if _key(problem.proposals[i], award, quota.dimension) == quota.key:
                count += 1
                amount += award.amount_fen
        count_miss = max(quota.min_count - count, 0)
        if quota.max_count is not None:
            count_miss += max(count - quota.max_count, 0)
        amount_miss = max(quota.min_amount_fen - amount, 0)
        if quota.max_amount_fen is not None:
            amount_miss += max(amount - quota.max_amount_fen, 0)
        if count_miss or amount_miss:
            misses[f"rules.quotas[{k}]"] = (count_miss, amount_miss)
    if rules.require_region_coverage:
        funded_regions = {problem.proposals[i].region for i in awards}
        regions = sorted({problem.proposals[i].region for i in by_index} - {""})
        for region in regions:
            if region not in funded_regions:
                misses[f"rules.require_region_coverage[{region}]"] = (1, 0)
    reported = {
        v.rule: (v.count_violation, v.amount_violation_fen) for v in result.quota_violations
    }
    if rules.quota_mode is QuotaMode.HARD:
        found = [
            f"{rule} is not met (count off by {c}, amount by {a} fen)"
            for rule, (c, a) in misses.items()
        ]
        if reported:
            found.append("quota violations reported in hard mode")
        return found
    found = []
    for rule in sorted(set(misses) | set(reported)):
        if misses.get(rule) != reported.get(rule):
            found.append(
                f"{rule}: actual miss {misses.get(rule)} but reported {reported.get(rule)}"
            )
    return found


def _locks(problem: AllocationProblem, prepared: Prepared, awards: dict[int, Award]) -> list[str]:
    found: list[str] = []
    index_of = {p.proposal_id: i for i, p in enumerate(problem.proposals)}
    pool_ids = {k: p.pool_id for k, p in enumerate(prepared.pools)}
    for k, lock in enumerate(problem.rules.locked_decisions):
        i = index_of.get(lock.proposal_id)
        award = awards.get(i) if i is not None else None
        if lock.kind is LockKind.REJECTED:
            if award is not None:
                found.append(
                    f"locked_decisions[{k}] rejected {lock.proposal_id!r} but it is funded"
                )
            continue
        if award is None:
            found.append(
                f"locked_decisions[{k}] approved {lock.proposal_id!r} but it is not funded"
            )
            continue
        if lock.amount_fen and award.amount_fen != lock.amount_fen:
            found.append(
                f"locked_decisions[{k}] agreed {lock.amount_fen} fen, awarded {award.amount_fen}"
            )
        if lock.pool_id and lock.pool_id in pool_ids.values() and award.pool_id != lock.pool_id:
            found.append(
                f"locked_decisions[{k}] agreed pool {lock.pool_id!r}, paid from {award.pool_id!r}"
            )
    return found


def _unfunded_listing(
    problem: AllocationProblem, prepared: Prepared, result: AllocationResult
) -> list[str]:
    """Exclusions are listed as prepare found them; with a solution every proposal is either
    funded or unfunded, exactly once, unfunded in request order."""
    found: list[str] = []
    listed = [u.proposal_id for u in result.unfunded]
    if len(set(listed)) != len(listed):
        found.append("a proposal is listed as unfunded more than once")
    order = {p.proposal_id: i for i, p in enumerate(problem.proposals)}
    if [order.get(p, -1) for p in listed] != sorted(order.get(p, -1) for p in listed):
        found.append("unfunded proposals are not in request order")
    reasons = {u.proposal_id: (u.reason, u.rule) for u in result.unfunded}
    for exclusion in prepared.exclusions:
        proposal_id = problem.proposals[exclusion.index].proposal_id
        if reasons.get(proposal_id) != (exclusion.reason, exclusion.rule):
            found.append(
                f'"{proposal_id}" should be unfunded with {exclusion.reason.value} '
                f"({exclusion.rule}), got {reasons.get(proposal_id)}"
            )
    if result.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        funded = {a.proposal_id for a in result.awards}
        both = funded & set(listed)
        if both:
            found.append(f"funded and unfunded at once: {sorted(both)}")
        missing = set(order) - funded - set(listed)
        if missing:
            found.append(f"neither funded nor listed as unfunded: {sorted(missing)}")
    return found


def objective_of(problem: AllocationProblem, awards: Iterable[Award]) -> float:
    """The objective an allocation reaches, in the units the API documents."""
    awards = list(awards)
    if problem.rules.objective is Objective.SCORE_WEIGHTED_AMOUNT:
        return sum(a.score * a.amount_fen for a in awards) / MILLION
    return sum(a.score for a in awards)


def spend_of(problem: AllocationProblem, awards: Iterable[Award]) -> tuple[Spend, ...]:
    """Spend per pool (named pools only), domain, region and tier, sorted by dimension and key."""
    by_id = {p.proposal_id: p for p in problem.proposals}
    money: dict[tuple[int, str], int] = defaultdict(int)
    count: dict[tuple[int, str], int] = defaultdict(int)
    for award in awards:
        proposal = by_id[award.proposal_id]
        amount = award.amount_fen
        keys = [(0, proposal.domain), (1, proposal.region), (2, proposal.tier)]
        if award.pool_id:  # the implicit pool ("") has no line of its own
            keys.append((3, award.pool_id))
        for key in keys:
            money[key] += amount
            count[key] += 1
    dimensions = (Dimension.DOMAIN, Dimension.REGION, Dimension.TIER, Dimension.POOL)
    return tuple(
        Spend(dimensions[d], key, money[(d, key)], count[(d, key)]) for d, key in sorted(money)
    )


def _bookkeeping(
    problem: AllocationProblem,
    prepared: Prepared,
    awards: dict[int, Award],
    result: AllocationResult,
) -> list[str]:
    found: list[str] = []
    total = sum(a.amount_fen for a in awards.values())
    if (result.available_fen, result.awarded_fen, result.remaining_fen) != (
        prepared.available_fen,
        total,
        prepared.available_fen - total,
    ):
        found.append(
            f"available/awarded/remaining {result.available_fen}/{result.awarded_fen}/"
            f"{result.remaining_fen} fen, expected {prepared.available_fen}/{total}/"
            f"{prepared.available_fen - total}"
        )
    if result.spend != spend_of(problem, result.awards):
        found.append("spend lines do not match the awards")
    objective = objective_of(problem, result.awards)
    if not math.isclose(result.objective, objective, rel_tol=OBJECTIVE_TOLERANCE, abs_tol=1e-6):
        found.append(f"objective {result.objective} but the awards reach {objective}")
    # In soft mode the bound is on the penalised objective, which the result does not report.
    if problem.rules.quota_mode is QuotaMode.HARD:
        if result.best_bound < result.objective - 1e-6 * max(1.0, abs(objective)):
            found.append(
                f"best bound {result.best_bound} is below the objective {result.objective}"
            )
        if result.status is SolveStatus.OPTIMAL and result.relative_gap > OBJECTIVE_TOLERANCE:
            found.append(f"status optimal with a gap of {result.relative_gap:.2e}")
    rank = {i: r for r, i in enumerate(prepared.rank_order)}
    index_of = {p.proposal_id: i for i, p in enumerate(problem.proposals)}
    positions = [rank[index_of[a.proposal_id]] for a in result.awards if a.proposal_id in index_of]
    if positions != sorted(positions):
        found.append("awards are not in score order (then request order)")
    return found
