"""Handlers without a server: request limits of AllocateFunding, MatchNeeds and MatchMentors,
and the solve time limit."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from scoring.errors import InvalidProblem
from service import handlers
from service.config import Limits
from tests.helpers import WAN, small_allocation_request
from tests.matching_wire import county_mentors_request, county_needs_request
from venture.v1 import allocation_pb2

Request = allocation_pb2.AllocateFundingRequest
TIGHT = Limits(
    max_proposals=4,
    max_pools=2,
    max_tiers=1,
    max_score_bands=1,
    max_quotas=1,
    max_locked_decisions=1,
)
"""Exactly what small_allocation_request uses (4 proposals, 2 pools, 1 quota), and one of each
list it leaves empty."""


def _add_proposal(r: Request) -> None:
    r.proposals.add(proposal_id="P5", score=50, requested_fen=WAN)


def _add_pool(r: Request) -> None:
    r.rules.pools.add(pool_id="extra", amount_fen=WAN)


def _add_tiers(r: Request) -> None:
    r.rules.tiers.add(tier="startup", max_grant_fen=WAN)
    r.rules.tiers.add(tier="growth", max_grant_fen=2 * WAN)


def _add_bands(r: Request) -> None:
    r.rules.score_bands.add(min_score=60, funding_ratio_bp=8000)
    r.rules.score_bands.add(min_score=80, funding_ratio_bp=10000)


def _add_quota(r: Request) -> None:
    r.rules.quotas.add(dimension=allocation_pb2.DIMENSION_DOMAIN, key="elderly", max_count=1)


def _add_locks(r: Request) -> None:
    for proposal_id in ("P1", "P2"):
        r.rules.locked_decisions.add(
            proposal_id=proposal_id, decision=allocation_pb2.LOCKED_DECISION_KIND_REJECTED
        )


@pytest.mark.parametrize(
    ("grow", "field", "count", "setting"),
    [
        (_add_proposal, "proposals", "5", "max_proposals"),
        (_add_pool, "rules.pools", "3", "max_pools"),
        (_add_tiers, "rules.tiers", "2", "max_tiers"),
        (_add_bands, "rules.score_bands", "2", "max_score_bands"),
        (_add_quota, "rules.quotas", "2", "max_quotas"),
        (_add_locks, "rules.locked_decisions", "2", "max_locked_decisions"),
    ],
)
def test_each_list_over_its_limit_is_refused_naming_the_setting(
    grow: Callable[[Request], None], field: str, count: str, setting: str
) -> None:
    request = small_allocation_request()
    handlers.check_allocation_limits(request, TIGHT)  # at the limits: accepted
    grow(request)
    with pytest.raises(InvalidProblem) as caught:
        handlers.allocate_funding(request, TIGHT)
    (violation,) = caught.value.violations
    assert (violation.field, violation.value) == (field, count)
    assert f"server limit {setting}" in violation.description


def test_limits_are_checked_even_for_validate_only() -> None:
    request = small_allocation_request()
    request.options.validate_only = True
    _add_pool(request)
    with pytest.raises(InvalidProblem):
        handlers.allocate_funding(request, TIGHT)


def test_validate_only_answers_in_process_without_solving() -> None:
    request = small_allocation_request()
    request.options.validate_only = True
    response = handlers.allocate_funding(request, Limits())
    assert not response.HasField("result") and not response.validation_errors
    assert dict(response.labels) == {"round": "test"}


def test_without_a_deadline_the_requested_limit_stands() -> None:
    assert handlers.solve_time_limit(None, None) is None  # the engine's default
    assert handlers.solve_time_limit(2.5, None) == 2.5


def test_the_deadline_cuts_the_limit_leaving_a_margin_to_answer() -> None:
    deadline = time.monotonic() + 10
    cut = handlers.solve_time_limit(None, deadline)
    assert cut is not None
    assert 10 - handlers.DEADLINE_MARGIN_S - 1 < cut <= 10 - handlers.DEADLINE_MARGIN_S
    assert handlers.solve_time_limit(30, deadline) == pytest.approx(cut, abs=1)
    assert handlers.solve_time_limit(1.5, deadline) == 1.5  # the smaller of the two


def test_a_spent_deadline_still_gives_the_engine_a_valid_limit() -> None:
    spent = time.monotonic() - 1
    assert handlers.solve_time_limit(None, spent) == handlers.MIN_TIME_LIMIT_S
    assert handlers.solve_time_limit(5, spent) == handlers.MIN_TIME_LIMIT_S


def test_matching_limits_name_the_setting() -> None:
    needs = county_needs_request()  # 30 needs, 12 organizations, 1 forbidden + 1 fixed pair
    handlers.check_needs_limits(needs, Limits(max_needs=30, max_candidate_pairs=360))
    with pytest.raises(InvalidProblem) as caught:
        handlers.match_needs(needs, Limits(max_needs=29))
    assert [(v.field, v.value) for v in caught.value.violations] == [("needs", "30")]
    with pytest.raises(InvalidProblem) as caught:
        handlers.match_needs(needs, Limits(max_candidate_pairs=359, max_listed_pairs=1))
    by_field = {v.field: v.description for v in caught.value.violations}
    assert "30 needs x 12 candidate organizations" in by_field["policy.candidates_per_need"]
    assert "set candidates_per_need to at most 11" in by_field["policy.candidates_per_need"]
    assert "max_listed_pairs" in by_field["policy.forbidden_pairs"]
    needs.policy.candidates_per_need = 11  # 30 x 11 = 330 pairs: within the limit
    handlers.check_needs_limits(needs, Limits(max_candidate_pairs=359))
    mentors = county_mentors_request()
    with pytest.raises(InvalidProblem) as caught:
        handlers.match_mentors(mentors, Limits(max_mentors=14))
    assert [(v.field, v.value) for v in caught.value.violations] == [("mentors", "15")]
