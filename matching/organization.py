"""A social organization as needs matching and mentor matching see it (Organization in
protos/venture/v1/matching.proto). Shared by matching.needs and matching.mentors.

Plain frozen dataclasses, validated on construction; zero values of the API are resolved to
their documented defaults here (capacity 0 → 1, mentors_wanted 0 → 1), so engines never see
them. Field names follow the API, so violation paths read the same on the wire.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from scoring.errors import Violations

MAX_COUNT = 1_000_000
"""Largest capacity, load or demand accepted: far above any real round, and small enough that
sums over every item of the largest request stay exact in any solver."""


class Rating(enum.Enum):
    """An organization's official rating (等级评估); `value` is its affinity part in [0, 1]."""

    UNRATED = 0.0
    A1 = 0.2
    A2 = 0.4
    A3 = 0.6
    A4 = 0.8
    A5 = 1.0


@dataclass(frozen=True, slots=True)
class WeakArea:
    """An area an organization is weak in, from its assessment; severity in (0, 1]."""

    area: str
    severity: float

    def __post_init__(self) -> None:
        v = Violations()
        v.require(bool(self.area), "area", self.area, "must not be empty")
        v.require(
            math.isfinite(self.severity) and 0 < self.severity <= 1,
            "severity",
            self.severity,
            "must be in (0, 1]",
        )
        v.raise_if_any()


@dataclass(frozen=True, slots=True)
class Organization:
    """One organization. `capacity` and `mentors_wanted` are already resolved (≥ 1)."""

    organization_id: str
    display_name: str = ""
    domains: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    description: str = ""
    past_projects: tuple[str, ...] = ()
    rating: Rating = Rating.UNRATED
    evaluation_grades: tuple[float, ...] = ()
    """Past project evaluations, each 0..100."""
    capacity: int = 1
    """Most needs it can take on."""
    min_load: int = 0
    """Fewest needs it must take on; hard in every mode."""
    weak_areas: tuple[WeakArea, ...] = ()
    mentors_wanted: int = 1

    def __post_init__(self) -> None:
        v = Violations()
        v.require(
            bool(self.organization_id), "organization_id", self.organization_id, "must not be empty"
        )
        for k, grade in enumerate(self.evaluation_grades):
            v.require(
                math.isfinite(grade) and 0 <= grade <= 100,
                f"evaluation_grades[{k}]",
                grade,
                "must be between 0 and 100",
            )
        v.require(
            1 <= self.capacity <= MAX_COUNT,
            "capacity",
            self.capacity,
            f"must be between 1 and {MAX_COUNT} (0 on the wire means 1)",
        )
        v.require(
            0 <= self.min_load <= self.capacity,
            "min_load",
            self.min_load,
            f"must be between 0 and capacity ({self.capacity})",
        )
        v.require(
            1 <= self.mentors_wanted <= MAX_COUNT,
            "mentors_wanted",
            self.mentors_wanted,
            f"must be between 1 and {MAX_COUNT} (0 on the wire means 1)",
        )
        seen: dict[str, int] = {}
        for k, weak in enumerate(self.weak_areas):
            if weak.area in seen:
                v.add(
                    f"weak_areas[{k}].area",
                    weak.area,
                    f"duplicate, already given at weak_areas[{seen[weak.area]}]",
                )
            seen.setdefault(weak.area, k)
        v.raise_if_any()

    @property
    def track_record(self) -> float | None:
        """Mean past evaluation grade in [0, 1]; None when there is no record."""
        if not self.evaluation_grades:
            return None
        return sum(self.evaluation_grades) / (100.0 * len(self.evaluation_grades))
