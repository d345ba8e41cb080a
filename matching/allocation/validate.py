"""Cross-reference checks of an AllocationProblem: ids, pools, bands, quotas, locks, totals.

Per-object checks ran when the dataclasses were built; this module checks how the objects refer
to each other and reports every violation (up to scoring.errors.MAX_VIOLATIONS) at once, with
the request's field paths ("rules.quotas[2].key"). Rules that merely cannot all hold together
(a minimum quota the budget cannot pay for) are not input errors: the engine reports them as
conflicts of an infeasible problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from matching.allocation.model import (
    MAX_FEN,
    AllocationProblem,
    AllocationProposal,
    Dimension,
    LockKind,
)
from scoring.errors import Violations

MAX_TOTAL_FEN = 10**18
"""Sums of amounts stay below this so that no solver's 64-bit arithmetic can overflow."""
MAX_SCORE = 1_000_000.0
"""Scores stay within ±this: the engine counts scores in 64-bit integers of up to a millionth of
a point, summed over every proposal (ScoreProposals' final scores are out of 100)."""


def validate_problem(problem: AllocationProblem) -> None:
    """Raise InvalidProblem listing every cross-reference violation; return None when valid."""
    found = Violations()
    _check_proposals(problem, found)
    _check_budget(problem, found)
    _check_duplicates(found, "rules.pools", "pool_id", (p.pool_id for p in problem.rules.pools))
    _check_duplicates(found, "rules.tiers", "tier", (t.tier for t in problem.rules.tiers))
    _check_bands(problem, found)
    _check_quotas(problem, found)
    _check_locks(problem, found)
    found.raise_if_any()


def _check_duplicates(found: Violations, path: str, name: str, ids: Iterable[str]) -> None:
    first: dict[str, int] = {}
    for k, item in enumerate(ids):
        if item in first:
            found.add(
                f"{path}[{k}].{name}",
                item,
                f"duplicate, already used by {path}[{first[item]}]; ids must be unique",
            )
        else:
            first[item] = k


def _check_proposals(problem: AllocationProblem, found: Violations) -> None:
    if not problem.proposals:
        found.add_shown("proposals", "[]", "give at least one proposal to allocate to")
    _check_duplicates(found, "proposals", "proposal_id", (p.proposal_id for p in problem.proposals))
    for k, proposal in enumerate(problem.proposals):
        if proposal.score is not None:
            found.require(
                abs(proposal.score) <= MAX_SCORE,
                f"proposals[{k}].score",
                proposal.score,
                f"must be between -{MAX_SCORE:,.0f} and {MAX_SCORE:,.0f}; give the score in points",
            )
    requested = sum(p.requested_fen for p in problem.proposals)
    found.require(
        requested <= MAX_TOTAL_FEN,
        "proposals",
        f"{requested} fen requested in all",
        f"the requests may total at most {MAX_TOTAL_FEN} fen; check the amounts are in fen",
    )


def _check_budget(problem: AllocationProblem, found: Violations) -> None:
    rules = problem.rules
    found.require(
        rules.total_budget_fen > 0 or bool(rules.pools),
        "rules.total_budget_fen",
        rules.total_budget_fen,
        "give the round's budget (or funding pools, whose sum is then the budget)",
    )
    pooled = sum(p.amount_fen for p in rules.pools)
    found.require(
        pooled <= MAX_TOTAL_FEN,
        "rules.pools",
        f"{pooled} fen in all",
        f"the pools may hold at most {MAX_TOTAL_FEN} fen together",
    )


def _check_bands(problem: AllocationProblem, found: Violations) -> None:
    """Bands run from their min_score up to the next band's, so the table cannot have holes
    above its lowest band; a hole can only sit between the pass line and the lowest band."""
    rules = problem.rules
    bands = rules.score_bands
    if not bands:
        return
    seen: dict[float, int] = {}
    for k, band in enumerate(bands):
        if band.min_score in seen:
            found.add(
                f"rules.score_bands[{k}].min_score",
                band.min_score,
                f"two bands start at this score (also rules.score_bands[{seen[band.min_score]}])",
            )
        seen.setdefault(band.min_score, k)
    ordered = sorted(range(len(bands)), key=lambda k: bands[k].min_score)
    for lower, higher in pairwise(ordered):
        if bands[higher].funding_ratio_bp < bands[lower].funding_ratio_bp:
            found.add(
                f"rules.score_bands[{higher}].funding_ratio_bp",
                bands[higher].funding_ratio_bp,
                f"a higher band funds a smaller share than rules.score_bands[{lower}] "
                f"({bands[lower].funding_ratio_bp} bp); shares must not fall as scores rise",
            )
    lowest = bands[ordered[0]]
    if rules.pass_line is not None and lowest.min_score > rules.pass_line:
        found.add(
            f"rules.score_bands[{ordered[0]}].min_score",
            lowest.min_score,
            f"scores from the pass line {rules.pass_line:g} up to {lowest.min_score:g} fall in no "
            "band; start the lowest band at the pass line",
        )


def _attribute(proposal: AllocationProposal, dimension: Dimension) -> str:
    if dimension is Dimension.DOMAIN:
        return proposal.domain
    if dimension is Dimension.REGION:
        return proposal.region
    return proposal.tier


def _check_quotas(problem: AllocationProblem, found: Violations) -> None:
    pool_ids = {p.pool_id for p in problem.rules.pools}
    for k, quota in enumerate(problem.rules.quotas):
        path = f"rules.quotas[{k}].key"
        if quota.dimension is Dimension.POOL:
            found.require(
                quota.key in pool_ids,
                path,
                quota.key,
                "unknown pool; name one of rules.pools[].pool_id",
            )
            continue
        known = {_attribute(p, quota.dimension) for p in problem.proposals}
        if quota.min_count or quota.min_amount_fen:
            found.require(
                quota.key in known,
                path,
                quota.key,
                f"no proposal has {quota.dimension.value} {quota.key!r}, so this minimum can "
                "never be met; check the spelling",
            )


def _check_locks(problem: AllocationProblem, found: Violations) -> None:
    proposals = {p.proposal_id: p for p in problem.proposals}
    pool_ids = {p.pool_id for p in problem.rules.pools}
    first: dict[str, int] = {}
    for k, lock in enumerate(problem.rules.locked_decisions):
        path = f"rules.locked_decisions[{k}]"
        proposal = proposals.get(lock.proposal_id)
        if proposal is None:
            found.add(f"{path}.proposal_id", lock.proposal_id, "unknown proposal")
            continue
        if lock.proposal_id in first:
            found.add(
                f"{path}.proposal_id",
                lock.proposal_id,
                f"already decided in rules.locked_decisions[{first[lock.proposal_id]}]; "
                "keep one decision per proposal",
            )
        first.setdefault(lock.proposal_id, k)
        if lock.kind is not LockKind.APPROVED:
            continue
        if lock.pool_id:
            found.require(
                lock.pool_id in pool_ids,
                f"{path}.pool_id",
                lock.pool_id,
                "unknown pool; name one of rules.pools[].pool_id",
            )
        found.require(
            lock.amount_fen <= min(proposal.requested_fen, MAX_FEN),
            f"{path}.amount_fen",
            lock.amount_fen,
            f"the agreed grant exceeds the request ({proposal.requested_fen} fen)",
        )
