"""AllocateFundingRequest -> AllocationProblem: documented defaults and field violations."""

from __future__ import annotations

from hypothesis import given, settings

from bench.allocation.instances import CASES, make_problem
from matching.allocation import model as m
from matching.allocation.model import AllocationProblem
from scoring.errors import Violations
from service.convert.allocation import problem_from_pb, problem_to_pb
from service.convert.common import options_from_pb
from tests.allocation_brute import tiny_problems
from venture.v1 import allocation_pb2

WAN = 1_000_000


def _request() -> allocation_pb2.AllocateFundingRequest:
    request = allocation_pb2.AllocateFundingRequest()
    request.proposals.add(
        proposal_id="P1", score=88.5, domain="elderly", region="east", requested_fen=3 * WAN
    )
    request.proposals.add(proposal_id="P2", domain="youth", requested_fen=2 * WAN)  # no score
    request.rules.total_budget_fen = 10 * WAN
    return request


def _convert(
    request: allocation_pb2.AllocateFundingRequest,
) -> tuple[m.AllocationProblem | None, set[tuple[str, str]]]:
    violations = Violations()
    options = options_from_pb(request.options, violations)
    problem = problem_from_pb(request, options, violations)
    return problem, {(v.field, v.value) for v in violations}


def test_zero_values_take_the_documented_defaults() -> None:
    problem, violations = _convert(_request())
    assert problem is not None and not violations
    rules = problem.rules
    assert (rules.grant_unit_fen, rules.max_grants_per_organization) == (1, 1)
    assert (rules.objective, rules.quota_mode, rules.pass_line) == (
        m.Objective.TOTAL_SCORE,
        m.QuotaMode.HARD,
        None,
    )
    assert [p.score for p in problem.proposals] == [88.5, None]
    assert problem.time_limit_s is None


def test_options_and_optional_fields_arrive() -> None:
    request = _request()
    request.options.time_limit.FromMilliseconds(1500)
    request.options.seed = 9
    request.rules.pass_line = 0.0
    quota = request.rules.quotas.add(
        dimension=allocation_pb2.DIMENSION_REGION, key="east", min_count=1, max_count=0
    )
    quota.max_amount_fen = 0  # an explicit zero maximum is a real rule
    request.rules.locked_decisions.add(
        proposal_id="P1", decision=allocation_pb2.LOCKED_DECISION_KIND_APPROVED, amount_fen=2 * WAN
    )
    problem, violations = _convert(request)
    assert ("rules.quotas[0].max_count", "0") in violations  # min 1 > max 0
    request.rules.quotas[0].min_count = 0
    problem, violations = _convert(request)
    assert problem is not None, violations
    assert (problem.time_limit_s, problem.seed, problem.rules.pass_line) == (1.5, 9, 0.0)
    assert problem.rules.quotas[0] == m.Quota(m.Dimension.REGION, "east", 0, 0, 0, 0)
    assert problem.rules.locked_decisions[0] == m.LockedDecision("P1", m.LockKind.APPROVED, 2 * WAN)


def test_every_violation_is_collected_with_its_path() -> None:
    request = _request()
    request.proposals[0].requested_fen = -5
    request.proposals[1].minimum_fen = 3 * WAN  # above its request of 2万
    request.rules.pools.add(pool_id="", amount_fen=WAN)
    request.rules.quotas.add(key="elderly", min_count=1)  # dimension left unspecified
    request.rules.locked_decisions.add(proposal_id="P1")  # decision left unspecified
    request.rules.score_bands.add(min_score=60, funding_ratio_bp=20_000)
    request.rules.objective = 17  # type: ignore[assignment]
    _, violations = _convert(request)
    assert violations >= {
        ("proposals[0].requested_fen", "-5"),
        ("proposals[1].minimum_fen", "3000000"),
        ("rules.pools[0].pool_id", '""'),
        ("rules.quotas[0].dimension", "0"),
        ("rules.locked_decisions[0].decision", "0"),
        ("rules.score_bands[0].funding_ratio_bp", "20000"),
        ("rules.objective", "17"),
    }


@settings(max_examples=30)
@given(tiny_problems())
def test_problem_to_pb_round_trips(problem: AllocationProblem) -> None:
    request = problem_to_pb(problem)
    violations = Violations()
    back = problem_from_pb(request, options_from_pb(request.options, violations), violations)
    assert list(violations) == []
    assert back == problem


def test_the_benchmark_rounds_round_trip() -> None:
    problem = make_problem(CASES["city"])
    request = problem_to_pb(problem)
    violations = Violations()
    back = problem_from_pb(request, options_from_pb(request.options, violations), violations)
    assert back == problem
