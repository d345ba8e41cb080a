"""MatchMentors names every mistake in one answer: the fields that do not convert, and the
references the rest of the request gets wrong, without echoes of the first (an organization
without an id does not make every mentor's conflict with it "unknown")."""

from __future__ import annotations

from collections.abc import Callable, Sized

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from scoring.errors import Violations
from service.config import Limits
from service.convert.common import options_from_pb
from service.convert.mentors import problem_from_pb
from service.handlers import match_mentors
from tests import fuzz_requests
from tests.violations_together import (
    SETTINGS,
    Said,
    check_beside,
    converted_fields,
    refused,
)
from venture.v1 import matching_pb2

Request = matching_pb2.MatchMentorsRequest
NO_SUCH_ORGANIZATION = "no organization in the request has this id; give the organization_id of one"


def violations(request: Request) -> Said:
    """What the handler refuses the request with."""
    return refused(match_mentors, request)


def _convert(request: Request, found: Violations) -> object:
    return problem_from_pb(request, options_from_pb(request.options, found), found)


def is_valid(request: Request) -> bool:
    checked = Request()
    checked.CopyFrom(request)
    checked.options.validate_only = True
    return not match_mentors(checked, Limits()).validation_errors


def county() -> Request:
    return fuzz_requests.example("match_mentors_county.json", Request)


def test_field_and_reference_violations_come_in_one_answer() -> None:
    request = county()
    request.mentors[4].expertise[0].level = 9  # fields that do not convert ...
    request.organizations[1].weak_areas[0].severity = 2
    request.mentors[6].conflict_organization_ids.append("ORG99")  # ... and wrong references
    request.mentors[7].mentor_id = "M01"
    assert violations(request) == [
        ("mentors[4].expertise[0].level", "9", "must be between 1 and 5"),
        ("organizations[1].weak_areas[0].severity", "2.0", "must be in (0, 1]"),
        (
            "mentors[7].mentor_id",
            '"M01"',
            "duplicate, already used by mentors[0]; ids must be unique",
        ),
        ("mentors[6].conflict_organization_ids[0]", '"ORG99"', NO_SUCH_ORGANIZATION),
    ]


def test_a_mentor_that_does_not_convert_still_has_its_conflicts_checked() -> None:
    request = county()
    request.mentors[0].capacity = -1
    request.mentors[0].conflict_organization_ids.append("ORG77")
    assert violations(request) == [
        (
            "mentors[0].capacity",
            "-1",
            "must be between 1 and 1000000 (0 on the wire means 1)",
        ),
        ("mentors[0].conflict_organization_ids[1]", '"ORG77"', NO_SUCH_ORGANIZATION),
    ]


def test_an_organization_without_an_id_silences_the_conflicts() -> None:
    request = county()
    request.organizations[0].organization_id = ""  # M01's conflict ORG01 is nobody's now
    request.mentors[2].mentor_id = "M02"  # still a duplicate
    assert violations(request) == [
        ("organizations[0].organization_id", '""', "must not be empty"),
        (
            "mentors[2].mentor_id",
            '"M02"',
            "duplicate, already used by mentors[1]; ids must be unique",
        ),
    ]


def test_an_option_is_named_once() -> None:
    request = county()
    request.options.top_k = -1  # the cross-check would say "at least 1" of it again
    request.mentors[3].expertise[0].area = ""
    assert violations(request) == [
        ("options.top_k", "-1", "must not be negative"),
        ("mentors[3].expertise[0].area", '""', "must not be empty"),
    ]


def test_an_option_alone_is_named_once() -> None:
    request = county()
    request.options.top_k = -1  # every other field converts: the cross-check runs on them
    assert violations(request) == [("options.top_k", "-1", "must not be negative")]


# --- generated: a valid request, broken in one field, gets that field's violations only -------

Change = Callable[[Request, int], None]


def _pick(items: Sized, k: int) -> int:
    assume(len(items))
    return k % len(items)


def _level_above_5(r: Request, k: int) -> None:
    mentor = r.mentors[_pick(r.mentors, k)]
    mentor.expertise[_pick(mentor.expertise, k)].level = 9


def _area_twice(r: Request, k: int) -> None:
    mentor = r.mentors[_pick(r.mentors, k)]
    assume(mentor.expertise)
    mentor.expertise.add(area=mentor.expertise[0].area, level=3)


def _negative_mentor_capacity(r: Request, k: int) -> None:
    r.mentors[_pick(r.mentors, k)].capacity = -1


def _negative_capacity(r: Request, k: int) -> None:
    r.organizations[_pick(r.organizations, k)].capacity = -4


def _severity_above_1(r: Request, k: int) -> None:
    r.organizations[_pick(r.organizations, k)].weak_areas.add(area="law2", severity=2)


def _mentor_without_id(r: Request, k: int) -> None:
    r.mentors[_pick(r.mentors, k)].mentor_id = ""


def _organization_without_id(r: Request, k: int) -> None:
    r.organizations[_pick(r.organizations, k)].organization_id = ""


KEEPS_IDS: list[Change] = [
    _level_above_5,
    _area_twice,
    _negative_mentor_capacity,
    _negative_capacity,
    _severity_above_1,
]
"""Breaks that leave every id as it was: the references of the rest are still checked."""
BREAKS = [*KEEPS_IDS, _mentor_without_id, _organization_without_id]


def _conflict_with_nobody(r: Request, j: int) -> None:
    r.mentors[j % len(r.mentors)].conflict_organization_ids.append("NOBODY")


def _mentor_twice(r: Request, j: int) -> None:
    assume(len(r.mentors) > 1)
    k = j % len(r.mentors)
    r.mentors[k].mentor_id = r.mentors[k - 1].mentor_id


def _organization_twice(r: Request, j: int) -> None:
    assume(len(r.organizations) > 1)
    k = j % len(r.organizations)
    r.organizations[k].organization_id = r.organizations[k - 1].organization_id


WRONG_REFERENCES: list[Change] = [_conflict_with_nobody, _mentor_twice, _organization_twice]


@pytest.mark.parametrize("broken", BREAKS, ids=lambda f: f.__name__)
@SETTINGS
@given(seed=fuzz_requests.mentors_seeds(), k=st.integers(0, 99))
def test_one_broken_field_of_a_valid_request_is_all_that_is_said(
    broken: Change, seed: Request, k: int
) -> None:
    assume(is_valid(seed))
    broken(seed, k)
    fields = converted_fields(_convert, seed)
    assert fields and violations(seed) == fields


@pytest.mark.parametrize("broken", KEEPS_IDS, ids=lambda f: f.__name__)
@SETTINGS
@given(
    seed=fuzz_requests.mentors_seeds(),
    wrong=st.sampled_from(WRONG_REFERENCES),
    k=st.integers(0, 99),
    j=st.integers(0, 99),
)
def test_a_wrong_reference_is_said_beside_a_broken_field(
    broken: Change, seed: Request, wrong: Change, k: int, j: int
) -> None:
    """The broken field's violations, then exactly what the wrong reference alone brings."""
    event(wrong.__name__)
    assume(is_valid(seed))
    check_beside(violations, _convert, seed, broken, wrong, k, j)
