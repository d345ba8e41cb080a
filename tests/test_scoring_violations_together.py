"""ScoreProposals names every mistake in one answer: the fields that do not convert, and the
references the rest of the request gets wrong, without echoes of the first (a criterion without
an id does not make every sheet's score of it "unknown")."""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scoring.errors import Violations
from service.config import Limits
from service.convert.scoring import problem_from_pb
from service.handlers import score_proposals
from tests import fuzz_requests, violations_together
from tests.test_scoring_compact_sheets import answer, compact, county, violations
from tests.violations_together import converted_fields, with_reference
from venture.v1 import scoring_pb2

Request = scoring_pb2.ScoreProposalsRequest
UNKNOWN_JUDGE = "unknown judge; every judge who sends a sheet must be listed in judges"


def test_field_and_reference_violations_come_in_one_answer() -> None:
    request = county()
    request.criteria[1].weight = -1  # fields that do not convert ...
    request.sheets[5].scores[1].value = math.nan
    request.sheets[3].judge_id = "NOBODY"  # ... and references that are wrong
    request.sheets[9].proposal_id = "NOPE"
    request.sheets[11].scores[2].value = 99
    assert violations(request) == [
        ("criteria[1].weight", "-1.0", "must be a positive number"),
        ("criteria[1].scale_max", "-1.0", "must be greater than scale_min (0.0)"),
        ("sheets[5].scores[1].value", "NaN", "must be a finite number"),
        ("sheets[3].judge_id", '"NOBODY"', UNKNOWN_JUDGE),
        (
            "sheets[9].proposal_id",
            '"NOPE"',
            "unknown proposal; sheets may only score proposals listed in proposals",
        ),
        (
            "sheets[11].scores[2].value",
            "99.0",
            'outside criterion "capacity"\'s scale [0.0, 20.0]; give a score within it',
        ),
    ]


def test_validate_only_lists_them_too() -> None:
    request = county()
    request.options.validate_only = True
    request.sheets[5].scores[1].value = math.inf
    request.sheets[3].judge_id = "NOBODY"
    response = score_proposals(request, Limits())
    assert [(v.field, v.value) for v in response.validation_errors] == [
        ("sheets[5].scores[1].value", "Infinity"),
        ("sheets[3].judge_id", '"NOBODY"'),
    ]


def test_the_policys_own_checks_run_when_a_part_of_it_does_not_convert() -> None:
    request = county()
    request.policy.components[0].weight = -2  # a component does not convert ...
    request.policy.tie_decimals = 12  # ... and the policy's own value is still judged
    assert violations(request) == [
        (
            "policy.components[0].weight",
            "-2.0",
            "a weighted component needs a positive weight",
        ),
        ("policy.tie_decimals", "12", "must be 0..9"),
    ]


def test_a_trim_count_is_not_judged_by_an_aggregation_that_did_not_convert() -> None:
    request = county()
    request.policy.aggregation = 99  # unknown: the trim count may well be meant for it
    request.policy.trim_count = 2
    assert [field for field, _, _ in violations(request)] == ["policy.aggregation"]


def test_a_bad_option_does_not_hide_the_references() -> None:
    request = county()
    request.options.top_k = -1
    request.sheets[3].judge_id = "NOBODY"
    assert violations(request) == [
        ("options.top_k", "-1", "must not be negative"),
        ("sheets[3].judge_id", '"NOBODY"', UNKNOWN_JUDGE),
    ]


def test_a_sheet_that_does_not_convert_still_has_its_ids_checked() -> None:
    request = county()
    request.sheets[4].scores[0].value = math.nan
    request.sheets[4].judge_id = "NOBODY"
    assert violations(request) == [
        ("sheets[4].scores[0].value", "NaN", "must be a finite number"),
        ("sheets[4].judge_id", '"NOBODY"', UNKNOWN_JUDGE),
    ]


def test_an_item_without_an_id_silences_references_to_its_list() -> None:
    request = county()
    request.criteria[1].criterion_id = ""  # every sheet scores "design", now nobody's id
    request.sheets[4].judge_id = "X"  # still an unknown judge
    assert violations(request) == [
        ("criteria[1].criterion_id", '""', "must not be empty"),
        ("sheets[4].judge_id", '"X"', UNKNOWN_JUDGE),
    ]
    request = county()
    request.judges[1].judge_id = ""  # judge J02's sheets now name nobody's id
    request.proposals[2].component_values[0].ClearField("value")
    assert violations(request) == [
        ("judges[1].judge_id", '""', "must not be empty"),
        (
            "proposals[2].component_values[0].value",
            "None",
            "give exactly one of value or amount_fen",
        ),
    ]


# --- generated: a valid request, broken in one field, gets that field's violations only -------

Break = Callable[[Request, int], None]


def _nan_score(r: Request, k: int) -> None:
    sheet = r.sheets[k % len(r.sheets)]
    if sheet.values:
        sheet.values[0] = math.nan
    else:
        sheet.scores[0].value = math.nan


def _negative_weight(r: Request, k: int) -> None:
    r.criteria[k % len(r.criteria)].weight = -1


def _criterion_without_id(r: Request, k: int) -> None:
    r.criteria[k % len(r.criteria)].criterion_id = ""


def _judge_without_id(r: Request, k: int) -> None:
    r.judges[k % len(r.judges)].judge_id = ""


def _proposal_without_id(r: Request, k: int) -> None:
    r.proposals[k % len(r.proposals)].proposal_id = ""


def _sheet_without_judge(r: Request, k: int) -> None:
    r.sheets[k % len(r.sheets)].judge_id = ""


BREAKS: list[Break] = [
    _nan_score,
    _negative_weight,
    _criterion_without_id,
    _judge_without_id,
    _proposal_without_id,
    _sheet_without_judge,
]
KEEPS_IDS = BREAKS[:2]
"""Breaks that leave every id as it was: the references of the rest are still checked."""


def _convert(request: Request, found: Violations) -> object:
    return problem_from_pb(request, 0, found)


SETTINGS = settings(violations_together.SETTINGS, max_examples=120)


@SETTINGS
@given(
    seed=fuzz_requests.score_seeds(),
    packed=st.booleans(),
    broken=st.sampled_from(BREAKS),
    k=st.integers(0, 10**6),
)
def test_one_broken_field_of_a_valid_request_is_all_that_is_said(
    seed: Request, packed: bool, broken: Break, k: int
) -> None:
    request = compact(seed) if packed else seed
    assume(request.criteria and request.judges and request.sheets and request.proposals)
    assume(isinstance(answer(request), bytes))
    broken(request, k)
    fields = converted_fields(_convert, request)
    assert fields and violations(request) == fields


@SETTINGS
@given(
    seed=fuzz_requests.score_seeds(),
    broken=st.sampled_from(KEEPS_IDS),
    k=st.integers(0, 10**6),
    j=st.integers(0, 10**6),
)
def test_a_wrong_reference_is_said_beside_a_broken_field(
    seed: Request, broken: Break, k: int, j: int
) -> None:
    """The broken field's violations, then exactly what the wrong reference alone brings."""
    assume(seed.criteria and seed.judges and len(seed.sheets) > 1 and seed.proposals)
    assume(isinstance(answer(seed), bytes))
    wrong = j % len(seed.sheets)
    seed.sheets[wrong].judge_id = "NOBODY"
    references = answer(seed)
    assert isinstance(references, list)  # converts, and fails its cross-references
    broken(seed, k if broken is not _nan_score else wrong + 1 + k % (len(seed.sheets) - 1))
    assert violations(seed) == with_reference(converted_fields(_convert, seed), references)
