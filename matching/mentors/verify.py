"""The shared validator: does a MentorMatchResult obey every rule of its problem, and does it
agree with itself? Tests and benchmarks check every answer with this one function.

`violations(problem, result)` returns plain-language problems; empty means legal. It re-derives
everything from the problem's own objects (Mentor.level, Mentor.reaches) and never trusts the
result's bookkeeping: covered areas, values, the objective, the uncovered listing and its reasons,
the alternatives and the blocking pairs are all recomputed and compared.
"""

from __future__ import annotations

import math
from collections import Counter

from matching.mentors.model import (
    MAX_LEVEL,
    Mentor,
    MentorAssignment,
    MentorMatchingProblem,
    MentorMatchResult,
    UncoveredReason,
)
from matching.organization import Organization
from matching.status import SolveStatus

TOLERANCE = 1e-9

Team = dict[str, list[str]]
"""Organization id → its mentors' ids, in the order the problem gives the mentors."""


def violations(problem: MentorMatchingProblem, result: MentorMatchResult) -> list[str]:
    """Every way `result` breaks a rule of `problem` or contradicts itself; empty when legal."""
    mentors = {m.mentor_id: m for m in problem.mentors}
    orgs = {o.organization_id: o for o in problem.organizations}
    found: list[str] = []
    pairs = _pairs(result.assignments, mentors, orgs, found)
    if found:
        return found
    teams = _teams(problem, pairs)
    found += _limits(problem, teams)
    found += _coverage(problem, result, teams)
    found += _uncovered(problem, result, teams)
    found += _alternatives(problem, result, teams)
    blocking = _blocking_pairs(problem, teams)
    if blocking != result.blocking_pairs:
        found.append(f"blocking_pairs is {result.blocking_pairs}, recomputed {blocking}")
    found += _summary(result)
    return found


def _pairs(
    assignments: tuple[MentorAssignment, ...],
    mentors: dict[str, Mentor],
    orgs: dict[str, Organization],
    found: list[str],
) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for a in assignments:
        pair = (a.organization_id, a.mentor_id)
        if a.organization_id not in orgs or a.mentor_id not in mentors:
            found.append(f"assignment {pair} names an unknown organization or mentor")
        elif pair in pairs:
            found.append(f"assignment {pair} is listed twice")
        else:
            pairs.append(pair)
            mentor, org = mentors[a.mentor_id], orgs[a.organization_id]
            if a.organization_id in mentor.conflict_organization_ids:
                found.append(f"assignment {pair}: the mentor has a conflict with the organization")
            if not mentor.reaches(org):
                found.append(f"assignment {pair}: the mentor cannot reach the organization")
    return pairs


def _teams(problem: MentorMatchingProblem, pairs: list[tuple[str, str]]) -> Team:
    chosen = set(pairs)
    return {
        o.organization_id: [
            m.mentor_id for m in problem.mentors if (o.organization_id, m.mentor_id) in chosen
        ]
        for o in problem.organizations
    }


def _limits(problem: MentorMatchingProblem, teams: Team) -> list[str]:
    found: list[str] = []
    load = Counter(m for team in teams.values() for m in team)
    for mentor in problem.mentors:
        if load[mentor.mentor_id] > mentor.capacity:
            found.append(
                f'mentor "{mentor.mentor_id}" has {load[mentor.mentor_id]} organizations, '
                f"capacity {mentor.capacity}"
            )
    for org in problem.organizations:
        if len(teams[org.organization_id]) > org.mentors_wanted:
            found.append(
                f'organization "{org.organization_id}" has {len(teams[org.organization_id])} '
                f"mentors, wanted at most {org.mentors_wanted}"
            )
    return found


def covered_by(
    problem: MentorMatchingProblem, org: Organization, team: list[str]
) -> dict[str, str]:
    """Weak area → the team member covering it: best level, ties to the mentor given first."""
    best: dict[str, tuple[int, str]] = {}
    for mentor in problem.mentors:
        if mentor.mentor_id not in team:
            continue
        for weak in org.weak_areas:
            level = mentor.level(weak.area)
            if level and (weak.area not in best or level > best[weak.area][0]):
                best[weak.area] = (level, mentor.mentor_id)
    return {area: m for area, (_, m) in best.items()}


def _coverage(problem: MentorMatchingProblem, result: MentorMatchResult, teams: Team) -> list[str]:
    """Each assignment's covered areas and value, and the objective, recomputed."""
    found: list[str] = []
    mentors = {m.mentor_id: m for m in problem.mentors}
    by_pair = {(a.organization_id, a.mentor_id): a for a in result.assignments}
    total = 0.0
    for org in problem.organizations:
        cover = covered_by(problem, org, teams[org.organization_id])
        for m in teams[org.organization_id]:
            a = by_pair[(org.organization_id, m)]
            expected = [
                (w.area, w.severity, mentors[m].level(w.area))
                for w in org.weak_areas
                if cover.get(w.area) == m
            ]
            given = [(c.area, c.severity, c.level) for c in a.covered]
            if not expected:
                found.append(f"assignment {(org.organization_id, m)} covers nothing")
            if given != expected:
                found.append(
                    f"assignment {(org.organization_id, m)} covers {given}, not {expected}"
                )
            value = sum(s * level / MAX_LEVEL for _, s, level in expected)
            if not math.isclose(a.value, value, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
                found.append(f"assignment {(org.organization_id, m)} value {a.value}, not {value}")
            total += value
    if not math.isclose(result.objective, total, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
        found.append(f"objective {result.objective}, recomputed {total}")
    return found


def _uncovered(problem: MentorMatchingProblem, result: MentorMatchResult, teams: Team) -> list[str]:
    """Exactly the uncovered weak areas are listed, each once, with a reason that holds."""
    found: list[str] = []
    load = Counter(m for team in teams.values() for m in team)
    listed = {(u.organization_id, u.area): u for u in result.uncovered}
    if len(listed) != len(result.uncovered):
        found.append("an uncovered area is listed twice")
    for org in problem.organizations:
        cover = covered_by(problem, org, teams[org.organization_id])
        for weak in org.weak_areas:
            entry = listed.pop((org.organization_id, weak.area), None)
            if weak.area in cover:
                if entry is not None:
                    found.append(f"{(org.organization_id, weak.area)} is covered yet listed")
                continue
            if entry is None:
                found.append(f"{(org.organization_id, weak.area)} is uncovered but not listed")
                continue
            if entry.severity != weak.severity or not entry.message:
                found.append(f"{(org.organization_id, weak.area)}: wrong severity or no message")
            reason = _reason(problem, org, weak.area, teams, load)
            if entry.reason is not reason:
                found.append(
                    f"{(org.organization_id, weak.area)}: reason {entry.reason.value}, "
                    f"expected {reason.value}"
                )
    found += [f"{key} is listed as uncovered but is no weak area" for key in listed]
    return found


def _reason(
    problem: MentorMatchingProblem,
    org: Organization,
    area: str,
    teams: Team,
    load: Counter[str],
) -> UncoveredReason:
    experts = [m for m in problem.mentors if m.level(area)]
    free = [m for m in experts if org.organization_id not in m.conflict_organization_ids]
    allowed = [m for m in free if m.reaches(org)]
    if not experts:
        return UncoveredReason.NO_EXPERT
    if not free:
        return UncoveredReason.CONFLICT
    if not allowed:
        return UncoveredReason.REGION
    if all(load[m.mentor_id] >= m.capacity for m in allowed):
        return UncoveredReason.CAPACITY
    return UncoveredReason.MENTOR_LIMIT


def solo_value(mentor: Mentor, org: Organization) -> float:
    """What the mentor alone would give the organization."""
    return sum(w.severity * mentor.level(w.area) / MAX_LEVEL for w in org.weak_areas)


def allowed(mentor: Mentor, org: Organization) -> bool:
    """The mentor may serve the organization and would add something."""
    return (
        org.organization_id not in mentor.conflict_organization_ids
        and mentor.reaches(org)
        and solo_value(mentor, org) > 0
    )


def _alternatives(
    problem: MentorMatchingProblem, result: MentorMatchResult, teams: Team
) -> list[str]:
    found: list[str] = []
    ids = [a.organization_id for a in result.alternatives]
    if ids != [o.organization_id for o in problem.organizations]:
        return ["alternatives are not one per organization, in the problem's order"]
    mentors = {m.mentor_id: m for m in problem.mentors}
    for org, alt in zip(problem.organizations, result.alternatives, strict=True):
        options = [m for m in problem.mentors if allowed(m, org)]
        if len(alt.candidates) != min(problem.top_k, len(options)):
            found.append(f'"{org.organization_id}": {len(alt.candidates)} alternatives')
        values = [solo_value(m, org) for m in options]
        ranked = sorted(values, reverse=True)
        for k, c in enumerate(alt.candidates):
            mentor = mentors.get(c.mentor_id)
            if mentor is None or not allowed(mentor, org):
                found.append(f'"{org.organization_id}": alternative "{c.mentor_id}" is not allowed')
                continue
            if c.rank != k + 1 or not math.isclose(c.value, solo_value(mentor, org)):
                found.append(f'"{org.organization_id}": alternative "{c.mentor_id}" rank/value')
            if not math.isclose(c.value, ranked[k], rel_tol=TOLERANCE, abs_tol=TOLERANCE):
                found.append(f'"{org.organization_id}": alternatives not the best, in order')
            areas = tuple(w.area for w in org.weak_areas if mentor.level(w.area))
            if c.areas != areas or c.chosen != (c.mentor_id in teams[org.organization_id]):
                found.append(f'"{org.organization_id}": alternative "{c.mentor_id}" areas/chosen')
    return found


def _blocking_pairs(problem: MentorMatchingProblem, teams: Team) -> int:
    """Allowed unmatched pairs both sides prefer (see explain.blocking_pairs), from scratch."""
    orgs_of: dict[str, list[Organization]] = {m.mentor_id: [] for m in problem.mentors}
    for org in problem.organizations:
        for m in teams[org.organization_id]:
            orgs_of[m].append(org)
    mentors = {m.mentor_id: m for m in problem.mentors}
    count = 0
    for org in problem.organizations:
        team = teams[org.organization_id]
        worst_mentor = min((solo_value(mentors[m], org) for m in team), default=0.0)
        for mentor in problem.mentors:
            if mentor.mentor_id in team or not allowed(mentor, org):
                continue
            value = solo_value(mentor, org)
            mine = orgs_of[mentor.mentor_id]
            worst_org = min((solo_value(mentor, o) for o in mine), default=0.0)
            org_wants = len(team) < org.mentors_wanted or value > worst_mentor + TOLERANCE
            mentor_wants = len(mine) < mentor.capacity or value > worst_org + TOLERANCE
            count += org_wants and mentor_wants
    return count


def _summary(result: MentorMatchResult) -> list[str]:
    found: list[str] = []
    if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        found.append(f"status {result.status.value}: a matching always exists (even the empty one)")
    if result.best_bound < result.objective - TOLERANCE:
        found.append(f"best_bound {result.best_bound} is below the objective {result.objective}")
    if not result.engine:
        found.append("no engine name")
    return found
