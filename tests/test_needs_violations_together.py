"""MatchNeeds names every mistake in one answer: the fields that do not convert, and the
references the rest of the request gets wrong, without echoes of the first (an organization
without an id does not make every pair that names it "unknown")."""

from __future__ import annotations

import math
from collections.abc import Callable, Sized

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from scoring.errors import Violations
from service.config import Limits
from service.convert.common import options_from_pb
from service.convert.needs import problem_from_pb
from service.handlers import match_needs
from tests import fuzz_requests
from tests.violations_together import (
    SETTINGS,
    Said,
    check_beside,
    converted_fields,
    refused,
    said,
)
from venture.v1 import matching_pb2

Request = matching_pb2.MatchNeedsRequest


def violations(request: Request) -> Said:
    """What the handler refuses the request with."""
    return refused(match_needs, request)


def _convert(request: Request, found: Violations) -> object:
    return problem_from_pb(request, options_from_pb(request.options, found), found)


def validation_errors(request: Request) -> Said:
    checked = Request()
    checked.CopyFrom(request)
    checked.options.validate_only = True
    return said(match_needs(checked, Limits()).validation_errors)


def county() -> Request:
    return fuzz_requests.example("match_needs_county.json", Request)


def test_field_and_reference_violations_come_in_one_answer() -> None:
    request = county()
    request.needs[3].priority = -1  # fields that do not convert ...
    request.organizations[2].capacity = -4
    request.needs[5].need_id = "N01"  # ... and references that are wrong
    request.policy.forbidden_pairs.add(need_id="N02", organization_id="ORG99")
    assert violations(request) == [
        ("needs[3].priority", "-1.0", "must be in (0, 1000] (0 on the wire means 1)"),
        (
            "organizations[2].capacity",
            "-4",
            "must be between 1 and 1000000 (0 on the wire means 1)",
        ),
        ("organizations[2].min_load", "0", "must be between 0 and capacity (-4)"),
        ("needs[5].need_id", '"N01"', "duplicate, already used by needs[0]; ids must be unique"),
        ("policy.forbidden_pairs[1].organization_id", '"ORG99"', "unknown organization"),
    ]


def test_an_organizations_own_checks_run_when_a_weak_area_does_not_convert() -> None:
    request = county()
    weak_areas = request.organizations[1].weak_areas
    weak_areas.add(area="law", severity=5)
    request.organizations[1].capacity = -4
    assert [field for field, _, _ in violations(request)] == [
        f"organizations[1].weak_areas[{len(weak_areas) - 1}].severity",
        "organizations[1].capacity",
        "organizations[1].min_load",
    ]


def test_a_bad_option_does_not_hide_the_references() -> None:
    request = county()
    request.options.top_k = -1  # every other field converts: the cross-check runs on them
    request.policy.forbidden_pairs.add(need_id="N02", organization_id="ORG99")
    assert violations(request) == [
        ("options.top_k", "-1", "must not be negative"),
        ("policy.forbidden_pairs[1].organization_id", '"ORG99"', "unknown organization"),
    ]


def test_a_policy_that_does_not_convert_still_has_its_pairs_checked() -> None:
    request = county()
    request.policy.weights.domain = -1
    request.policy.min_affinity = 2
    request.policy.fixed_pairs.add(need_id="N01", organization_id="ORG01")
    request.policy.fixed_pairs.add(need_id="N77", organization_id="ORG02")
    assert violations(request) == [
        ("policy.weights.domain", "-1.0", "must be finite and ≥ 0"),
        ("policy.fixed_pairs[2].need_id", '"N77"', "unknown need"),
        (
            "policy.fixed_pairs[1]",
            '("N01", "ORG01")',
            "the pair is also forbidden by policy.forbidden_pairs[0]; a pair cannot be both "
            "fixed and forbidden: remove one of the two",
        ),
    ]


def test_an_item_without_an_id_silences_references_to_its_list() -> None:
    request = county()
    request.organizations[8].organization_id = ""  # the fixed pair's ORG09 is nobody's now
    request.policy.fixed_pairs.add(need_id="N99", organization_id="ORG01")  # still unknown
    assert violations(request) == [
        ("organizations[8].organization_id", '""', "must not be empty"),
        ("policy.fixed_pairs[1].need_id", '"N99"', "unknown need"),
    ]
    request = county()
    request.needs[0].need_id = ""  # the forbidden pair's N01 is nobody's now
    request.policy.forbidden_pairs.add(need_id="N02", organization_id="ORG42")
    assert violations(request) == [
        ("needs[0].need_id", '""', "must not be empty"),
        ("policy.forbidden_pairs[1].organization_id", '"ORG42"', "unknown organization"),
    ]


def test_a_region_left_empty_is_named_once_at_its_own_position() -> None:
    request = county()
    request.policy.region_adjacency[1].region = "城关镇"  # merged into entry 0 ...
    request.policy.region_adjacency[2].region = ""  # ... so this one is the mapping's 1st
    request.policy.forbidden_pairs[0].need_id = "N00"
    assert violations(request) == [
        ("policy.region_adjacency[2].region", '""', "must not be empty"),
        ("policy.forbidden_pairs[0].need_id", '"N00"', "unknown need"),
    ]


def test_fixed_pairs_that_cannot_all_hold_are_not_asked_of_a_request_with_bad_fields() -> None:
    request = county()
    request.policy.fixed_pairs.add(need_id="N11", organization_id="ORG01")  # 2 on a need of 1
    unsatisfiable = validation_errors(request)
    assert [field for field, _, _ in unsatisfiable] == ["needs[10].max_organizations"]
    request.needs[0].priority = math.nan
    assert violations(request) == [
        ("needs[0].priority", "NaN", "must be in (0, 1000] (0 on the wire means 1)"),
    ]


# --- generated: a valid request, broken in one field, gets that field's violations only -------

Change = Callable[[Request, int], None]


def _pick(items: Sized, k: int) -> int:
    assume(len(items))
    return k % len(items)


def _nan_priority(r: Request, k: int) -> None:
    r.needs[_pick(r.needs, k)].priority = math.nan


def _fewer_than_least(r: Request, k: int) -> None:
    need = r.needs[_pick(r.needs, k)]
    need.min_organizations = 3
    need.max_organizations = 2


def _negative_capacity(r: Request, k: int) -> None:
    r.organizations[_pick(r.organizations, k)].capacity = -4


def _grade_above_100(r: Request, k: int) -> None:
    r.organizations[_pick(r.organizations, k)].evaluation_grades.append(101)


def _weak_area_of_no_name(r: Request, k: int) -> None:
    r.organizations[_pick(r.organizations, k)].weak_areas.add(area="", severity=0.5)


def _negative_weight(r: Request, k: int) -> None:
    r.policy.weights.text = -1


def _affinity_above_1(r: Request, k: int) -> None:
    r.policy.min_affinity = 1.5


def _adjacency_of_no_region(r: Request, k: int) -> None:
    r.policy.region_adjacency[_pick(r.policy.region_adjacency, k)].region = ""


def _need_without_id(r: Request, k: int) -> None:
    r.needs[_pick(r.needs, k)].need_id = ""


def _organization_without_id(r: Request, k: int) -> None:
    r.organizations[_pick(r.organizations, k)].organization_id = ""


KEEPS_IDS: list[Change] = [
    _nan_priority,
    _fewer_than_least,
    _negative_capacity,
    _grade_above_100,
    _weak_area_of_no_name,
    _negative_weight,
    _affinity_above_1,
    _adjacency_of_no_region,
]
"""Breaks that leave every id as it was: the references of the rest are still checked."""
BREAKS = [*KEEPS_IDS, _need_without_id, _organization_without_id]


def _unknown_need_forbidden(r: Request, j: int) -> None:
    org = r.organizations[j % len(r.organizations)]
    r.policy.forbidden_pairs.add(need_id="NOBODY", organization_id=org.organization_id)


def _unknown_organization_fixed(r: Request, j: int) -> None:
    need = r.needs[j % len(r.needs)]
    r.policy.fixed_pairs.add(need_id=need.need_id, organization_id="NOBODY")


def _need_twice(r: Request, j: int) -> None:
    assume(len(r.needs) > 1)
    k = j % len(r.needs)
    r.needs[k].need_id = r.needs[k - 1].need_id


def _organization_twice(r: Request, j: int) -> None:
    k = j % len(r.organizations)
    r.organizations[k].organization_id = r.organizations[k - 1].organization_id


def _fixed_and_forbidden(r: Request, j: int) -> None:
    need = r.needs[j % len(r.needs)]
    org = r.organizations[j % len(r.organizations)]
    r.policy.forbidden_pairs.add(need_id=need.need_id, organization_id=org.organization_id)
    r.policy.fixed_pairs.add(need_id=need.need_id, organization_id=org.organization_id)


def _forbidden_twice(r: Request, j: int) -> None:
    need = r.needs[j % len(r.needs)]
    org = r.organizations[j % len(r.organizations)]
    for _ in range(2):
        r.policy.forbidden_pairs.add(need_id=need.need_id, organization_id=org.organization_id)


WRONG_REFERENCES: list[Change] = [
    _unknown_need_forbidden,
    _unknown_organization_fixed,
    _need_twice,
    _organization_twice,
    _fixed_and_forbidden,
    _forbidden_twice,
]


def _seed(request: Request) -> Request:
    assume(len(request.organizations) > 1 and not validation_errors(request))
    return request


@pytest.mark.parametrize("broken", BREAKS, ids=lambda f: f.__name__)
@SETTINGS
@given(seed=fuzz_requests.needs_seeds(), k=st.integers(0, 99))
def test_one_broken_field_of_a_valid_request_is_all_that_is_said(
    broken: Change, seed: Request, k: int
) -> None:
    request = _seed(seed)
    broken(request, k)
    fields = converted_fields(_convert, request)
    assert fields and violations(request) == fields


@pytest.mark.parametrize("broken", KEEPS_IDS, ids=lambda f: f.__name__)
@SETTINGS
@given(
    seed=fuzz_requests.needs_seeds(),
    wrong=st.sampled_from(WRONG_REFERENCES),
    k=st.integers(0, 99),
    j=st.integers(0, 99),
)
def test_a_wrong_reference_is_said_beside_a_broken_field(
    broken: Change, seed: Request, wrong: Change, k: int, j: int
) -> None:
    """The broken field's violations, then exactly what the wrong reference alone brings."""
    event(wrong.__name__)
    check_beside(violations, _convert, _seed(seed), broken, wrong, k, j)
