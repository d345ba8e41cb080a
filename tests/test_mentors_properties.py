"""The mentor matching engine against brute force and the shared validator, on generated tiny
rounds: every legal matching is enumerated, so "optimal" and "most even" are checked, not
trusted."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import Counter
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from matching.mentors.engine import match_mentors
from matching.mentors.model import (
    MAX_LEVEL,
    Expertise,
    Mentor,
    MentorMatchingProblem,
    MentorPolicy,
)
from matching.mentors.validate import validate_problem
from matching.mentors.verify import violations
from matching.organization import Organization, WeakArea
from matching.status import SolveStatus

AREAS = ("law", "finance", "it")
REGIONS = ((), ("东城",), ("西城",), ("东城", "西城"))
SEVERITIES = (0.1, 0.25, 0.5, 0.8, 1.0)
NAMES = ("张律师", "李会计", "王督导")
ORG_NAMES = ("阳光社工", "彩虹助老", "绿叶环保")
TOLERANCE = 1e-9


@st.composite
def tiny_problems(draw: st.DrawFn) -> MentorMatchingProblem:
    """Up to 3 mentors and 3 organizations, so at most 9 pairs and 512 matchings."""
    org_count = draw(st.integers(1, 3))
    org_ids = [f"o{k}" for k in range(org_count)]
    orgs = tuple(
        Organization(
            org_ids[k],
            ORG_NAMES[k],
            regions=draw(st.sampled_from(REGIONS[:3])),
            weak_areas=tuple(
                WeakArea(area, draw(st.sampled_from(SEVERITIES)))
                for area in draw(st.lists(st.sampled_from(AREAS), unique=True, max_size=3))
            ),
            mentors_wanted=draw(st.integers(1, 3)),
        )
        for k in range(org_count)
    )
    mentors = tuple(
        Mentor(
            f"m{k}",
            NAMES[k],
            tuple(
                Expertise(area, draw(st.integers(1, MAX_LEVEL)))
                for area in draw(st.lists(st.sampled_from(AREAS), unique=True, max_size=3))
            ),
            capacity=draw(st.integers(1, 2)),
            regions=draw(st.sampled_from(REGIONS)),
            remote=draw(st.booleans()),
            conflict_organization_ids=tuple(
                draw(st.lists(st.sampled_from(org_ids), unique=True, max_size=2))
            ),
        )
        for k in range(draw(st.integers(1, 3)))
    )
    return MentorMatchingProblem(
        mentors,
        orgs,
        policy=MentorPolicy(balance_load=draw(st.booleans())),
        top_k=draw(st.integers(1, 3)),
        seed=draw(st.integers(0, 3)),
    )


@dataclass(frozen=True, slots=True)
class Best:
    coverage: float
    max_load: int
    """Fewest organizations on the busiest mentor among the matchings of best coverage."""
    squares: int
    """Smallest Σ load² among those."""


def _value(problem: MentorMatchingProblem, chosen: tuple[tuple[int, int], ...]) -> float:
    total = 0.0
    for o, org in enumerate(problem.organizations):
        team = [problem.mentors[m] for oo, m in chosen if oo == o]
        for weak in org.weak_areas:
            level = max((m.level(weak.area) for m in team), default=0)
            total += weak.severity * level / MAX_LEVEL
    return total


def brute_force(problem: MentorMatchingProblem) -> Best:
    """Every matching of the allowed pairs within capacities and team sizes."""
    pairs = [
        (o, m)
        for o, org in enumerate(problem.organizations)
        for m, mentor in enumerate(problem.mentors)
        if org.organization_id not in mentor.conflict_organization_ids and mentor.reaches(org)
    ]
    found: list[tuple[float, int, int]] = []
    for size in range(len(pairs) + 1):
        for chosen in itertools.combinations(pairs, size):
            load = Counter(m for _, m in chosen)
            team = Counter(o for o, _ in chosen)
            if any(load[m] > mentor.capacity for m, mentor in enumerate(problem.mentors)):
                continue
            if any(team[o] > org.mentors_wanted for o, org in enumerate(problem.organizations)):
                continue
            squares = sum(v * v for v in load.values())
            found.append((_value(problem, chosen), max(load.values(), default=0), squares))
    coverage = max(v for v, _, _ in found)
    best = [(top, sq) for v, top, sq in found if v >= coverage - TOLERANCE]
    max_load = min(top for top, _ in best)
    return Best(coverage, max_load, min(sq for top, sq in best if top == max_load))


@given(tiny_problems())
def test_every_result_obeys_every_rule(problem: MentorMatchingProblem) -> None:
    validate_problem(problem)
    assert violations(problem, match_mentors(problem)) == []


@given(tiny_problems())
def test_matches_the_brute_force_optimum(problem: MentorMatchingProblem) -> None:
    result = match_mentors(problem)
    best = brute_force(problem)
    assert result.status is SolveStatus.OPTIMAL
    assert math.isclose(result.objective, best.coverage, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    assert math.isclose(result.best_bound, result.objective)
    if problem.policy.balance_load:
        loads = result.loads().values()
        assert max(loads, default=0) == best.max_load
        assert sum(v * v for v in loads) == best.squares


@given(tiny_problems())
def test_balancing_never_lowers_coverage(problem: MentorMatchingProblem) -> None:
    plain = match_mentors(dataclasses.replace(problem, policy=MentorPolicy(balance_load=False)))
    balanced = match_mentors(dataclasses.replace(problem, policy=MentorPolicy(balance_load=True)))
    assert math.isclose(balanced.objective, plain.objective, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    assert max(balanced.loads().values(), default=0) <= max(plain.loads().values(), default=0)


@given(tiny_problems())
def test_the_same_problem_gives_the_same_result(problem: MentorMatchingProblem) -> None:
    first, second = match_mentors(problem), match_mentors(problem)
    assert dataclasses.replace(first, timings=()) == dataclasses.replace(second, timings=())
