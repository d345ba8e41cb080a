"""AllocateFunding names every mistake in one answer: the fields that do not convert, and the
references the rest of the request gets wrong, without echoes of the first (a pool without an
id does not make every quota and decision that names it "unknown"). OptimizeRound's validation
goes through the same handler and says them together too."""

from __future__ import annotations

import math
from collections.abc import Callable, Sized

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from matching.allocation.model import MAX_FEN
from scoring.errors import Violations
from service.config import Limits
from service.convert.allocation import problem_from_pb
from service.convert.common import options_from_pb
from service.handlers import allocate_funding
from service.round.optimize import optimize_round
from tests import fuzz_requests
from tests.round_builders import county_example_round
from tests.violations_together import (
    SETTINGS,
    Said,
    check_beside,
    converted_fields,
    refused,
)
from venture.v1 import allocation_pb2

Request = allocation_pb2.AllocateFundingRequest
UNKNOWN_POOL = "unknown pool; name one of rules.pools[].pool_id"


def violations(request: Request) -> Said:
    """What the handler refuses the request with."""
    return refused(allocate_funding, request)


def _convert(request: Request, found: Violations) -> object:
    return problem_from_pb(request, options_from_pb(request.options, found), found)


def is_valid(request: Request) -> bool:
    checked = Request()
    checked.CopyFrom(request)
    checked.options.validate_only = True
    return not allocate_funding(checked, Limits()).validation_errors


def county() -> Request:
    return fuzz_requests.example("allocate_county.json", Request)


def test_field_and_reference_violations_come_in_one_answer() -> None:
    request = county()
    request.proposals[2].requested_fen = 0  # fields that do not convert ...
    request.rules.pools[1].amount_fen = -5
    request.rules.quotas.add(dimension=allocation_pb2.DIMENSION_POOL, key="lottery", max_count=2)
    request.rules.locked_decisions.add(  # ... and references that are wrong
        proposal_id="P99", decision=allocation_pb2.LOCKED_DECISION_KIND_REJECTED
    )
    request.rules.tiers[2].tier = "startup"
    assert violations(request) == [
        ("proposals[2].requested_fen", "0", "must be positive"),
        ("rules.pools[1].amount_fen", "-5", f"must be between 0 and {MAX_FEN} fen"),
        (
            "rules.tiers[2].tier",
            '"startup"',
            "duplicate, already used by rules.tiers[0]; ids must be unique",
        ),
        ("rules.quotas[3].key", '"lottery"', UNKNOWN_POOL),
        ("rules.locked_decisions[0].proposal_id", '"P99"', "unknown proposal"),
    ]


def test_an_item_that_does_not_convert_still_has_its_references_checked() -> None:
    request = county()
    request.rules.locked_decisions.add(
        proposal_id="P03",
        decision=allocation_pb2.LOCKED_DECISION_KIND_APPROVED,
        amount_fen=-1,  # does not convert ...
        pool_id="lottery",  # ... and names no pool
    )
    request.rules.quotas.add(
        dimension=allocation_pb2.DIMENSION_POOL, key="nowhere", min_count=3, max_count=1
    )
    assert violations(request) == [
        ("rules.quotas[3].max_count", "1", "must not be below min_count (3)"),
        ("rules.locked_decisions[0].amount_fen", "-1", f"must be between 0 and {MAX_FEN} fen"),
        ("rules.quotas[3].key", '"nowhere"', UNKNOWN_POOL),
        ("rules.locked_decisions[0].pool_id", '"lottery"', UNKNOWN_POOL),
    ]


def test_an_item_without_an_id_silences_references_to_its_list() -> None:
    request = county()
    request.rules.pools[0].pool_id = ""  # the decision's and the quota's pool is nobody's now
    request.rules.quotas.add(
        dimension=allocation_pb2.DIMENSION_POOL, key="welfare_lottery", min_count=1
    )
    request.rules.locked_decisions.add(
        proposal_id="P01",
        decision=allocation_pb2.LOCKED_DECISION_KIND_APPROVED,
        pool_id="welfare_lottery",
    )
    request.rules.locked_decisions.add(  # still an unknown proposal
        proposal_id="P77", decision=allocation_pb2.LOCKED_DECISION_KIND_REJECTED
    )
    assert violations(request) == [
        ("rules.pools[0].pool_id", '""', "must not be empty"),
        ("rules.locked_decisions[1].proposal_id", '"P77"', "unknown proposal"),
    ]
    request = county()
    request.proposals[4].proposal_id = ""  # the decision's proposal is nobody's now
    request.rules.locked_decisions.add(
        proposal_id="P05", decision=allocation_pb2.LOCKED_DECISION_KIND_REJECTED
    )
    request.rules.pools[1].pool_id = "welfare_lottery"  # still a duplicate
    assert violations(request) == [
        ("proposals[4].proposal_id", '""', "must not be empty"),
        (
            "rules.pools[1].pool_id",
            '"welfare_lottery"',
            "duplicate, already used by rules.pools[0]; ids must be unique",
        ),
    ]


def test_a_rules_value_that_does_not_convert_leaves_the_rest_checked() -> None:
    request = county()
    request.rules.reserve_bp = 10_000
    request.rules.tiers[1].tier = "mature"
    assert violations(request) == [
        ("rules.reserve_bp", "10000", "must be between 0 and 9999 basis points"),
        (
            "rules.tiers[2].tier",
            '"mature"',
            "duplicate, already used by rules.tiers[1]; ids must be unique",
        ),
    ]
    request = county()
    del request.rules.pools[:]
    request.rules.total_budget_fen = -5
    request.rules.tiers[0].min_grant_fen = -1
    # The rules' own values are checked though an item of theirs did not convert; the
    # budget's stand-in (0, with no pools) is not said to be missing either.
    assert violations(request) == [
        ("rules.tiers[0].min_grant_fen", "-1", f"must be between 0 and {MAX_FEN} fen"),
        ("rules.total_budget_fen", "-5", f"must be between 0 and {MAX_FEN} fen"),
    ]


def test_a_stand_in_amount_does_not_count_toward_the_total_requested() -> None:
    request = Request()
    request.rules.total_budget_fen = 10**6
    for i in range(1000):  # 10**18 fen in all: the most the requests may total
        request.proposals.add(proposal_id=f"P{i}", score=70, requested_fen=MAX_FEN)
    request.proposals.add(proposal_id="PX", score=70, requested_fen=-1)
    request.rules.locked_decisions.add(
        proposal_id="PX", decision=allocation_pb2.LOCKED_DECISION_KIND_APPROVED, amount_fen=7
    )
    request.rules.locked_decisions.add(
        proposal_id="P1", decision=allocation_pb2.LOCKED_DECISION_KIND_APPROVED, amount_fen=-7
    )
    assert violations(request) == [
        ("proposals[1000].requested_fen", "-1", f"must be between 0 and {MAX_FEN} fen"),
        ("proposals[1000].requested_fen", "-1", "must be positive"),
        ("proposals[1000].minimum_fen", "0", "must not exceed requested_fen (-1)"),
        ("rules.locked_decisions[1].amount_fen", "-7", f"must be between 0 and {MAX_FEN} fen"),
    ]


def test_optimize_round_says_a_bad_field_and_a_wrong_reference_of_allocation_together() -> None:
    request = county_example_round()
    request.options.validate_only = True
    request.allocation_rules.pools[0].amount_fen = -1
    request.allocation_rules.quotas.add(
        dimension=allocation_pb2.DIMENSION_POOL, key="lottery", max_count=2
    )
    response = optimize_round(request, Limits())
    assert [(v.field, v.value) for v in response.validation_errors] == [
        ("allocation_rules.pools[0].amount_fen", "-1"),
        ("allocation_rules.quotas[3].key", '"lottery"'),
    ]


# --- generated: a valid request, broken in one field, gets that field's violations only -------

Change = Callable[[Request, int], None]


def _pick(items: Sized, k: int) -> int:
    assume(len(items))
    return k % len(items)


def _nan_score(r: Request, k: int) -> None:
    r.proposals[_pick(r.proposals, k)].score = math.nan


def _negative_request(r: Request, k: int) -> None:
    r.proposals[_pick(r.proposals, k)].requested_fen = -1


def _pool_too_large(r: Request, k: int) -> None:
    r.rules.pools[_pick(r.rules.pools, k)].amount_fen = MAX_FEN + 1


def _tier_below_zero(r: Request, k: int) -> None:
    r.rules.tiers[_pick(r.rules.tiers, k)].max_grant_fen = -1


def _band_funding_nothing(r: Request, k: int) -> None:
    r.rules.score_bands[_pick(r.rules.score_bands, k)].funding_ratio_bp = 0


def _quota_below_zero(r: Request, k: int) -> None:
    r.rules.quotas[_pick(r.rules.quotas, k)].min_count = -1


def _decision_of_no_kind(r: Request, k: int) -> None:
    r.rules.locked_decisions[_pick(r.rules.locked_decisions, k)].decision = 99  # type: ignore[assignment]


def _decision_without_proposal(r: Request, k: int) -> None:
    r.rules.locked_decisions[_pick(r.rules.locked_decisions, k)].proposal_id = ""


def _whole_reserve(r: Request, k: int) -> None:
    r.rules.reserve_bp = 10_000


def _proposal_without_id(r: Request, k: int) -> None:
    r.proposals[_pick(r.proposals, k)].proposal_id = ""


def _pool_without_id(r: Request, k: int) -> None:
    r.rules.pools[_pick(r.rules.pools, k)].pool_id = ""


def _tier_without_id(r: Request, k: int) -> None:
    r.rules.tiers[_pick(r.rules.tiers, k)].tier = ""


KEEPS_IDS: list[Change] = [
    _nan_score,
    _negative_request,
    _pool_too_large,
    _tier_below_zero,
    _band_funding_nothing,
    _quota_below_zero,
    _decision_of_no_kind,
    _decision_without_proposal,
    _whole_reserve,
]
"""Breaks that leave every list's ids as they were: the references of the rest are still
checked."""
BREAKS = [*KEEPS_IDS, _proposal_without_id, _pool_without_id, _tier_without_id]


def _unknown_proposal_decided(r: Request, j: int) -> None:
    r.rules.locked_decisions.add(
        proposal_id="NOBODY", decision=allocation_pb2.LOCKED_DECISION_KIND_REJECTED
    )


def _quota_of_no_pool(r: Request, j: int) -> None:
    r.rules.quotas.add(dimension=allocation_pb2.DIMENSION_POOL, key="NOPOOL", max_count=j % 5)


def _quota_of_no_domain(r: Request, j: int) -> None:
    r.rules.quotas.add(dimension=allocation_pb2.DIMENSION_DOMAIN, key="NOWHERE", min_count=1)


def _proposal_twice(r: Request, j: int) -> None:
    k = j % (len(r.proposals) - 1)
    r.proposals[k].proposal_id = r.proposals[k - 1].proposal_id


def _pool_twice(r: Request, j: int) -> None:
    k = j % (len(r.rules.pools) - 1)
    r.rules.pools[k].pool_id = r.rules.pools[k - 1].pool_id


WRONG_REFERENCES: list[Change] = [
    _unknown_proposal_decided,
    _quota_of_no_pool,
    _quota_of_no_domain,
    _proposal_twice,
    _pool_twice,
]
"""They leave alone the seed's decision and what it names (the last proposal and pool): a
broken decision cannot say whether its pool matters."""


def _seed(request: Request) -> Request:
    """The shrunk example with a decision taken (the examples have none), still valid."""
    assume(len(request.proposals) > 1 and len(request.rules.pools) > 1)
    request.rules.locked_decisions.add(
        proposal_id=request.proposals[-1].proposal_id,
        decision=allocation_pb2.LOCKED_DECISION_KIND_APPROVED,
        pool_id=request.rules.pools[-1].pool_id,
    )
    assume(is_valid(request))
    return request


@pytest.mark.parametrize("broken", BREAKS, ids=lambda f: f.__name__)
@SETTINGS
@given(seed=fuzz_requests.allocation_seeds(), k=st.integers(0, 99))
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
    seed=fuzz_requests.allocation_seeds(),
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
