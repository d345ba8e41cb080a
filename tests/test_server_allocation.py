"""Integration: AllocateFunding on a real server on 127.0.0.1:0, through the real client."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from matching.allocation.model import AllocationProblem
from matching.allocation.verify import violations as rule_violations
from scoring.errors import Violations
from service.client import VentureClient, VentureError
from service.convert.allocation import problem_from_pb
from service.convert.common import options_from_pb
from tests.allocation_wire import result_from_pb
from tests.helpers import WAN, county_allocation_request, small_allocation_request
from venture.v1 import allocation_pb2, common_pb2

Request = allocation_pb2.AllocateFundingRequest
APPROVED = allocation_pb2.LOCKED_DECISION_KIND_APPROVED


def _invalid_fields(client: VentureClient, request: Request) -> dict[str, str]:
    """Call, expect INVALID_ARGUMENT, and return {field path: description} of every violation."""
    with pytest.raises(VentureError) as caught:
        client.allocate_funding(request)
    error = caught.value
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    first = error.violations[0]
    assert error.message.startswith(f"{first.field}: ")  # the message names the first problem
    return {v.field: v.description for v in error.violations}


# Each mutation breaks one rule of the small request (P1..P4 asking 1万..4万; pools "lottery"
# and "community"; quota 0: at least one youth grant).


def _negative_request(r: Request) -> None:
    r.proposals[0].requested_fen = -5


def _request_overflows(r: Request) -> None:
    r.proposals[1].requested_fen = 10**15 + 1  # one fen above MAX_FEN


def _minimum_above_request(r: Request) -> None:
    r.proposals[2].minimum_fen = 4 * WAN  # asks 3万


def _lock_names_unknown_pool(r: Request) -> None:
    r.rules.locked_decisions.add(proposal_id="P1", decision=APPROVED, pool_id="welfare")


def _quota_names_unknown_domain(r: Request) -> None:
    r.rules.quotas[0].key = "youht"  # a minimum no proposal can meet


def _quota_min_above_max(r: Request) -> None:
    r.rules.quotas[0].min_count = 2
    r.rules.quotas[0].max_count = 1


def _bands_duplicate(r: Request) -> None:
    r.rules.score_bands.add(min_score=60, funding_ratio_bp=8000)
    r.rules.score_bands.add(min_score=60, funding_ratio_bp=10000)


def _bands_leave_a_gap(r: Request) -> None:
    # Bands run up to the next band, so the only possible hole is below the lowest one.
    r.rules.pass_line = 50
    r.rules.score_bands.add(min_score=60, funding_ratio_bp=10000)


def _bands_share_falls(r: Request) -> None:
    r.rules.score_bands.add(min_score=60, funding_ratio_bp=10000)
    r.rules.score_bands.add(min_score=80, funding_ratio_bp=5000)


def _band_share_above_whole(r: Request) -> None:
    r.rules.score_bands.add(min_score=60, funding_ratio_bp=20000)


def _unknown_objective(r: Request) -> None:
    r.rules.objective = 99  # type: ignore[assignment]


def _negative_time_limit(r: Request) -> None:
    r.options.time_limit.FromSeconds(-1)


def _too_many_proposals(r: Request) -> None:
    for i in range(501 - len(r.proposals)):  # the test server allows 500
        r.proposals.add(proposal_id=f"X{i}", score=50, requested_fen=WAN)


@pytest.mark.parametrize(
    ("mutate", "field", "value"),
    [
        (_negative_request, "proposals[0].requested_fen", "-5"),
        (_request_overflows, "proposals[1].requested_fen", "1000000000000001"),
        (_minimum_above_request, "proposals[2].minimum_fen", "4000000"),
        (_lock_names_unknown_pool, "rules.locked_decisions[0].pool_id", '"welfare"'),
        (_quota_names_unknown_domain, "rules.quotas[0].key", '"youht"'),
        (_quota_min_above_max, "rules.quotas[0].max_count", "1"),
        (_bands_duplicate, "rules.score_bands[1].min_score", "60.0"),
        (_bands_leave_a_gap, "rules.score_bands[0].min_score", "60.0"),
        (_bands_share_falls, "rules.score_bands[1].funding_ratio_bp", "5000"),
        (_band_share_above_whole, "rules.score_bands[0].funding_ratio_bp", "20000"),
        (_unknown_objective, "rules.objective", "99"),
        (_negative_time_limit, "options.time_limit", '"-1.0s"'),  # shown as text
        (_too_many_proposals, "proposals", "501"),
    ],
)
def test_bad_input_is_invalid_argument_naming_field_and_value(
    client: VentureClient, mutate: Callable[[Request], None], field: str, value: str
) -> None:
    request = small_allocation_request()
    mutate(request)
    fields = _invalid_fields(client, request)
    assert field in fields, f"no violation for {field} in {fields}"
    assert f"(got {value})" in fields[field]


def test_every_field_violation_comes_back_together(client: VentureClient) -> None:
    request = small_allocation_request()
    for mutate in (
        _request_overflows,
        _minimum_above_request,
        _quota_min_above_max,
        _band_share_above_whole,
    ):
        mutate(request)
    assert set(_invalid_fields(client, request)) == {
        "proposals[1].requested_fen",
        "proposals[2].minimum_fen",
        "rules.quotas[0].max_count",
        "rules.score_bands[0].funding_ratio_bp",
    }


def test_every_cross_reference_violation_comes_back_together(client: VentureClient) -> None:
    # How items refer to each other is checked once every item converts (as in ScoreProposals),
    # so these are listed together but never beside a per-field error like a negative amount.
    request = small_allocation_request()
    for mutate in (_lock_names_unknown_pool, _quota_names_unknown_domain, _bands_duplicate):
        mutate(request)
    with pytest.raises(VentureError) as caught:
        client.allocate_funding(request)
    assert "and 2 more field violations in the details" in caught.value.message
    assert {v.field for v in caught.value.violations} == {
        "rules.locked_decisions[0].pool_id",
        "rules.quotas[0].key",
        "rules.score_bands[1].min_score",
    }


def test_validate_only_returns_violations_without_solving(client: VentureClient) -> None:
    request = small_allocation_request()
    request.options.validate_only = True
    clean = client.allocate_funding(request)
    assert not clean.HasField("result") and not clean.validation_errors
    assert dict(clean.labels) == {"round": "test"}
    _lock_names_unknown_pool(request)
    _bands_leave_a_gap(request)
    checked = client.allocate_funding(request)
    assert not checked.HasField("result")
    assert {(e.field, e.value) for e in checked.validation_errors} == {
        ("rules.locked_decisions[0].pool_id", '"welfare"'),
        ("rules.score_bands[0].min_score", "60.0"),
    }


def test_validate_only_lists_field_errors_too(client: VentureClient) -> None:
    request = small_allocation_request()
    request.options.validate_only = True
    _request_overflows(request)
    _quota_min_above_max(request)
    checked = client.allocate_funding(request)
    assert not checked.HasField("result")
    assert {e.field for e in checked.validation_errors} == {
        "proposals[1].requested_fen",
        "rules.quotas[0].max_count",
    }


# ---------------------------------------------------------------------------------------------
# Solving: these need matching/allocation/engine.py.
# ---------------------------------------------------------------------------------------------


def _problem(request: Request) -> AllocationProblem:
    """The domain problem the server solved, converted the way the server converts it."""
    violations = Violations()
    problem = problem_from_pb(request, options_from_pb(request.options, violations), violations)
    assert problem is not None, list(violations)
    return problem


def test_county_round_is_allocated_optimally_within_every_rule(client: VentureClient) -> None:
    request = county_allocation_request()
    response = client.allocate_funding(request)
    result = response.result
    assert dict(response.labels) == {"round": "2026-county-spring", "caller": "demo"}
    assert result.summary.status == common_pb2.SOLVE_STATUS_OPTIMAL
    assert rule_violations(_problem(request), result_from_pb(result)) == []
    funded = [a.proposal_id for a in result.awards]
    unfunded = [u.proposal_id for u in result.unfunded]
    assert sorted(funded + unfunded) == sorted(p.proposal_id for p in request.proposals)
    for u in result.unfunded:
        assert u.reason != allocation_pb2.UNFUNDED_REASON_UNSPECIFIED, u
        assert u.rule and u.message, u
    assert result.awarded_fen == sum(a.amount_fen for a in result.awards) > 0
    assert result.summary.timings  # left in unless the request excludes them


def test_same_request_gives_byte_identical_response(client: VentureClient) -> None:
    request = county_allocation_request()
    request.options.exclude_timings = True
    first = client.allocate_funding(request).SerializeToString()
    assert all(client.allocate_funding(request).SerializeToString() == first for _ in range(2))


def test_minimum_quotas_the_budget_cannot_meet_are_infeasible_naming_the_rules(
    client: VentureClient,
) -> None:
    request = small_allocation_request()
    del request.rules.pools[:]
    request.rules.total_budget_fen = 5 * WAN
    request.rules.quotas[0].min_count = 2  # both youth proposals: 3万 + 4万 > 5万
    response = client.allocate_funding(request)
    result = response.result
    assert result.summary.status == common_pb2.SOLVE_STATUS_INFEASIBLE
    assert not result.awards
    assert result.conflicts
    named = [rule for conflict in result.conflicts for rule in conflict.rules]
    assert any(rule.startswith("rules.quotas[0]") for rule in named), named
    assert all(conflict.message for conflict in result.conflicts)


def test_top_k_is_reported_as_unused(client: VentureClient) -> None:
    request = small_allocation_request()
    request.options.top_k = 3
    request.options.time_limit.FromSeconds(5)
    notices = client.allocate_funding(request).result.notices
    unused = [n.message for n in notices if n.code == "OPTION_UNUSED"]
    assert len(unused) == 1 and "options.top_k" in unused[0]
