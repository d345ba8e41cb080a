"""Domain types of budget allocation: the round's proposals and rules in, the funded list out.

Plain frozen dataclasses, validated on construction (each object alone; how they refer to each
other is checked by matching.allocation.validate). Nothing here knows about protobuf; field
names and list orders follow the API (protos/venture/v1/allocation.proto), so violation paths
read the same on the wire. Money is integer fen everywhere; scores are floats.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from matching.status import SolveStatus
from scoring.errors import Violations
from scoring.model import Notice, StageTime

MAX_FEN = 10**15
"""Largest amount accepted anywhere (10 trillion yuan): sums of many such amounts still fit in
a signed 64-bit integer, which CP-SAT and the wire format need."""
BP = 10_000
"""Basis points in one whole (10000 bp = 100%)."""


class Dimension(enum.Enum):
    """What a quota or a spend line counts by."""

    DOMAIN = "domain"
    REGION = "region"
    TIER = "tier"
    POOL = "pool"


class Objective(enum.Enum):
    """What the allocation maximises (see AllocationRules.objective in the API)."""

    TOTAL_SCORE = "total_score"
    SCORE_WEIGHTED_AMOUNT = "score_weighted_amount"
    RANK_ORDER = "rank_order"


class QuotaMode(enum.Enum):
    """HARD: quotas must hold. SOFT: quotas are penalised targets."""

    HARD = "hard"
    SOFT = "soft"


class LockKind(enum.Enum):
    """A committee decision that re-optimising must not move."""

    APPROVED = "approved"
    REJECTED = "rejected"


class UnfundedReason(enum.Enum):
    """Why a proposal was left out (each comes with the rule behind it)."""

    BELOW_PASS_LINE = "below_pass_line"
    INELIGIBLE = "ineligible"
    BUDGET_EXHAUSTED = "budget_exhausted"
    POOL_EXHAUSTED = "pool_exhausted"
    DOMAIN_MAXIMUM = "domain_maximum"
    REGION_MAXIMUM = "region_maximum"
    TIER_MAXIMUM = "tier_maximum"
    ORGANIZATION_LIMIT = "organization_limit"
    LOCKED_REJECTED = "locked_rejected"
    DISPLACED_BY_QUOTA = "displaced_by_quota"
    NOT_SCORED = "not_scored"


def _money(v: Violations, name: str, value: int) -> None:
    v.require(
        0 <= value <= MAX_FEN,
        name,
        value,
        f"must be between 0 and {MAX_FEN} fen",
    )


def _bp(v: Violations, name: str, value: int, most: int = BP) -> None:
    v.require(0 <= value <= most, name, value, f"must be between 0 and {most} basis points")


# ---------------------------------------------------------------------------------------------
# The problem
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllocationProposal:
    """What allocation needs to know about one scored application."""

    proposal_id: str
    score: float | None
    """None: not scored (reported NOT_SCORED, never funded)."""
    organization_id: str = ""
    domain: str = ""
    region: str = ""
    tier: str = ""
    tags: tuple[str, ...] = ()
    requested_fen: int = 0
    minimum_fen: int = 0
    """Smallest grant accepted (partial funding); 0: only the full (band- and cap-limited)
    amount is acceptable."""
    project_budget_fen: int = 0
    """0: unknown; a project-share cap then cannot be applied (reported)."""
    donations_fen: int = 0

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.proposal_id), "proposal_id", self.proposal_id, "must not be empty")
        if self.score is not None:
            v.require(math.isfinite(self.score), "score", self.score, "must be a finite number")
        for name in ("requested_fen", "minimum_fen", "project_budget_fen", "donations_fen"):
            _money(v, name, getattr(self, name))
        v.require(self.requested_fen > 0, "requested_fen", self.requested_fen, "must be positive")
        v.require(
            self.minimum_fen <= self.requested_fen,
            "minimum_fen",
            self.minimum_fen,
            f"must not exceed requested_fen ({self.requested_fen})",
        )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class FundingPool:
    """A pot of money with its own eligibility; an empty list admits any value."""

    pool_id: str
    amount_fen: int
    eligible_domains: tuple[str, ...] = ()
    eligible_regions: tuple[str, ...] = ()
    eligible_tiers: tuple[str, ...] = ()
    eligible_tags: tuple[str, ...] = ()
    """A proposal needs at least one of these tags."""
    display_name: str = ""

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.pool_id), "pool_id", self.pool_id, "must not be empty")
        _money(v, "amount_fen", self.amount_fen)
        v.raise_if_any()

    def admits(self, proposal: AllocationProposal) -> bool:
        """Whether this pool may fund the proposal."""
        return (
            (not self.eligible_domains or proposal.domain in self.eligible_domains)
            and (not self.eligible_regions or proposal.region in self.eligible_regions)
            and (not self.eligible_tiers or proposal.tier in self.eligible_tiers)
            and (not self.eligible_tags or any(t in self.eligible_tags for t in proposal.tags))
        )


@dataclass(frozen=True, slots=True)
class TierRule:
    """Grant limits of one tier; 0 means no limit from this rule."""

    tier: str
    max_grant_fen: int = 0
    min_grant_fen: int = 0

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.tier), "tier", self.tier, "must not be empty")
        _money(v, "max_grant_fen", self.max_grant_fen)
        _money(v, "min_grant_fen", self.min_grant_fen)
        if self.max_grant_fen:
            v.require(
                self.min_grant_fen <= self.max_grant_fen,
                "min_grant_fen",
                self.min_grant_fen,
                f"must not exceed max_grant_fen ({self.max_grant_fen})",
            )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class ScoreBand:
    """Scores from min_score up to the next band's min_score are funded at this share."""

    min_score: float
    funding_ratio_bp: int

    def __post_init__(self) -> None:
        v = Violations()
        v.require(math.isfinite(self.min_score), "min_score", self.min_score, "must be finite")
        v.require(
            0 < self.funding_ratio_bp <= BP,
            "funding_ratio_bp",
            self.funding_ratio_bp,
            f"must be between 1 and {BP} basis points",
        )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class Quota:
    """Minimum and maximum count and amount of grants for one domain, region, tier or pool."""

    dimension: Dimension
    key: str
    min_count: int = 0
    max_count: int | None = None
    min_amount_fen: int = 0
    max_amount_fen: int | None = None

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.key), "key", self.key, "must not be empty")
        v.require(self.min_count >= 0, "min_count", self.min_count, "must not be negative")
        _money(v, "min_amount_fen", self.min_amount_fen)
        if self.max_count is not None:
            v.require(
                self.min_count <= self.max_count,
                "max_count",
                self.max_count,
                f"must not be below min_count ({self.min_count})",
            )
        if self.max_amount_fen is not None:
            _money(v, "max_amount_fen", self.max_amount_fen)
            v.require(
                self.min_amount_fen <= self.max_amount_fen,
                "max_amount_fen",
                self.max_amount_fen,
                f"must not be below min_amount_fen ({self.min_amount_fen})",
            )
        v.require(
            bool(self.min_count or self.max_count is not None or self.min_amount_fen)
            or self.max_amount_fen is not None,
            "min_count",
            self.min_count,
            "a quota needs at least one of min_count, max_count, min_amount_fen, max_amount_fen",
        )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class LockedDecision:
    """A decision already taken: APPROVED (optionally at an agreed amount and pool) or REJECTED."""

    proposal_id: str
    kind: LockKind
    amount_fen: int = 0
    """APPROVED: the agreed grant; 0: any legal amount."""
    pool_id: str = ""
    """APPROVED: the agreed pool; empty: any eligible pool."""

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.proposal_id), "proposal_id", self.proposal_id, "must not be empty")
        _money(v, "amount_fen", self.amount_fen)
        if self.kind is LockKind.REJECTED:
            v.require(
                self.amount_fen == 0 and not self.pool_id,
                "amount_fen",
                self.amount_fen,
                "a rejected decision has no amount or pool",
            )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class AllocationRules:
    """The budget rules of a round. Zero values mean "no such rule" unless noted."""

    total_budget_fen: int
    """The whole budget; 0 with pools given: the sum of the pools."""
    reserve_bp: int = 0
    """Kept aside: floor(total × reserve_bp / 10000)."""
    pools: tuple[FundingPool, ...] = ()
    """Empty: one pool holding the whole available budget."""
    tiers: tuple[TierRule, ...] = ()
    score_bands: tuple[ScoreBand, ...] = ()
    """Empty: every passing score is funded at 100% of the request."""
    min_grant_fen: int = 0
    max_grant_fen: int = 0
    grant_unit_fen: int = 1
    max_grants_per_organization: int = 1
    max_project_share_bp: int = 0
    donation_match_bp: int = 0
    quotas: tuple[Quota, ...] = ()
    require_region_coverage: bool = False
    locked_decisions: tuple[LockedDecision, ...] = ()
    objective: Objective = Objective.TOTAL_SCORE
    pass_line: float | None = None
    quota_mode: QuotaMode = QuotaMode.HARD
    quota_penalty: float = 0.0
    """SOFT: objective units per missing (or excess) grant of a count quota, and per 1万 yuan
    (1,000,000 fen) of an amount quota. 0: larger than the whole objective can be, so
    quotas are met whenever they can be and violated as little as possible otherwise."""

    def __post_init__(self) -> None:
        v = Violations()
        _money(v, "total_budget_fen", self.total_budget_fen)
        _bp(v, "reserve_bp", self.reserve_bp, BP - 1)
        for name in ("min_grant_fen", "max_grant_fen"):
            _money(v, name, getattr(self, name))
        if self.max_grant_fen:
            v.require(
                self.min_grant_fen <= self.max_grant_fen,
                "min_grant_fen",
                self.min_grant_fen,
                f"must not exceed max_grant_fen ({self.max_grant_fen})",
            )
        v.require(
            1 <= self.grant_unit_fen <= MAX_FEN,
            "grant_unit_fen",
            self.grant_unit_fen,
            "must be a positive number of fen",
        )
        v.require(
            self.max_grants_per_organization >= 1,
            "max_grants_per_organization",
            self.max_grants_per_organization,
            "must be at least 1",
        )
        _bp(v, "max_project_share_bp", self.max_project_share_bp)
        _bp(v, "donation_match_bp", self.donation_match_bp, 100 * BP)
        if self.pass_line is not None:
            v.require(math.isfinite(self.pass_line), "pass_line", self.pass_line, "must be finite")
        v.require(
            math.isfinite(self.quota_penalty) and self.quota_penalty >= 0,
            "quota_penalty",
            self.quota_penalty,
            "must be a non-negative number",
        )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class AllocationProblem:
    """Everything AllocateFunding needs. Cross-references are checked by validate_problem."""

    proposals: tuple[AllocationProposal, ...]
    rules: AllocationRules
    time_limit_s: float | None = None
    """None: no limit (the engine's own defaults apply)."""
    seed: int = 0


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Award:
    """A grant: how much, from which pool."""

    proposal_id: str
    amount_fen: int
    pool_id: str
    requested_fen: int
    score: float
    locked: bool = False


@dataclass(frozen=True, slots=True)
class Unfunded:
    """A proposal left out: the reason, the rule behind it as a field path, and why in words."""

    proposal_id: str
    reason: UnfundedReason
    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Spend:
    """Money and grants per pool, domain, region or tier."""

    dimension: Dimension
    key: str
    amount_fen: int
    count: int


@dataclass(frozen=True, slots=True)
class DecisionMargin:
    """Unfunded: how much higher the score must be to be funded. Funded: how far it can fall
    and stay funded. `exact` False means a stated bound (the message of the API says which)."""

    proposal_id: str
    funded: bool
    score_margin: float
    exact: bool


@dataclass(frozen=True, slots=True)
class RuleConflict:
    """A small set of rules (field paths) that cannot all hold, and why."""

    rules: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class QuotaViolation:
    """SOFT mode: how far a quota was missed (count and money)."""

    rule: str
    count_violation: int
    amount_violation_fen: int


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """Everything AllocateFunding computed. Awards are in score order (then request order)."""

    status: SolveStatus
    awards: tuple[Award, ...]
    unfunded: tuple[Unfunded, ...]
    spend: tuple[Spend, ...]
    available_fen: int
    awarded_fen: int
    remaining_fen: int
    objective: float
    best_bound: float
    margins: tuple[DecisionMargin, ...] = ()
    conflicts: tuple[RuleConflict, ...] = ()
    quota_violations: tuple[QuotaViolation, ...] = ()
    notices: tuple[Notice, ...] = ()
    timings: tuple[StageTime, ...] = field(default=())

    @property
    def relative_gap(self) -> float:
        return abs(self.best_bound - self.objective) / max(1.0, abs(self.objective))
