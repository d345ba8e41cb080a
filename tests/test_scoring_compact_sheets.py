"""Score sheets in the compact form (ScoreSheet.values: one number per criterion, in the order
of the request's criteria): the same answer as the long form, and its own clear errors."""

from __future__ import annotations

import math

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scoring.errors import InvalidProblem
from service.client import VentureClient
from service.config import Limits
from service.handlers import score_proposals
from tests import fuzz_requests
from tests.helpers import ROOT, small_request
from venture.v1 import scoring_pb2

Request = scoring_pb2.ScoreProposalsRequest
Outcome = bytes | list[tuple[str, str, str]]


def compact(request: Request, every: int = 1) -> Request:
    """A copy with every `every`-th sheet that scores exactly the rubric, in order, compacted."""
    copy = Request.FromString(request.SerializeToString())
    order = [c.criterion_id for c in copy.criteria]
    for sheet in copy.sheets[::every]:
        if sheet.values or [s.criterion_id for s in sheet.scores] != order:
            continue
        values = [s.value for s in sheet.scores]
        del sheet.scores[:]
        sheet.values.extend(values)
    return copy


def answer(request: Request) -> Outcome:
    """The handler's response bytes (timings left out), or its violations."""
    try:
        response = score_proposals(request, Limits())
    except InvalidProblem as error:
        return [(v.field, v.value, v.description) for v in error.violations]
    del response.result.summary.timings[:]
    return response.SerializeToString(deterministic=True)


def violations(request: Request) -> list[tuple[str, str, str]]:
    outcome = answer(request)
    assert isinstance(outcome, list), "expected the request to be refused"
    return outcome


def county(name: str = "score_county.json") -> Request:
    text = (ROOT / "examples" / name).read_text(encoding="utf-8")
    return json_format.Parse(text, Request())


def test_the_compact_county_example_is_the_county_example_in_fewer_bytes() -> None:
    listed = county()
    packed = county("score_county_compact.json")
    assert packed == compact(listed)
    assert all(s.values and not s.scores for s in packed.sheets)
    assert isinstance(answer(listed), bytes)
    assert answer(packed) == answer(listed)
    assert len(packed.SerializeToString()) < 0.6 * len(listed.SerializeToString())


def test_both_forms_mix_in_one_request() -> None:
    listed = county()
    mixed = compact(listed, every=3)
    assert any(s.values for s in mixed.sheets) and any(s.scores for s in mixed.sheets)
    assert answer(mixed) == answer(listed)


@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(request=st.one_of(fuzz_requests.score_seeds(), fuzz_requests.score_requests))
def test_compacting_sheets_never_changes_an_answer(request: Request) -> None:
    """Generated requests, valid and malformed: a request the long form answers gets the same
    bytes in the compact form, and one it refuses is refused in the compact form too."""
    listed = answer(request)
    packed = answer(compact(request))
    if isinstance(listed, list):
        event("refused")
        assert isinstance(packed, list) and packed
        return
    event("answered" if any(s.values for s in compact(request).sheets) else "nothing to compact")
    assert isinstance(packed, bytes)
    errors = scoring_pb2.ScoreProposalsResponse.FromString(listed).validation_errors
    if errors:  # validate_only: the errors name the sheets' own fields, so compare their count
        packed_errors = scoring_pb2.ScoreProposalsResponse.FromString(packed).validation_errors
        assert len(packed_errors) == len(errors)
    else:
        assert packed == listed


def test_a_compact_sheet_of_the_wrong_width_is_named_with_the_criteria() -> None:
    request = compact(small_request())  # criteria: design, impact
    request.sheets[1].values.append(5)
    del request.sheets[4].values[1:]
    assert violations(request) == [
        (
            "sheets[1].values",
            "[3 numbers]",
            'too many: give one value per criterion, in the order of criteria ("design", "impact")',
        ),
        (
            "sheets[4].values",
            "[1 number]",
            'too few: give one value per criterion, in the order of criteria ("design", "impact")',
        ),
    ]


def test_a_compact_value_outside_its_criterions_scale_is_named_by_position() -> None:
    request = compact(small_request())
    request.sheets[2].values[1] = 11
    assert violations(request) == [
        (
            "sheets[2].values[1]",
            "11.0",
            'outside criterion "impact"\'s scale [0.0, 10.0]; give a score within it',
        )
    ]


def test_compact_field_errors_are_all_listed() -> None:
    request = compact(small_request())
    request.sheets[0].values[1] = math.nan
    request.sheets[3].values[0] = -math.inf
    request.sheets[3].judge_id = ""
    request.sheets[5].scores.add(criterion_id="design", value=3)
    assert violations(request) == [
        ("sheets[0].values[1]", "NaN", "must be a finite number"),
        ("sheets[3].judge_id", '""', "must not be empty"),
        ("sheets[3].values[0]", "-Infinity", "must be a finite number"),
        (
            "sheets[5].values",
            "[2 numbers]",
            "give a sheet's scores either in scores or in values, not both",
        ),
    ]


def test_finite_values_whose_sum_overflows_are_accepted_by_the_form() -> None:
    """The converter's quick check sums the values; a finite sheet whose sum overflows must
    still be read as finite (and then refused for its scale, not for being infinite)."""
    request = compact(small_request())
    request.sheets[0].values[:] = [1e308, 1e308]
    fields = {field: description for field, _, description in violations(request)}
    assert set(fields) == {"sheets[0].values[0]", "sheets[0].values[1]"}
    assert all("outside criterion" in d for d in fields.values())


def test_the_server_answers_a_compact_request(client: VentureClient) -> None:
    listed = small_request()
    listed.options.exclude_timings = True
    packed = compact(listed)
    assert client.score_proposals(packed) == client.score_proposals(listed)


@pytest.mark.parametrize("value", [0.0, -0.0])
def test_a_zero_keeps_its_sign_in_the_compact_form(value: float) -> None:
    request = compact(small_request())
    request.sheets[0].values[0] = value
    listed = small_request()
    listed.sheets[0].scores[0].value = value
    assert answer(request) == answer(listed)
