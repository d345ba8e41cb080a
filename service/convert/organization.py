"""Organization messages to matching.organization, shared by MatchNeeds and MatchMentors."""

from __future__ import annotations

from collections.abc import Iterable

from matching.organization import Organization, Rating, WeakArea
from scoring.errors import Violations
from service.convert.common import StandIns, all_built, build, enum_from_pb
from venture.v1 import matching_pb2

RATING = {
    matching_pb2.ORGANIZATION_RATING_UNRATED: Rating.UNRATED,
    matching_pb2.ORGANIZATION_RATING_1A: Rating.A1,
    matching_pb2.ORGANIZATION_RATING_2A: Rating.A2,
    matching_pb2.ORGANIZATION_RATING_3A: Rating.A3,
    matching_pb2.ORGANIZATION_RATING_4A: Rating.A4,
    matching_pb2.ORGANIZATION_RATING_5A: Rating.A5,
}
RATING_PB = {rating: number for number, rating in RATING.items()}


def organization_from_pb(
    pb: matching_pb2.Organization, path: str, violations: Violations
) -> Organization | None:
    """One organization; zero counts take their documented defaults (capacity and
    mentors_wanted 0 → 1)."""
    before = len(violations)
    weak = all_built(
        build(violations, f"{path}.weak_areas[{k}]", WeakArea, w.area, w.severity)
        for k, w in enumerate(pb.weak_areas)
    )
    rating = enum_from_pb(pb.rating, RATING, Rating.UNRATED, f"{path}.rating", violations)
    # Checked whole even when a weak area or the rating did not convert (those left out), so
    # that one answer names every mistake; but then it did not convert.
    organization = build(
        violations,
        path,
        Organization,
        organization_id=pb.organization_id,
        display_name=pb.display_name,
        domains=tuple(pb.domains),
        regions=tuple(pb.regions),
        description=pb.description,
        past_projects=tuple(pb.past_projects),
        rating=rating,
        evaluation_grades=tuple(pb.evaluation_grades),
        capacity=pb.capacity or 1,
        min_load=pb.min_load,
        weak_areas=weak or (),
        mentors_wanted=pb.mentors_wanted or 1,
    )
    return organization if len(violations) == before else None


def organizations_or_stand_ins(
    pbs: Iterable[matching_pb2.Organization], stand_ins: StandIns
) -> tuple[Organization, ...]:
    """Every organization, one that does not convert standing in with its id alone (both
    matchings cross-check an organization by its id only)."""
    return tuple(
        organization_from_pb(pb, "", Violations())
        or Organization(
            stand_ins.named(f"organizations[{j}]", "organization_id", pb.organization_id)
        )
        for j, pb in enumerate(pbs)
    )


def organization_to_pb(org: Organization) -> matching_pb2.Organization:
    """The wire form of an organization (the examples and the tests write requests with it)."""
    return matching_pb2.Organization(
        organization_id=org.organization_id,
        display_name=org.display_name,
        domains=org.domains,
        regions=org.regions,
        description=org.description,
        past_projects=org.past_projects,
        rating=RATING_PB[org.rating],
        evaluation_grades=org.evaluation_grades,
        capacity=org.capacity,
        min_load=org.min_load,
        weak_areas=[
            matching_pb2.WeakArea(area=w.area, severity=w.severity) for w in org.weak_areas
        ],
        mentors_wanted=org.mentors_wanted,
    )
