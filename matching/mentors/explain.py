"""A matching (teams of mentor indices) in the result's terms: the assignments with the areas
each mentor covers, every uncovered weak area with its reason, ranked alternatives, blocking
pairs, and the notices the input alone calls for."""

from __future__ import annotations

from matching.mentors.encode import Encoded
from matching.mentors.model import (
    MAX_LEVEL,
    CoveredArea,
    MentorAlternatives,
    MentorAssignment,
    MentorCandidate,
    MentorMatchingProblem,
    UncoveredArea,
    UncoveredReason,
)
from matching.mentors.teams import Teams, covering
from matching.organization import Organization
from scoring.model import Notice

NO_WEAK_AREAS = "NO_WEAK_AREAS"
NO_EXPERT_FOR_AREA = "NO_EXPERT_FOR_AREA"
MENTORS_WITHOUT_EXPERTISE = "MENTORS_WITHOUT_EXPERTISE"
ORGANIZATIONS_WITHOUT_REGION = "ORGANIZATIONS_WITHOUT_REGION"


def assignments(enc: Encoded, teams: Teams) -> tuple[MentorAssignment, ...]:
    """Every match, by organization then mentor, with the areas each mentor covers."""
    problem = enc.problem
    found: list[MentorAssignment] = []
    for o, team in enumerate(teams):
        org = problem.organizations[o]
        for m, cover in sorted(covering(enc, o, team).items()):
            covered = tuple(
                CoveredArea(org.weak_areas[a].area, org.weak_areas[a].severity, level)
                for a, level in cover
            )
            value = sum(c.severity * c.level / MAX_LEVEL for c in covered)
            found.append(
                MentorAssignment(org.organization_id, problem.mentors[m].mentor_id, covered, value)
            )
    return tuple(found)


def uncovered(enc: Encoded, teams: Teams) -> tuple[UncoveredArea, ...]:
    """Every weak area no team member covers, with the first reason that applies (see
    UncoveredReason) and the counts behind it."""
    problem = enc.problem
    load = _loads(enc, teams)
    experts: dict[str, list[int]] = {}
    for m, mentor in enumerate(problem.mentors):
        for e in mentor.expertise:
            experts.setdefault(e.area, []).append(m)
    found: list[UncoveredArea] = []
    for o, org in enumerate(problem.organizations):
        covered = {a for cover in covering(enc, o, teams[o]).values() for a, _ in cover}
        for a, weak in enumerate(org.weak_areas):
            if a in covered:
                continue
            reason, message = _why(enc, o, experts.get(weak.area, []), weak.area, teams, load)
            found.append(
                UncoveredArea(org.organization_id, weak.area, weak.severity, reason, message)
            )
    return tuple(found)


def _why(
    enc: Encoded, o: int, experts: list[int], area: str, teams: Teams, load: list[int]
) -> tuple[UncoveredReason, str]:
    problem = enc.problem
    org = problem.organizations[o]
    if not experts:
        return UncoveredReason.NO_EXPERT, f'no mentor in the pool has expertise in "{area}"'
    free = [
        m
        for m in experts
        if org.organization_id not in problem.mentors[m].conflict_organization_ids
    ]
    n = len(experts)
    if not free:
        return (
            UncoveredReason.CONFLICT,
            f'all {n} mentor(s) with expertise in "{area}" have a conflict of interest with '
            "this organization (回避)",
        )
    allowed = [m for m in free if (o, m) in enc.pair_of]
    if not allowed:
        conflicted = n - len(free)
        also = f"; the other {conflicted} have a conflict of interest" if conflicted else ""
        return (
            UncoveredReason.REGION,
            f'none of the {len(free)} mentor(s) with expertise in "{area}" and no conflict can '
            f"reach {_where(org)}{also}",
        )
    room = [m for m in allowed if load[m] < problem.mentors[m].capacity]
    if not room:
        return (
            UncoveredReason.CAPACITY,
            f'all {len(allowed)} mentor(s) with expertise in "{area}" who may serve this '
            "organization are at capacity with other organizations",
        )
    return (
        UncoveredReason.MENTOR_LIMIT,
        f"the organization wanted {org.mentors_wanted} mentor(s), and its team of "
        f"{len(teams[o])} covers areas worth more; {len(room)} of the {len(allowed)} mentor(s) "
        f'with expertise in "{area}" who may serve it still have room',
    )


def _where(org: Organization) -> str:
    if org.regions:
        return "its regions (" + ", ".join(org.regions) + ")"
    return "it: it gives no regions, so only remote or region-free mentors can serve it"


def alternatives(enc: Encoded, teams: Teams) -> tuple[MentorAlternatives, ...]:
    """For every organization, its top_k mentors by the value each alone would give (ties: the
    mentor given first). Mentors with a conflict or out of reach are not listed: they are not
    alternatives; the uncovered areas' reasons account for them."""
    problem = enc.problem
    found: list[MentorAlternatives] = []
    for o, org in enumerate(problem.organizations):
        ranked = sorted(enc.org_pairs[o], key=lambda p: (-enc.pair_solo[p], enc.pair_mentor[p]))
        candidates = []
        for rank, p in enumerate(ranked[: problem.top_k], start=1):
            m = enc.pair_mentor[p]
            weak = [org.weak_areas[a] for a, _ in enc.pair_levels[p]]
            value = sum(
                w.severity * level / MAX_LEVEL
                for w, (_, level) in zip(weak, enc.pair_levels[p], strict=True)
            )
            candidates.append(
                MentorCandidate(
                    problem.mentors[m].mentor_id,
                    rank,
                    value,
                    tuple(w.area for w in weak),
                    m in teams[o],
                )
            )
        found.append(MentorAlternatives(org.organization_id, tuple(candidates)))
    return tuple(found)


def blocking_pairs(enc: Encoded, teams: Teams) -> int:
    """Allowed, unmatched pairs that both sides would rather have, each ranking by the pair's
    solo value: the organization has a free team slot or values the mentor above its worst team
    member, and the mentor has room or values the organization above its worst one."""
    problem = enc.problem
    chosen = {enc.pair_of[(o, m)] for o, team in enumerate(teams) for m in team}
    worst_for_org: dict[int, int] = {}
    worst_for_mentor: dict[int, int] = {}
    for p in chosen:
        o, m, value = enc.pair_org[p], enc.pair_mentor[p], enc.pair_solo[p]
        worst_for_org[o] = min(worst_for_org.get(o, value), value)
        worst_for_mentor[m] = min(worst_for_mentor.get(m, value), value)
    load = _loads(enc, teams)
    count = 0
    for p in range(enc.pairs):
        if p in chosen:
            continue
        o, m, value = enc.pair_org[p], enc.pair_mentor[p], enc.pair_solo[p]
        org_wants = (
            len(teams[o]) < problem.organizations[o].mentors_wanted or value > worst_for_org[o]
        )
        mentor_wants = load[m] < problem.mentors[m].capacity or value > worst_for_mentor[m]
        count += org_wants and mentor_wants
    return count


def _loads(enc: Encoded, teams: Teams) -> list[int]:
    load = [0] * len(enc.problem.mentors)
    for team in teams:
        for m in team:
            load[m] += 1
    return load


def input_notices(problem: MentorMatchingProblem) -> list[Notice]:
    """What the input alone tells the caller: organizations and areas nobody can help with."""
    notices: list[Notice] = []
    bare = [o.organization_id for o in problem.organizations if not o.weak_areas]
    if bare:
        notices.append(
            Notice(
                NO_WEAK_AREAS,
                f"{len(bare)} organization(s) list no weak areas, so they get no mentor",
                tuple(bare),
            )
        )
    idle = [m.mentor_id for m in problem.mentors if not m.expertise]
    if idle:
        notices.append(
            Notice(
                MENTORS_WITHOUT_EXPERTISE,
                f"{len(idle)} mentor(s) list no expertise, so they cover nothing",
                tuple(idle),
            )
        )
    notices += _areas_without_expert(problem)
    notices += _organizations_without_region(problem)
    return notices


def _areas_without_expert(problem: MentorMatchingProblem) -> list[Notice]:
    offered = {e.area for m in problem.mentors for e in m.expertise}
    wanting: dict[str, list[str]] = {}
    for org in problem.organizations:
        for weak in org.weak_areas:
            if weak.area not in offered:
                wanting.setdefault(weak.area, []).append(org.organization_id)
    return [
        Notice(
            NO_EXPERT_FOR_AREA,
            f'no mentor has expertise in "{area}", a weak area of {len(ids)} organization(s)',
            tuple(ids),
        )
        for area, ids in sorted(wanting.items())
    ]


def _organizations_without_region(problem: MentorMatchingProblem) -> list[Notice]:
    """Organizations with no regions that a region-bound mentor could otherwise have helped."""
    bound = [m for m in problem.mentors if m.regions and not m.remote]
    missed = [
        org.organization_id
        for org in problem.organizations
        if not org.regions
        and any(
            org.organization_id not in m.conflict_organization_ids
            and any(m.level(w.area) for w in org.weak_areas)
            for m in bound
        )
    ]
    if not missed:
        return []
    return [
        Notice(
            ORGANIZATIONS_WITHOUT_REGION,
            f"{len(missed)} organization(s) give no regions, so mentors bound to regions were "
            "not considered for them (only remote or region-free mentors were); give their "
            "regions to widen the choice",
            tuple(missed),
        )
    ]
