"""The one encoder of mentor matching: ids ↔ indices, allowed pairs, severities → integers.

A pair (organization, mentor) is allowed when the mentor has no conflict with the organization,
reaches it (Mentor.reaches) and has expertise in at least one of its weak areas; no other pair
exists anywhere in the engine. Severity × level enters the solver as
round(severity × SEVERITY_SCALE) × level, an exact integer; the real value of an area covered at
level l is severity × l / 5, so a scaled value is divided by UNITS = 5 × SEVERITY_SCALE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matching.mentors.model import MAX_LEVEL, MentorMatchingProblem

SEVERITY_SCALE = 1_000_000
"""Severities keep six decimals in the solver; finer ones are rounded (and the bound widened)."""
UNITS = MAX_LEVEL * SEVERITY_SCALE
"""Scaled value / UNITS = real value."""


@dataclass(frozen=True, slots=True)
class Step:
    """ "Weak area `area` of organization `org` is covered at level ≥ `level`": worth `weight`
    (scaled) on top of the step below it, given by any of `pairs` (allowed pairs whose mentor has
    that level or better). An area's steps are consecutive in Encoded.steps, lowest level first.
    """

    org: int
    area: int
    """Index into the organization's weak_areas."""
    level: int
    weight: int
    pairs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Encoded:
    """The problem as indices. Pair p joins organization pair_org[p] and mentor pair_mentor[p];
    pair_levels[p] lists (weak-area index, mentor level) for the org's areas the mentor has."""

    problem: MentorMatchingProblem
    severity: tuple[tuple[int, ...], ...]
    """Scaled severity per organization, per weak area."""
    pair_org: tuple[int, ...]
    pair_mentor: tuple[int, ...]
    pair_levels: tuple[tuple[tuple[int, int], ...], ...]
    pair_solo: tuple[int, ...]
    """Scaled value of the mentor alone for the organization."""
    org_pairs: tuple[tuple[int, ...], ...]
    mentor_pairs: tuple[tuple[int, ...], ...]
    pair_of: dict[tuple[int, int], int]
    steps: tuple[Step, ...]
    rounding: float
    """Real value by which rounding severities can move any objective (0 when exact)."""

    @property
    def pairs(self) -> int:
        return len(self.pair_org)

    def upper_bound(self) -> int:
        """A bound on the scaled objective without solving anything, the smaller of two:

        - by organization: each gets at most every weak area at the best level on offer, and at
          most the sum of its mentors_wanted best solo values (a team is worth no more than the
          sum of its members alone);
        - by mentor: each gives at most the sum of its `capacity` best solo values.
        """
        problem = self.problem
        full: dict[int, int] = {}
        for step in self.steps:
            full[step.org] = full.get(step.org, 0) + step.weight
        by_org = sum(
            min(full.get(o, 0), _top(self.pair_solo, pairs, org.mentors_wanted))
            for o, (org, pairs) in enumerate(
                zip(problem.organizations, self.org_pairs, strict=True)
            )
        )
        by_mentor = sum(
            _top(self.pair_solo, pairs, mentor.capacity)
            for mentor, pairs in zip(problem.mentors, self.mentor_pairs, strict=True)
        )
        return min(by_org, by_mentor)


def _top(values: tuple[int, ...], pairs: tuple[int, ...], k: int) -> int:
    return sum(sorted((values[p] for p in pairs), reverse=True)[:k])


def encode(problem: MentorMatchingProblem) -> Encoded:
    """The allowed pairs, their values and the coverage steps of a validated problem."""
    severity = tuple(
        tuple(round(w.severity * SEVERITY_SCALE) for w in org.weak_areas)
        for org in problem.organizations
    )
    levels = [{e.area: e.level for e in m.expertise} for m in problem.mentors]
    conflicts = [set(m.conflict_organization_ids) for m in problem.mentors]
    pair_org: list[int] = []
    pair_mentor: list[int] = []
    pair_levels: list[tuple[tuple[int, int], ...]] = []
    org_pairs: list[list[int]] = [[] for _ in problem.organizations]
    mentor_pairs: list[list[int]] = [[] for _ in problem.mentors]
    for o, org in enumerate(problem.organizations):
        for m, mentor in enumerate(problem.mentors):
            has = tuple(
                (a, levels[m][w.area]) for a, w in enumerate(org.weak_areas) if w.area in levels[m]
            )
            if not has or org.organization_id in conflicts[m] or not mentor.reaches(org):
                continue
            org_pairs[o].append(len(pair_org))
            mentor_pairs[m].append(len(pair_org))
            pair_org.append(o)
            pair_mentor.append(m)
            pair_levels.append(has)
    solo = tuple(
        sum(severity[pair_org[p]][a] * level for a, level in has)
        for p, has in enumerate(pair_levels)
    )
    return Encoded(
        problem=problem,
        severity=severity,
        pair_org=tuple(pair_org),
        pair_mentor=tuple(pair_mentor),
        pair_levels=tuple(pair_levels),
        pair_solo=solo,
        org_pairs=tuple(tuple(p) for p in org_pairs),
        mentor_pairs=tuple(tuple(p) for p in mentor_pairs),
        pair_of={(o, m): p for p, (o, m) in enumerate(zip(pair_org, pair_mentor, strict=True))},
        steps=_steps(severity, pair_levels, org_pairs),
        rounding=_rounding(problem),
    )


def _steps(
    severity: tuple[tuple[int, ...], ...],
    pair_levels: list[tuple[tuple[int, int], ...]],
    org_pairs: list[list[int]],
) -> tuple[Step, ...]:
    """One step per distinct level some allowed mentor has in a weak area (levels nobody has
    add no information: "≥ 3" and "≥ 4" are the same when the levels on offer are 2 and 4)."""
    steps: list[Step] = []
    for o, pairs in enumerate(org_pairs):
        offers: dict[int, list[tuple[int, int]]] = {}
        for p in pairs:
            for a, level in pair_levels[p]:
                offers.setdefault(a, []).append((level, p))
        for a in sorted(offers):
            below = 0
            for level in sorted({level for level, _ in offers[a]}):
                givers = tuple(p for lv, p in offers[a] if lv >= level)
                steps.append(Step(o, a, level, severity[o][a] * (level - below), givers))
                below = level
    return tuple(steps)


def _rounding(problem: MentorMatchingProblem) -> float:
    """Σ |severity − scaled / SEVERITY_SCALE| over every weak area; 0 when six decimals hold
    every severity (up to float noise). A covered area's level / 5 is at most 1, so no
    objective moves by more than this."""
    total = 0.0
    for org in problem.organizations:
        for weak in org.weak_areas:
            scaled = weak.severity * SEVERITY_SCALE
            if not math.isclose(scaled, round(scaled), rel_tol=0.0, abs_tol=1e-6):
                total += abs(weak.severity - round(scaled) / SEVERITY_SCALE)
    return total


def real(scaled: float) -> float:
    """A scaled value as a real one."""
    return scaled / UNITS
