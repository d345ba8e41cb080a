"""MatchNeeds and MatchMentors requests to domain problems and back: nothing the caller sent is
lost, zero values take their documented defaults, bad enum numbers are named."""

from __future__ import annotations

from scoring.errors import Violations
from service.convert import mentors as mentors_convert
from service.convert import needs as needs_convert
from service.convert.common import options_from_pb
from tests.matching_wire import county_mentors_request, county_needs_request
from venture.v1 import matching_pb2


def _needs(request: matching_pb2.MatchNeedsRequest) -> tuple[object, Violations]:
    v = Violations()
    return needs_convert.problem_from_pb(request, options_from_pb(request.options, v), v), v


def test_needs_request_round_trips() -> None:
    request = county_needs_request()
    problem, v = _needs(request)
    assert problem is not None and not len(v)
    again, _ = _needs(needs_convert.problem_to_pb(problem))  # type: ignore[arg-type]
    assert again == problem


def test_needs_zero_values_take_their_defaults() -> None:
    request = matching_pb2.MatchNeedsRequest()
    request.needs.add(need_id="N1")
    request.needs.add(need_id="N2", min_organizations=2)
    request.organizations.add(organization_id="O1")
    problem, v = _needs(request)
    assert problem is not None and not len(v)
    n1, n2 = problem.needs  # type: ignore[attr-defined]
    assert (n1.min_organizations, n1.max_organizations, n1.priority) == (1, 1, 1.0)
    assert (n2.min_organizations, n2.max_organizations) == (2, 2)
    (org,) = problem.organizations  # type: ignore[attr-defined]
    assert (org.capacity, org.mentors_wanted) == (1, 1)
    assert problem.policy.weights.normalised() == (0.35, 0.2, 0.25, 0.1, 0.05, 0.05)  # type: ignore[attr-defined]


def test_needs_bad_values_are_named_with_their_paths() -> None:
    request = county_needs_request()
    request.needs[3].max_organizations = 1
    request.needs[3].min_organizations = 2
    request.organizations[0].rating = 42  # type: ignore[assignment]
    del request.organizations[1].evaluation_grades[:]
    request.organizations[1].evaluation_grades.append(120)
    request.policy.weights.text = -1
    request.policy.objective = 7  # type: ignore[assignment]
    problem, v = _needs(request)
    assert problem is None
    assert {x.field for x in v} == {
        "needs[3].max_organizations",
        "organizations[0].rating",
        "organizations[1].evaluation_grades[0]",
        "policy.weights.text",
        "policy.objective",
    }


def test_mentors_request_round_trips() -> None:
    request = county_mentors_request()
    v = Violations()
    problem = mentors_convert.problem_from_pb(request, options_from_pb(request.options, v), v)
    assert problem is not None and not len(v)
    back = mentors_convert.problem_to_pb(problem)
    again = mentors_convert.problem_from_pb(back, options_from_pb(back.options, v), v)
    assert again == problem
