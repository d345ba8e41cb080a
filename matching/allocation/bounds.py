"""Who may be funded, for how much, from which pools: the per-proposal rules, applied once.

Every engine and checker reads the problem through `prepare`, so the solver, the shared
validator (verify.py) and the benchmark baselines agree on what a legal grant is:

1. No score: NOT_SCORED. Locked rejected: LOCKED_REJECTED. Score below the pass line:
   BELOW_PASS_LINE. Score below every score band: INELIGIBLE (rules.score_bands).
2. target = floor(requested × band ratio / 10000) (100% without bands).
3. upper = the target capped by the tier's max grant, the round's max grant, the project share
   (floor(project budget × bp / 10000); not applied, with a notice, when the project budget is
   unknown) and the donation match (floor(donations × bp / 10000)); rounded down to the grant
   unit.
4. lower = max(round's min grant, tier's min grant, the proposal's minimum_fen), rounded up to
   the unit; a proposal with minimum_fen 0 accepts only `upper` (lower = upper).
5. upper 0 or lower > upper: INELIGIBLE, naming the rule that made it so.
6. Pools: those whose eligibility admits the proposal; none: INELIGIBLE (rules.pools). Without
   pools one implicit pool (id "") holds the whole available budget.
7. Locked approved: funded whatever step 1–6 say (the committee decided; a notice says which
   rule it overrides). An agreed amount fixes the grant, an agreed pool fixes the pool. Without
   an agreed amount a proposal with no legal amount, or with no eligible pool, cannot be
   funded: that is a RuleConflict and the problem is infeasible.

Available budget = total − floor(total × reserve_bp / 10000); the total is the sum of the
pools when total_budget_fen is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from matching.allocation.model import (
    BP,
    AllocationProblem,
    AllocationProposal,
    LockedDecision,
    LockKind,
    RuleConflict,
    UnfundedReason,
)
from scoring.model import Notice

IMPLICIT_POOL_ID = ""
PROJECT_BUDGET_UNKNOWN = "PROJECT_BUDGET_UNKNOWN"
LOCK_OVERRIDES_RULE = "LOCK_OVERRIDES_RULE"


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool as the solvers see it: its id (\"\" for the implicit pool) and amount."""

    pool_id: str
    amount_fen: int
    rule: str
    """Field path of the pool's amount, for reasons and conflicts."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A proposal that may be funded: a grant in [lower_fen, upper_fen] (multiples of the grant
    unit, except an agreed locked amount) from one of `pools` (indices into Prepared.pools)."""

    index: int
    """Position in problem.proposals."""
    lower_fen: int
    upper_fen: int
    pools: tuple[int, ...]
    approved: bool = False
    """Locked approved: must be funded."""
    lock_rule: str = ""
    """Field path of the locked decision, when approved."""


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A proposal that cannot be funded, with the reason and the rule behind it."""

    index: int
    reason: UnfundedReason
    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """The problem as every solver sees it."""

    candidates: tuple[Candidate, ...]
    exclusions: tuple[Exclusion, ...]
    pools: tuple[Pool, ...]
    total_fen: int
    reserve_fen: int
    available_fen: int
    rank_order: tuple[int, ...]
    """Proposal indices by score (highest first; ties in request order; unscored last)."""
    conflicts: tuple[RuleConflict, ...]
    """Locked approvals that no legal grant can honour; non-empty means infeasible."""
    notices: tuple[Notice, ...]


def yuan(fen: int) -> str:
    """Money for messages: 12345600 fen -> '¥123,456'; fractions of a yuan shown when present."""
    whole, cents = divmod(fen, 100)
    return f"¥{whole:,}" + (f".{cents:02d}" if cents else "")


def prepare(problem: AllocationProblem) -> Prepared:
    """Apply the per-proposal rules to a validated problem."""
    rules = problem.rules
    pools = _pools(problem)
    total = rules.total_budget_fen or sum(p.amount_fen for p in rules.pools)
    reserve = total * rules.reserve_bp // BP
    locks = {d.proposal_id: (k, d) for k, d in enumerate(rules.locked_decisions)}
    candidates: list[Candidate] = []
    exclusions: list[Exclusion] = []
    conflicts: list[RuleConflict] = []
    notices: list[Notice] = []
    unknown_budget: list[str] = []
    lookups = _Lookups(problem)
    for i, proposal in enumerate(problem.proposals):
        lock = locks.get(proposal.proposal_id)
        outcome = _bounds(problem, lookups, i, proposal, unknown_budget)
        if lock is not None and lock[1].kind is LockKind.REJECTED:
            exclusions.append(
                Exclusion(
                    i,
                    UnfundedReason.LOCKED_REJECTED,
                    f"rules.locked_decisions[{lock[0]}]",
                    "the committee rejected it; re-optimising keeps that decision",
                )
            )
        elif lock is not None:
            built = _approved(problem, i, lock[0], lock[1], outcome, pools, notices)
            if isinstance(built, RuleConflict):
                conflicts.append(built)
            else:
                candidates.append(built)
        elif isinstance(outcome, Exclusion):
            exclusions.append(outcome)
        else:
            candidates.append(outcome)
    if unknown_budget:
        notices.append(
            Notice(
                PROJECT_BUDGET_UNKNOWN,
                f"{len(unknown_budget)} proposal(s) give no project budget, so the "
                "max_project_share_bp cap could not be applied to them",
                tuple(unknown_budget),
            )
        )
    return Prepared(
        candidates=tuple(candidates),
        exclusions=tuple(exclusions),
        pools=pools,
        total_fen=total,
        reserve_fen=reserve,
        available_fen=total - reserve,
        rank_order=rank_order(problem.proposals),
        conflicts=tuple(conflicts),
        notices=tuple(notices),
    )


def rank_order(proposals: tuple[AllocationProposal, ...]) -> tuple[int, ...]:
    """Indices by score, highest first; ties keep request order; unscored proposals last."""
    return tuple(
        sorted(
            range(len(proposals)),
            key=lambda i: (proposals[i].score is None, -(proposals[i].score or 0.0), i),
        )
    )


def _pools(problem: AllocationProblem) -> tuple[Pool, ...]:
    rules = problem.rules
    if not rules.pools:
        total = rules.total_budget_fen
        available = total - total * rules.reserve_bp // BP
        return (Pool(IMPLICIT_POOL_ID, available, "rules.total_budget_fen"),)
    return tuple(
        Pool(p.pool_id, p.amount_fen, f"rules.pools[{k}].amount_fen")
        for k, p in enumerate(rules.pools)
    )


def _eligible_pools(problem: AllocationProblem, proposal: AllocationProposal) -> tuple[int, ...]:
    if not problem.rules.pools:
        return (0,)
    return tuple(k for k, p in enumerate(problem.rules.pools) if p.admits(proposal))


class _Lookups:
    """Per-round lookups that every proposal needs: its tier's rule and its eligible pools
    (proposals with the same domain, region, tier and tags share them)."""

    def __init__(self, problem: AllocationProblem) -> None:
        self.problem = problem
        self.tier_index: dict[str, int] = {}
        for k, t in enumerate(problem.rules.tiers):
            self.tier_index.setdefault(t.tier, k)
        self.pools: dict[tuple[str, str, str, tuple[str, ...]], tuple[int, ...]] = {}

    def eligible_pools(self, proposal: AllocationProposal) -> tuple[int, ...]:
        key = (proposal.domain, proposal.region, proposal.tier, proposal.tags)
        found = self.pools.get(key)
        if found is None:
            found = self.pools[key] = _eligible_pools(self.problem, proposal)
        return found


def _bounds(
    problem: AllocationProblem,
    lookups: _Lookups,
    i: int,
    proposal: AllocationProposal,
    unknown_budget: list[str],
) -> Candidate | Exclusion:
    """Steps 1-6 of the module docstring for one unlocked proposal."""
    rules = problem.rules
    score = proposal.score
    if score is None:
        return Exclusion(i, UnfundedReason.NOT_SCORED, f"proposals[{i}].score", "it has no score")
    if rules.pass_line is not None and score < rules.pass_line:
        return Exclusion(
            i,
            UnfundedReason.BELOW_PASS_LINE,
            "rules.pass_line",
            f"its score {score:g} is below the pass line {rules.pass_line:g}",
        )
    ratio = BP
    if rules.score_bands:
        band = _band(problem, score)
        if band is None:
            lowest = min(b.min_score for b in rules.score_bands)
            return Exclusion(
                i,
                UnfundedReason.INELIGIBLE,
                "rules.score_bands",
                f"its score {score:g} is below every score band (the lowest starts at {lowest:g})",
            )
        ratio = rules.score_bands[band].funding_ratio_bp
    unit = rules.grant_unit_fen
    tier = lookups.tier_index.get(proposal.tier)
    fast = _legal_range(problem, proposal, ratio, tier)
    if fast is not None:  # the common case: no exclusion, so no rule names to build
        if rules.max_project_share_bp and not proposal.project_budget_fen:
            unknown_budget.append(proposal.proposal_id)
        pools = lookups.eligible_pools(proposal)
        if pools:
            return Candidate(i, max(fast[0], unit), fast[1], pools)
        return Exclusion(
            i,
            UnfundedReason.INELIGIBLE,
            "rules.pools",
            "no funding pool admits its domain, region, tier and tags",
        )
    request_rule = f"proposals[{i}].requested_fen"
    if ratio < BP:
        request_rule = f"rules.score_bands[{band}].funding_ratio_bp"
    caps = [(proposal.requested_fen * ratio // BP, request_rule)]
    if tier is not None and problem.rules.tiers[tier].max_grant_fen:
        caps.append((problem.rules.tiers[tier].max_grant_fen, f"rules.tiers[{tier}].max_grant_fen"))
    if rules.max_grant_fen:
        caps.append((rules.max_grant_fen, "rules.max_grant_fen"))
    if rules.max_project_share_bp:
        if proposal.project_budget_fen:
            share = proposal.project_budget_fen * rules.max_project_share_bp // BP
            caps.append((share, "rules.max_project_share_bp"))
        else:
            unknown_budget.append(proposal.proposal_id)
    if rules.donation_match_bp:
        caps.append(
            (proposal.donations_fen * rules.donation_match_bp // BP, "rules.donation_match_bp")
        )
    upper, upper_rule = min(caps)
    upper = upper // unit * unit
    floors = [(rules.min_grant_fen, "rules.min_grant_fen")]
    if tier is not None:
        floors.append(
            (problem.rules.tiers[tier].min_grant_fen, f"rules.tiers[{tier}].min_grant_fen")
        )
    floors.append((proposal.minimum_fen or upper, f"proposals[{i}].minimum_fen"))
    lower, lower_rule = max(floors)
    lower = -(-lower // unit) * unit
    if upper <= 0 or lower > upper:
        # Blame the cap that cut the grant, unless even the whole request is below the floor:
        # then the floor (a minimum grant above what was asked) is the rule at fault.
        below_floor = proposal.requested_fen < lower
        rule = lower_rule if upper > 0 and below_floor else upper_rule
        return Exclusion(
            i,
            UnfundedReason.INELIGIBLE,
            rule,
            f"no legal grant: at most {yuan(upper)} ({upper_rule}) but at least {yuan(lower)} "
            f"({lower_rule})",
        )
    pools = _eligible_pools(problem, proposal)
    if not pools:
        return Exclusion(
            i,
            UnfundedReason.INELIGIBLE,
            "rules.pools",
            "no funding pool admits its domain, region, tier and tags",
        )
    return Candidate(i, max(lower, unit), upper, pools)


def _legal_range(
    problem: AllocationProblem, proposal: AllocationProposal, ratio: int, tier: int | None
) -> tuple[int, int] | None:
    """(lower, upper) of steps 2-4 when they leave a legal grant, else None (the caller then
    works out, with rule names, which rules exclude it). Same arithmetic as _bounds."""
    rules = problem.rules
    unit = rules.grant_unit_fen
    upper = proposal.requested_fen * ratio // BP
    tier_rule = problem.rules.tiers[tier] if tier is not None else None
    if tier_rule is not None and tier_rule.max_grant_fen:
        upper = min(upper, tier_rule.max_grant_fen)
    if rules.max_grant_fen:
        upper = min(upper, rules.max_grant_fen)
    if rules.max_project_share_bp and proposal.project_budget_fen:
        upper = min(upper, proposal.project_budget_fen * rules.max_project_share_bp // BP)
    if rules.donation_match_bp:
        upper = min(upper, proposal.donations_fen * rules.donation_match_bp // BP)
    upper = upper // unit * unit
    lower = max(
        rules.min_grant_fen,
        tier_rule.min_grant_fen if tier_rule is not None else 0,
        proposal.minimum_fen or upper,
    )
    lower = -(-lower // unit) * unit
    if upper <= 0 or lower > upper:
        return None
    return lower, upper


def _band(problem: AllocationProblem, score: float) -> int | None:
    best: int | None = None
    for k, band in enumerate(problem.rules.score_bands):
        if band.min_score <= score and (
            best is None or band.min_score > problem.rules.score_bands[best].min_score
        ):
            best = k
    return best


def _approved(
    problem: AllocationProblem,
    i: int,
    k: int,
    lock: LockedDecision,
    outcome: Candidate | Exclusion,
    pools: tuple[Pool, ...],
    notices: list[Notice],
) -> Candidate | RuleConflict:
    """Step 7: a locked approval, honoured over the per-proposal rules where it can be."""
    rule = f"rules.locked_decisions[{k}]"
    proposal = problem.proposals[i]
    pool_index = next((p for p, pool in enumerate(pools) if pool.pool_id == lock.pool_id), None)
    if lock.pool_id and pool_index is not None:
        eligible: tuple[int, ...] = (pool_index,)
    elif isinstance(outcome, Candidate):
        eligible = outcome.pools
    else:
        eligible = _eligible_pools(problem, proposal)
    if isinstance(outcome, Exclusion):
        notices.append(
            Notice(
                LOCK_OVERRIDES_RULE,
                f'"{proposal.proposal_id}" is locked as approved although {outcome.message} '
                f"({outcome.rule}); the committee's decision stands",
                (proposal.proposal_id,),
            )
        )
    if (
        lock.pool_id
        and pool_index is not None
        and pool_index not in _eligible_pools(problem, proposal)
    ):
        notices.append(
            Notice(
                LOCK_OVERRIDES_RULE,
                f'"{proposal.proposal_id}" is locked as approved from pool "{lock.pool_id}", '
                f"which does not admit it (rules.pools[{pool_index}]); the committee's decision "
                "stands",
                (proposal.proposal_id,),
            )
        )
    if (
        lock.amount_fen
        and isinstance(outcome, Candidate)
        and not outcome.lower_fen <= lock.amount_fen <= outcome.upper_fen
    ):
        notices.append(
            Notice(
                LOCK_OVERRIDES_RULE,
                f'"{proposal.proposal_id}" is locked as approved at {yuan(lock.amount_fen)}, '
                f"outside the {yuan(outcome.lower_fen)}–{yuan(outcome.upper_fen)} its rules "
                "allow; the committee's decision stands",
                (proposal.proposal_id,),
            )
        )
    if lock.amount_fen:
        lower = upper = lock.amount_fen
    elif isinstance(outcome, Candidate):
        lower, upper = outcome.lower_fen, outcome.upper_fen
    else:
        return RuleConflict(
            (rule, outcome.rule),
            f'"{proposal.proposal_id}" is locked as approved without an agreed amount, but '
            f"{outcome.message}; give the agreed amount_fen",
        )
    if not eligible:
        return RuleConflict(
            (rule, "rules.pools"),
            f'"{proposal.proposal_id}" is locked as approved but no funding pool admits it; '
            "give the agreed pool_id",
        )
    return Candidate(i, lower, upper, eligible, approved=True, lock_rule=rule)
