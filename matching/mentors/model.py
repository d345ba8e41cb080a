"""Domain types of mentor matching: mentors, organizations and the policy in, the match out.

Plain frozen dataclasses, validated on construction (each object alone; how they refer to each
other is checked by matching.mentors.validate). Zero values of the API are resolved to their
documented defaults before construction (capacity 0 → 1). Field names follow
protos/venture/v1/matching.proto, so violation paths read the same on the wire.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from matching.organization import MAX_COUNT, Organization
from matching.status import SolveStatus
from scoring.errors import Violations
from scoring.model import Notice, StageTime

MIN_LEVEL = 1
MAX_LEVEL = 5


@dataclass(frozen=True, slots=True)
class Expertise:
    """A mentor's level in one area, 1 (basic) to 5 (leading expert)."""

    area: str
    level: int

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.area), "area", self.area, "must not be empty")
        v.require(
            MIN_LEVEL <= self.level <= MAX_LEVEL,
            "level",
            self.level,
            f"must be between {MIN_LEVEL} and {MAX_LEVEL}",
        )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class Mentor:
    """One mentor (导师/督导). `capacity` is already resolved (≥ 1)."""

    mentor_id: str
    display_name: str = ""
    expertise: tuple[Expertise, ...] = ()
    capacity: int = 1
    """Most organizations the mentor can take."""
    regions: tuple[str, ...] = ()
    """Regions the mentor can visit; empty (or remote): any."""
    remote: bool = False
    conflict_organization_ids: tuple[str, ...] = ()
    """Organizations the mentor must not serve (回避)."""

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.mentor_id), "mentor_id", self.mentor_id, "must not be empty")
        v.require(
            1 <= self.capacity <= MAX_COUNT,
            "capacity",
            self.capacity,
            f"must be between 1 and {MAX_COUNT} (0 on the wire means 1)",
        )
        seen: dict[str, int] = {}
        for k, item in enumerate(self.expertise):
            if item.area in seen:
                v.add(
                    f"expertise[{k}].area",
                    item.area,
                    f"duplicate, already given at expertise[{seen[item.area]}]",
                )
            seen.setdefault(item.area, k)
        v.raise_if_any()

    def level(self, area: str) -> int:
        """The mentor's level in `area`; 0 when the mentor has no expertise there."""
        return next((e.level for e in self.expertise if e.area == area), 0)

    def reaches(self, organization: Organization) -> bool:
        """Whether the mentor can serve the organization where it works.

        A remote mentor, or one with no regions, reaches every organization. Any other mentor
        reaches an organization that shares one of its regions; an organization that gives no
        regions is reachable only by remote or region-free mentors, since nothing says it is
        near a region-bound one.
        """
        if self.remote or not self.regions:
            return True
        return any(region in self.regions for region in organization.regions)


@dataclass(frozen=True, slots=True)
class MentorPolicy:
    """The rules of one mentor matching (MentorMatchingPolicy in the API)."""

    balance_load: bool = False
    """Among the matchings of the best coverage, take one whose busiest mentor has the fewest
    organizations, and among those the smallest sum of squared loads (both exact)."""


@dataclass(frozen=True, slots=True)
class MentorMatchingProblem:
    """Everything MatchMentors needs. Cross-references are checked by validate_problem."""

    mentors: tuple[Mentor, ...]
    organizations: tuple[Organization, ...]
    policy: MentorPolicy = field(default_factory=MentorPolicy)
    top_k: int = 5
    time_limit_s: float | None = None
    """None: the engine's default (matching.mentors.engine.DEFAULT_TIME_LIMIT_S)."""
    seed: int = 0


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoveredArea:
    """A weak area a mentor covers: the organization's severity there and the mentor's level."""

    area: str
    severity: float
    level: int


@dataclass(frozen=True, slots=True)
class MentorAssignment:
    """One (organization, mentor) match and the areas the mentor covers within the team.

    Within an organization's team each weak area is covered by the mentor with the best level
    in it (ties: the mentor given first), so the `covered` lists of a team do not overlap and
    every assigned mentor covers at least one area. `value` = Σ severity × level / 5 over them.
    """

    organization_id: str
    mentor_id: str
    covered: tuple[CoveredArea, ...]
    value: float


class UncoveredReason(enum.Enum):
    """Why a weak area stayed uncovered, the first that applies in this order."""

    NO_EXPERT = "no_expert"
    """No mentor has expertise in the area."""
    CONFLICT = "conflict"
    """Every expert in the area has a conflict of interest with the organization."""
    REGION = "region"
    """Every expert without a conflict is out of the organization's reach."""
    CAPACITY = "capacity"
    """Every expert that may serve the organization is full with other organizations."""
    MENTOR_LIMIT = "mentor_limit"
    """The organization's mentors_wanted went to mentors worth more to it."""


@dataclass(frozen=True, slots=True)
class UncoveredArea:
    """A weak area no assigned mentor covers, with the reason and the counts behind it."""

    organization_id: str
    area: str
    severity: float
    reason: UncoveredReason
    message: str


@dataclass(frozen=True, slots=True)
class MentorCandidate:
    """A ranked alternative mentor for an organization, by the value it alone would give."""

    mentor_id: str
    rank: int
    value: float
    areas: tuple[str, ...]
    """The organization's weak areas the mentor has, in the organization's order."""
    chosen: bool


@dataclass(frozen=True, slots=True)
class MentorAlternatives:
    organization_id: str
    candidates: tuple[MentorCandidate, ...]


@dataclass(frozen=True, slots=True)
class MentorMatchResult:
    """Everything MatchMentors computed.

    `objective` is the real-valued coverage Σ_org Σ_area severity × best team level / 5 of the
    returned matching; `best_bound` a proven upper bound on it (equal when OPTIMAL, unless
    severities had to be rounded for the solver, see matching.mentors.encode).
    """

    status: SolveStatus
    assignments: tuple[MentorAssignment, ...]
    uncovered: tuple[UncoveredArea, ...]
    alternatives: tuple[MentorAlternatives, ...]
    blocking_pairs: int
    objective: float
    best_bound: float
    notices: tuple[Notice, ...] = ()
    timings: tuple[StageTime, ...] = ()
    engine: str = ""

    @property
    def relative_gap(self) -> float:
        return abs(self.best_bound - self.objective) / max(1.0, abs(self.objective))

    def loads(self) -> dict[str, int]:
        """Organizations per mentor id, for the mentors with at least one."""
        found: dict[str, int] = {}
        for a in self.assignments:
            found[a.mentor_id] = found.get(a.mentor_id, 0) + 1
        return found
