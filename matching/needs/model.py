"""Domain types of needs matching: needs, organizations and the rules in, the matching out.

Plain frozen dataclasses, validated on construction (each object alone; how they refer to each
other is checked by matching.needs.validate). Zero values of the API are resolved to their
documented defaults here (min_organizations 0 → 1, max_organizations 0 → min, priority 0 → 1,
all-zero weights → DEFAULT_WEIGHTS). Field names follow protos/venture/v1/matching.proto.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from matching.organization import MAX_COUNT, Organization
from matching.status import SolveStatus
from scoring.errors import Violations
from scoring.model import Notice, StageTime

AFFINITY_PARTS = ("domain", "region", "text", "rating", "track_record", "capacity")
"""The parts of affinity, in the order they are reported."""


class MatchObjective(enum.Enum):
    """TOTAL_AFFINITY: maximise Σ priority × affinity. FAIR: maximise the worst-off need's
    affinity first, then the total (exact, lexicographic)."""

    TOTAL_AFFINITY = "total_affinity"
    FAIR = "fair"


@dataclass(frozen=True, slots=True)
class Need:
    """One community need. Counts are resolved: 1 ≤ min_organizations ≤ max_organizations."""

    need_id: str
    display_name: str = ""
    domain: str = ""
    region: str = ""
    description: str = ""
    min_organizations: int = 1
    max_organizations: int = 1
    priority: float = 1.0

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.need_id), "need_id", self.need_id, "must not be empty")
        v.require(
            1 <= self.min_organizations <= MAX_COUNT,
            "min_organizations",
            self.min_organizations,
            f"must be between 1 and {MAX_COUNT} (0 on the wire means 1)",
        )
        v.require(
            self.min_organizations <= self.max_organizations <= MAX_COUNT,
            "max_organizations",
            self.max_organizations,
            f"must be between min_organizations ({self.min_organizations}) and {MAX_COUNT}"
            " (0 on the wire means min_organizations)",
        )
        v.require(
            math.isfinite(self.priority) and 0 < self.priority <= 1_000,
            "priority",
            self.priority,
            "must be in (0, 1000] (0 on the wire means 1)",
        )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class AffinityWeights:
    """Weights of the affinity parts, each ≥ 0, not all zero. `normalised()` sums to 1."""

    domain: float = 0.35
    region: float = 0.2
    text: float = 0.25
    rating: float = 0.1
    track_record: float = 0.05
    capacity: float = 0.05

    def __post_init__(self) -> None:
        v = Violations()
        for name in AFFINITY_PARTS:
            value = getattr(self, name)
            v.require(math.isfinite(value) and value >= 0, name, value, "must be finite and ≥ 0")
        v.raise_if_any()

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, name)) for name in AFFINITY_PARTS)

    def normalised(self) -> tuple[float, ...]:
        """The weights in AFFINITY_PARTS order, scaled to sum to 1 (all zero: the default)."""
        values = self.as_tuple()
        total = sum(values)
        if total == 0:
            return DEFAULT_WEIGHTS.normalised()
        return tuple(w / total for w in values)


DEFAULT_WEIGHTS = AffinityWeights()
"""Domain 0.35, region 0.2, text 0.25, rating 0.1, track record 0.05, capacity 0.05."""


@dataclass(frozen=True, slots=True)
class PairRef:
    """A (need, organization) pair named by ids."""

    need_id: str
    organization_id: str


@dataclass(frozen=True, slots=True)
class NeedPolicy:
    """Weights, objective and hard rules of one matching."""

    weights: AffinityWeights = DEFAULT_WEIGHTS
    objective: MatchObjective = MatchObjective.TOTAL_AFFINITY
    region_adjacency: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Region → regions adjacent to it. Adjacency is symmetric: giving a→b also makes b→a."""
    forbidden_pairs: tuple[PairRef, ...] = ()
    fixed_pairs: tuple[PairRef, ...] = ()
    one_organization_per_domain: bool = False
    min_affinity: float = 0.0
    """Pairs below this are not candidates (fixed pairs always are)."""
    candidates_per_need: int = 0
    """Keep only this many best candidates per need (fixed pairs always kept); 0: all."""
    soft_minimums: bool = False

    def __post_init__(self) -> None:
        v = Violations()
        v.require(
            math.isfinite(self.min_affinity) and 0 <= self.min_affinity <= 1,
            "min_affinity",
            self.min_affinity,
            "must be in [0, 1]",
        )
        v.require(
            0 <= self.candidates_per_need <= MAX_COUNT,
            "candidates_per_need",
            self.candidates_per_need,
            f"must be between 0 and {MAX_COUNT}",
        )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class NeedMatchingProblem:
    """Everything MatchNeeds needs. Cross-references are checked by validate_problem."""

    needs: tuple[Need, ...]
    organizations: tuple[Organization, ...]
    policy: NeedPolicy = field(default_factory=NeedPolicy)
    top_k: int = 5
    time_limit_s: float | None = None
    """None: no limit (the engine's own defaults apply)."""
    seed: int = 0


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AffinityPart:
    """One part of an affinity: its normalised weight, its value in [0, 1], weight × value."""

    part: str
    weight: float
    value: float
    contribution: float


@dataclass(frozen=True, slots=True)
class Affinity:
    """Total affinity in [0, 1] and its parts, whose contributions sum to the total."""

    total: float
    parts: tuple[AffinityPart, ...]


@dataclass(frozen=True, slots=True)
class NeedAssignment:
    need_id: str
    organization_id: str
    affinity: Affinity
    fixed: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked alternative: an organization for a need, or a need for an organization."""

    candidate_id: str
    rank: int
    affinity: Affinity
    chosen: bool


@dataclass(frozen=True, slots=True)
class NeedCandidates:
    need_id: str
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class OrganizationCandidates:
    organization_id: str
    candidates: tuple[Candidate, ...]


class UnmetReason(enum.Enum):
    """Why a need got fewer organizations than its minimum."""

    NO_CANDIDATE = "no_candidate"
    CONFLICTS = "conflicts"
    CAPACITY_EXHAUSTED = "capacity_exhausted"
    REGION_MISMATCH = "region_mismatch"
    DOMAIN_MISMATCH = "domain_mismatch"


@dataclass(frozen=True, slots=True)
class UnmetNeed:
    need_id: str
    required: int
    assigned: int
    reason: UnmetReason
    message: str
    candidates: int
    """Candidate organizations that remained after conflicts."""


@dataclass(frozen=True, slots=True)
class NeedMatchResult:
    """Everything MatchNeeds computed."""

    status: SolveStatus
    assignments: tuple[NeedAssignment, ...]
    need_candidates: tuple[NeedCandidates, ...]
    organization_candidates: tuple[OrganizationCandidates, ...]
    unmet_needs: tuple[UnmetNeed, ...]
    total_affinity: float
    worst_need_affinity: float
    objective: float
    best_bound: float
    notices: tuple[Notice, ...] = ()
    timings: tuple[StageTime, ...] = ()

    @property
    def relative_gap(self) -> float:
        return abs(self.best_bound - self.objective) / max(1.0, abs(self.objective))
