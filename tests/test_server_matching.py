"""Integration: MatchNeeds and MatchMentors on a real server on 127.0.0.1:0, through the real
client; every answer read back from the wire and checked by the shared validators."""

from __future__ import annotations

import grpc
import pytest

from matching.mentors.verify import violations as mentor_violations
from matching.needs.verify import violations as need_violations
from scoring.errors import Violations
from service.client import VentureClient, VentureError
from service.convert import mentors as mentors_convert
from service.convert import needs as needs_convert
from service.convert.common import options_from_pb
from tests.matching_wire import (
    county_mentors_request,
    county_needs_request,
    mentors_result_from_pb,
    needs_result_from_pb,
)
from venture.v1 import common_pb2, matching_pb2


def _needs_problem(request: matching_pb2.MatchNeedsRequest) -> object:
    v = Violations()
    problem = needs_convert.problem_from_pb(request, options_from_pb(request.options, v), v)
    assert problem is not None and not len(v)
    return problem


def test_county_needs_round_is_legal_optimal_and_explained(client: VentureClient) -> None:
    request = county_needs_request()
    response = client.match_needs(request)
    assert dict(response.labels) == {"round": "county-2026"}
    result = response.result
    assert result.summary.status == common_pb2.SOLVE_STATUS_OPTIMAL
    assert need_violations(_needs_problem(request), needs_result_from_pb(result)) == []  # type: ignore[arg-type]
    assert ("N01", "ORG01") not in {(a.need_id, a.organization_id) for a in result.assignments}
    assert any(
        a.fixed and (a.need_id, a.organization_id) == ("N11", "ORG09") for a in result.assignments
    )
    unmet = {u.need_id: u for u in result.unmet_needs}
    assert unmet["N30"].reason == matching_pb2.UNMET_REASON_DOMAIN_MISMATCH
    assert "legal_aid" in unmet["N30"].message
    assert len(result.need_candidates) == len(request.needs)
    assert all(len(c.candidates) <= 3 for c in result.need_candidates)


def test_needs_bad_input_is_invalid_argument_with_every_field(client: VentureClient) -> None:
    request = county_needs_request()
    request.organizations[2].capacity = -1
    request.policy.forbidden_pairs.add(need_id="N99", organization_id="ORG02")
    request.policy.fixed_pairs.add(need_id="N01", organization_id="ORG01")  # also forbidden
    with pytest.raises(VentureError) as caught:
        client.match_needs(request)
    error = caught.value
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in error.violations}
    assert "organizations[2].capacity" in fields


def test_needs_unknown_ids_and_fixed_forbidden_pair_are_named(client: VentureClient) -> None:
    request = county_needs_request()
    request.policy.forbidden_pairs.add(need_id="N99", organization_id="ORG02")
    request.policy.fixed_pairs.add(need_id="N01", organization_id="ORG01")  # also forbidden
    with pytest.raises(VentureError) as caught:
        client.match_needs(request)
    error = caught.value
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in error.violations}
    assert "policy.forbidden_pairs[1].need_id" in fields
    assert any(f.startswith("policy.fixed_pairs[1]") for f in fields)


def test_demand_above_supply_without_soft_mode_is_failed_precondition(
    client: VentureClient,
) -> None:
    request = county_needs_request()
    request.policy.soft_minimums = False
    request.policy.min_affinity = 0.0
    for org in request.organizations:
        org.capacity = 1  # 12 places for 34 required
    with pytest.raises(VentureError) as caught:
        client.match_needs(request)
    error = caught.value
    assert error.code is grpc.StatusCode.FAILED_PRECONDITION
    (violation,) = error.violations
    assert violation.field == "needs"
    assert "require 34 organization places in all" in violation.description
    assert "can take only 12" in violation.description


def test_needs_that_cannot_reach_enough_organizations_are_named_with_counts(
    client: VentureClient,
) -> None:
    # ORG01 (elderly and community work) could take every need, but at min_affinity 0.45 the
    # other domains' 16 needs can only use their own organizations, one place each.
    request = county_needs_request()
    del request.needs[29]  # legal aid: the pre-check would name it first
    request.policy.soft_minimums = False
    for org in request.organizations:
        org.capacity = 1
    request.organizations[0].capacity = 40
    request.policy.min_affinity = 0.45
    with pytest.raises(VentureError) as caught:
        client.match_needs(request)
    error = caught.value
    assert error.code is grpc.StatusCode.FAILED_PRECONDITION
    (violation,) = error.violations
    assert violation.field == "needs"
    assert "16 need(s) require 20 more organization(s)" in violation.description
    assert "room for only 7" in violation.description


def test_needs_validate_only_returns_violations_without_solving(client: VentureClient) -> None:
    request = county_needs_request()
    request.options.validate_only = True
    assert not client.match_needs(request).HasField("result")
    request.needs[0].priority = -2
    checked = client.match_needs(request)
    assert [e.field for e in checked.validation_errors] == ["needs[0].priority"]


def test_same_needs_request_gives_byte_identical_responses(client: VentureClient) -> None:
    request = county_needs_request()
    request.options.exclude_timings = True
    first = client.match_needs(request).SerializeToString(deterministic=True)
    assert client.match_needs(request).SerializeToString(deterministic=True) == first


def test_fair_mode_over_the_wire(client: VentureClient) -> None:
    request = county_needs_request()
    request.policy.objective = matching_pb2.MATCH_OBJECTIVE_FAIR
    fair = client.match_needs(request).result
    total = client.match_needs(county_needs_request()).result
    assert fair.summary.status == common_pb2.SOLVE_STATUS_OPTIMAL
    assert fair.worst_need_affinity >= total.worst_need_affinity - 1e-9
    assert fair.total_affinity <= total.total_affinity + 1e-9


def test_county_mentors_round_is_legal_and_explained(client: VentureClient) -> None:
    request = county_mentors_request()
    response = client.match_mentors(request)
    result = response.result
    assert result.summary.status == common_pb2.SOLVE_STATUS_OPTIMAL
    v = Violations()
    problem = mentors_convert.problem_from_pb(request, options_from_pb(request.options, v), v)
    assert problem is not None
    assert mentor_violations(problem, mentors_result_from_pb(result)) == []
    conflicts = {(o, x.mentor_id) for x in request.mentors for o in x.conflict_organization_ids}
    assert not conflicts & {(a.organization_id, a.mentor_id) for a in result.assignments}
    assert len(result.alternatives) == len(request.organizations)


def test_mentors_bad_input_is_invalid_argument(client: VentureClient) -> None:
    request = county_mentors_request()
    request.mentors[0].expertise[0].level = 9
    request.mentors[2].capacity = -1
    with pytest.raises(VentureError) as caught:
        client.match_mentors(request)
    assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in caught.value.violations}
    assert {"mentors[0].expertise[0].level", "mentors[2].capacity"} <= fields


def test_mentor_conflict_naming_an_unknown_organization_is_named(client: VentureClient) -> None:
    request = county_mentors_request()
    request.mentors[1].conflict_organization_ids.append("ORG99")
    with pytest.raises(VentureError) as caught:
        client.match_mentors(request)
    assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
    (violation,) = caught.value.violations
    assert violation.field == "mentors[1].conflict_organization_ids[1]"  # M02 has one already
