"""Mentor matching input checks: each object on construction, then cross-references, every
violation with its field path and value, all at once."""

from __future__ import annotations

import dataclasses
import math

import pytest

from matching.mentors.model import Expertise, Mentor, MentorMatchingProblem
from matching.mentors.validate import validate_problem
from matching.organization import Organization, WeakArea
from scoring.errors import InvalidProblem

MENTORS = (
    Mentor("m1", "张律师", (Expertise("law", 5),), capacity=2),
    Mentor("m2", "李会计", (Expertise("finance", 4),), conflict_organization_ids=("o1",)),
)
ORGANIZATIONS = (
    Organization("o1", "阳光社工", weak_areas=(WeakArea("law", 0.8),)),
    Organization("o2", "彩虹助老", weak_areas=(WeakArea("finance", 0.5),)),
)
PROBLEM = MentorMatchingProblem(MENTORS, ORGANIZATIONS)


def _violations(problem: MentorMatchingProblem) -> set[tuple[str, str]]:
    with pytest.raises(InvalidProblem) as caught:
        validate_problem(problem)
    return {(v.field, v.value) for v in caught.value.violations}


def _built(factory: type, *args: object, **kwargs: object) -> set[tuple[str, str]]:
    with pytest.raises(InvalidProblem) as caught:
        factory(*args, **kwargs)
    return {(v.field, v.value) for v in caught.value.violations}


def test_a_sound_problem_passes() -> None:
    validate_problem(PROBLEM)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"mentors": ()}, ("mentors", "[]")),
        ({"organizations": ()}, ("organizations", "[]")),
        ({"mentors": (MENTORS[0], MENTORS[0])}, ("mentors[1].mentor_id", '"m1"')),
        (
            {"organizations": (ORGANIZATIONS[1], ORGANIZATIONS[1])},
            ("organizations[1].organization_id", '"o2"'),
        ),
        # A conflict must name an organization of the request (o1 is gone here).
        ({"organizations": ORGANIZATIONS[1:]}, ("mentors[1].conflict_organization_ids[0]", '"o1"')),
        ({"top_k": 0}, ("options.top_k", "0")),
        ({"time_limit_s": -1.0}, ("options.time_limit", "-1.0")),
        ({"time_limit_s": math.nan}, ("options.time_limit", "NaN")),
        ({"seed": -3}, ("options.seed", "-3")),
    ],
)
def test_each_cross_reference_rule(changes: dict[str, object], expected: tuple[str, str]) -> None:
    problem = dataclasses.replace(PROBLEM, **changes)  # type: ignore[arg-type]
    assert expected in _violations(problem)


def test_every_violation_is_reported_at_once() -> None:
    stranger = dataclasses.replace(MENTORS[0], conflict_organization_ids=("o1", "nobody"))
    problem = dataclasses.replace(PROBLEM, mentors=(MENTORS[0], stranger), top_k=0)
    assert _violations(problem) == {
        ("mentors[1].mentor_id", '"m1"'),
        ("mentors[1].conflict_organization_ids[1]", '"nobody"'),
        ("options.top_k", "0"),
    }


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"area": "law", "level": 0}, ("level", "0")),
        ({"area": "law", "level": 6}, ("level", "6")),
        ({"area": "", "level": 3}, ("area", '""')),
    ],
)
def test_expertise_checks_itself(kwargs: dict[str, object], expected: tuple[str, str]) -> None:
    assert _built(Expertise, **kwargs) == {expected}


def test_mentor_checks_itself() -> None:
    law = Expertise("law", 3)
    assert _built(Mentor, "", "王律师", (law, Expertise("law", 4)), capacity=0) == {
        ("mentor_id", '""'),
        ("capacity", "0"),
        ("expertise[1].area", '"law"'),
    }


def test_mentor_knows_its_level_and_reach() -> None:
    mentor = Mentor("m", "赵督导", (Expertise("it", 2),), regions=("东城",))
    assert (mentor.level("it"), mentor.level("law")) == (2, 0)
    east, west, nowhere = (
        Organization("a", regions=("东城", "西城")),
        Organization("b", regions=("西城",)),
        Organization("c"),
    )
    assert [mentor.reaches(o) for o in (east, west, nowhere)] == [True, False, False]
    remote = dataclasses.replace(mentor, remote=True)
    anywhere = dataclasses.replace(mentor, regions=())
    assert all(m.reaches(o) for m in (remote, anywhere) for o in (east, west, nowhere))
